"""The layout rules of HELPERS.md and issue 11, checked: small files, short functions, one name per family."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tinygrad_edu"


def test_no_file_over_600_lines_and_no_function_over_60():
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        if text.count("\n") > 600:
            too_long.append(f"{path.relative_to(ROOT)}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60:
                too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}(): "
                                f"{node.end_lineno - node.lineno + 1} lines")
    assert not too_long, "over the limits (600 lines a file, 60 a function):\n" + "\n".join(too_long)


def test_every_kernel_family_has_its_op_module_twin_and_binding():
    """csrc/<family>.c, backend/numpy/<family>.py, backend/c/<family>.py and the op module of the
    same name: a student opens files of one name side by side."""
    families = sorted(p.stem for p in (ROOT / "csrc").glob("*.c") if p.stem != "threadpool")
    assert {"activations", "matmul", "softmax", "loss", "conv", "optim"} <= set(families)
    for family in families:
        assert (PACKAGE / "backend" / "numpy" / f"{family}.py").is_file(), family
        assert (PACKAGE / "backend" / "c" / f"{family}.py").is_file(), family
        op_module = PACKAGE / "optim" if family == "optim" else PACKAGE / "ops" / f"{family}.py"  # optimizers: optim/
        assert op_module.exists(), family


def test_only_the_ffi_module_touches_cffi():
    users = [p.relative_to(ROOT) for p in PACKAGE.rglob("*.py")
             if "._C import" in p.read_text() or "from .._C" in p.read_text() or "from ..._C" in p.read_text()]
    assert [str(p) for p in users] == ["tinygrad_edu/backend/c/_ffi.py"]
