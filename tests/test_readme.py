"""The README's Python snippets run and print what they say (teenygrad PR #11: READMEs rot)."""
import contextlib
import io
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_snippets_run():
    blocks = python_blocks()
    assert len(blocks) >= 2
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in blocks:
            exec(compile(block, str(README), "exec"), {})
    printed = out.getvalue()
    assert "tensor(42.2500, grad_fn=<PowBackward0>) tensor(19.5000)" in printed
    assert "SubBackward0" in printed
