"""Tensor printing, ported from PyTorch's torch/_tensor_str.py (torch 2.13.0).

Works on numpy arrays and produces exactly what ``repr(torch_tensor)`` gives
(with ``torch.`` spelled ``tinygrad_edu.``) for real dtypes: float16/32/64,
int8/16/32/64, uint8 and bool.  Complex, quantized, sparse, named and meta
tensors are not supported.

Differences from the torch code are only in *how* things are computed: the
(summarized) array is turned into one flat ``tolist()``, the formatter's column
width comes from a handful of extreme values instead of formatting every
element twice, each shown element is formatted once (in a single C-level
``%`` call) and the nested brackets are then built from that flat list.

Quirk kept on purpose: line wrapping of the suffixes measures
``dtype=torch.float16`` (torch's spelling), so the output is byte-identical to
torch's repr with ``torch.`` replaced, even when that line ends up longer
than ``linewidth``.
"""

import dataclasses
import math

import numpy as np

__all__ = ["set_printoptions", "get_printoptions", "printoptions", "tensor_repr"]


@dataclasses.dataclass
class _PrinterOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrinterOptions()

_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """Same semantics as torch.set_printoptions (note: sci_mode is always assigned)."""
    if profile is not None and profile in _PROFILES:
        for k, v in _PROFILES[profile].items():
            setattr(PRINT_OPTS, k, v)
    for k, v in dict(precision=precision, threshold=threshold, edgeitems=edgeitems, linewidth=linewidth).items():
        if v is not None:
            setattr(PRINT_OPTS, k, v)
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict:
    return dataclasses.asdict(PRINT_OPTS)


class printoptions:
    """Context manager that temporarily changes the print options."""

    def __init__(self, **kwargs):
        self.kwargs = kwargs

    def __enter__(self):
        self.old = get_printoptions()
        set_printoptions(**self.kwargs)

    def __exit__(self, *exc):
        set_printoptions(**self.old)


def _format_all(spec: str, values: list) -> list[str]:
    """[spec % v for v in values], but in one C-level call ('%' formats floats exactly like format())."""
    return ((spec + "\0") * len(values) % tuple(values))[:-1].split("\0")


def _format_strings(a: np.ndarray) -> tuple[int, list[str]]:
    """torch's _Formatter applied to every element of `a` -> (column width, flat list of strings).

    Works on Python floats from tolist(), which are exact for float16/32 (torch formats `.item()`).
    """
    flat = a.ravel().tolist()
    if a.dtype.kind != "f":  # ints and bools print as str(); the longest string is min's or max's
        width = max(len(str(min(flat))), len(str(max(flat))))
        return width, _format_all(f"%{width}s", flat)

    int_mode, sci_mode, width, p = True, False, 1, PRINT_OPTS.precision
    nz = [x for x in flat if x and x - x == 0]  # nonzero and finite (x - x is nan for inf/nan)
    if nz:
        int_mode = all(map(float.is_integer, nz))
        # Width: within one sign the string length is monotonic in |x| (fixed) or largest at the
        # extremes (sci, 3-digit exponents), so the min/max of each sign suffice.
        extremes = [f(g) for g in ([x for x in nz if x > 0], [x for x in nz if x < 0]) if g for f in (min, max)]
        lo, hi = min(map(abs, extremes)), max(map(abs, extremes))
        if PRINT_OPTS.sci_mode is None:
            sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        else:
            sci_mode = PRINT_OPTS.sci_mode
        spec = f"%.{p}e" if sci_mode else "%.0f" if int_mode else f"%.{p}f"
        width = max(len(spec % x) for x in extremes) + (int_mode and not sci_mode)

    if sci_mode:
        return width, _format_all(f"%{width}.{p}e", flat)
    if not int_mode:
        return width, _format_all(f"%{width}.{p}f", flat)
    if all(x - x == 0 for x in flat):  # integer-valued floats get a trailing "." ...
        return width, _format_all(f"%{width - 1}.0f.", flat)
    return width, [(f"{x:.0f}." if x - x == 0 else f"{x:.0f}").rjust(width) for x in flat]  # ... but not nan/inf


def _summarize(a: np.ndarray, edge: int) -> np.ndarray:
    """torch's get_summarized_data: keep `edge` items at both ends of every long dimension."""
    for ax, n in enumerate(a.shape):
        if n > 2 * edge:
            a = a.take(np.r_[0:edge, n - edge : n], axis=ax)
    return a


def _join(strs, shape, ellipsis, indent, width):
    """torch's _tensor_str_with_formatter/_vector_str on an already formatted flat list."""
    edge = PRINT_OPTS.edgeitems
    if len(shape) == 1:
        data = strs[:edge] + [" ..."] + strs[edge:] if ellipsis[0] else strs
        per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / (width + 2)))
        lines = [", ".join(data[i : i + per_line]) for i in range(0, len(data), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    step = len(strs) // shape[0]
    slices = [_join(strs[i : i + step], shape[1:], ellipsis[1:], indent + 1, width) for i in range(0, len(strs), step)]
    if ellipsis[0]:
        slices.insert(edge, "...")
    return "[" + ("," + "\n" * (len(shape) - 1) + " " * (indent + 1)).join(slices) + "]"


def _tensor_str(a: np.ndarray, indent: int) -> str:
    if a.size == 0:
        return "[]"
    summarize = a.size > PRINT_OPTS.threshold
    edge = PRINT_OPTS.edgeitems
    if summarize and not edge and a.ndim:
        return "[...]"
    shown = _summarize(a, edge) if summarize else a
    width, strs = _format_strings(shown)
    if a.ndim == 0:
        return strs[0]
    ellipsis = [summarize and n > 2 * edge for n in a.shape]
    return _join(strs, shown.shape, ellipsis, indent, width)


def _add_suffixes(tensor_str: str, suffixes: list[str], indent: int) -> str:
    # Suffixes are measured as torch spells them ("dtype=torch.float16") so that line wrapping is
    # identical to torch's, and only then renamed.
    out = [tensor_str]
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1  # (sic) same arithmetic as torch
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            out.append(",\n" + " " * indent + suffix.replace("=torch.", "=tinygrad_edu."))
            last_line_len = indent + len(suffix)
        else:
            out.append(", " + suffix.replace("=torch.", "=tinygrad_edu."))
            last_line_len += len(suffix) + 2
    out.append(")")
    return "".join(out)


def tensor_repr(array: np.ndarray, dtype_name: str, *, requires_grad: bool = False, grad_fn_name: str | None = None) -> str:
    """repr of a tensor holding `array`, formatted exactly like torch's Tensor.__repr__."""
    array = np.asarray(array)
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    dtype_suffix = "dtype=torch." + dtype_name  # renamed in _add_suffixes
    if array.size == 0:
        if array.ndim != 1:
            suffixes.append("size=" + str(tuple(array.shape)))
        if dtype_name != "float32":  # nothing to infer the dtype from, so only float32 is implicit
            suffixes.append(dtype_suffix)
        tensor_str = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append("size=" + str(tuple(array.shape)))
        if dtype_name not in ("float32", "int64", "bool"):
            suffixes.append(dtype_suffix)
        tensor_str = _tensor_str(array, indent)
    if grad_fn_name is not None:
        suffixes.append(f"grad_fn=<{grad_fn_name}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + tensor_str, suffixes, indent)
