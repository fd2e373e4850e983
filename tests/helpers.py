"""`check_op`: one op's forward and every gradient, tinygrad_edu against torch, in one line.

Modelled on teenygrad's `helper_test_op`. The same function runs on both libraries because it
receives the library as its first argument:

    check_op(lambda lib, x, y: lib.maximum(x, y), (3, 4), (4,))

builds the same random inputs for tinygrad_edu and torch, runs the function on each, and
compares: values, dtype names, shapes, the output's `grad_fn` node name, then (after a
backward with one random upstream gradient per output) every input's `.grad`, `None`
included. Inputs are shapes (random uniform in [low, high)) or NumPy arrays (used as they
are: that is how kink values such as ReLU at 0 are given explicitly; integer and bool arrays
become constant inputs that do not require grad).
"""
from __future__ import annotations

import numpy as np
import torch

import tinygrad_edu as tg

# (rtol, atol) per dtype; reductions over many elements pass looser values explicitly.
TOLERANCE = {"float16": (1e-3, 1e-3), "float32": (1e-5, 1e-6), "float64": (1e-10, 1e-10)}


def dtype_name(t) -> str:
    """'float32' for both torch.float32 and tinygrad_edu.float32."""
    return str(t.dtype).split(".")[-1]


def node_name_of(t) -> str:
    """The class name of the output's backward node ('NoneType' when there is none)."""
    return type(t.grad_fn).__name__


def _inputs(shapes_or_arrays, dtype: str, low: float, high: float, rng: np.random.Generator) -> list[np.ndarray]:
    arrays = []
    for s in shapes_or_arrays:
        if isinstance(s, (np.ndarray, np.generic)):
            s = np.asarray(s)
            arrays.append(s.astype(dtype) if s.dtype.kind == "f" else s)
        else:
            shape = (s,) if isinstance(s, int) else tuple(s)
            arrays.append(rng.uniform(low, high, shape).astype(dtype))
    return arrays


def _leaf(lib, arr: np.ndarray, requires_grad: bool, noncontig: bool):
    """A leaf tensor holding `arr`; with `noncontig`, one whose memory is transposed (a strided leaf)."""
    if noncontig and arr.ndim >= 1:
        strided = np.asfortranarray(arr)  # same values, transposed memory
        if strided.flags.c_contiguous:  # (1-D, or all but one dim of size 1): every other element instead
            strided = np.zeros(arr.shape[:-1] + (2 * arr.shape[-1],), arr.dtype)[..., ::2]
            strided[...] = arr
        t = lib.from_numpy(strided)
        assert t.is_contiguous() == (arr.size <= 1), "the noncontig input came out contiguous"
    else:
        t = lib.tensor(arr)
    if requires_grad:
        t.requires_grad_()
    return t


def _flatten(out) -> list:
    """An op's result as a flat list: a tensor, a tuple of tensors (split, max(dim)), or numbers."""
    if isinstance(out, (tuple, list)):
        return [y for x in out for y in _flatten(x)]
    return [out]


def _compare_values(ours, theirs, rtol: float | None, atol: float | None, what: str) -> None:
    """Values, shape and dtype; tolerances not given are those of torch's result dtype."""
    if not isinstance(theirs, torch.Tensor):  # a Python number or bool (item(), size(), ...)
        rtol, atol = TOLERANCE["float64"] if rtol is None else (rtol, atol)
        assert not isinstance(ours, tg.Tensor), f"{what}: torch gives {type(theirs).__name__}, we give a Tensor"
        assert type(ours) is type(theirs), f"{what}: type {type(ours).__name__} != torch's {type(theirs).__name__}"
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=what)
        return
    assert isinstance(ours, tg.Tensor), f"{what}: torch gives a Tensor, we give {type(ours).__name__}"
    shape, expected_shape = tuple(ours.shape), tuple(theirs.shape)
    assert shape == expected_shape, f"{what}: shape {shape} != torch's {expected_shape}"
    assert dtype_name(ours) == dtype_name(theirs), f"{what}: dtype {dtype_name(ours)} != torch's {dtype_name(theirs)}"
    expected = theirs.detach().numpy()
    got = ours.detach().numpy()
    if rtol is None:
        rtol, atol = TOLERANCE.get(dtype_name(theirs), TOLERANCE["float64"])
    if expected.dtype.kind in "biu":
        np.testing.assert_array_equal(got, expected, err_msg=what)
    else:
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


def check_op(fn, *shapes_or_arrays, dtype: str = "float64", grad: bool = True, atol: float | None = None,
             rtol: float | None = None, low: float = -2.0, high: float = 2.0, node_name=None,
             noncontig: bool = False, seed: int = 0, grad_atol: float | None = None,
             grad_rtol: float | None = None):
    """Run `fn(lib, *inputs)` with lib = tinygrad_edu and lib = torch; assert both agree.

    dtype: of the random inputs and of float arrays given (other arrays keep theirs).
    rtol, atol: by default those of each compared result's dtype (TOLERANCE), so a float32 result
        of float64 inputs is held to float32's.
    grad: build inputs with requires_grad and compare every input's gradient.
    node_name: None compares the output's grad_fn name with torch's; False skips that (for a
        documented difference); a string is the name we are expected to record instead.
    noncontig: inputs are leaves with strided memory (transposed, or every other element).
    Returns (ours, torch's) outputs for any further checks.
    """
    if (rtol is None) != (atol is None):  # one given: the other from the input dtype's defaults
        rtol = TOLERANCE[dtype][0] if rtol is None else rtol
        atol = TOLERANCE[dtype][1] if atol is None else atol
    grad_rtol = rtol if grad_rtol is None else grad_rtol
    grad_atol = atol if grad_atol is None else grad_atol
    rng = np.random.default_rng(seed)
    arrays = _inputs(shapes_or_arrays, dtype, low, high, rng)
    needs = [grad and a.dtype.kind == "f" for a in arrays]
    ours_in = [_leaf(tg, a, r, noncontig) for a, r in zip(arrays, needs)]
    theirs_in = [_leaf(torch, a, r, noncontig) for a, r in zip(arrays, needs)]

    ours_out, theirs_out = fn(tg, *ours_in), fn(torch, *theirs_in)
    ours_flat, theirs_flat = _flatten(ours_out), _flatten(theirs_out)
    assert len(ours_flat) == len(theirs_flat), f"{len(ours_flat)} outputs, torch gives {len(theirs_flat)}"
    for k, (o, t) in enumerate(zip(ours_flat, theirs_flat)):
        _compare_values(o, t, rtol, atol, f"forward output {k}")
        if isinstance(t, torch.Tensor):
            assert o.requires_grad == t.requires_grad, f"output {k}: requires_grad {o.requires_grad} != torch's"
            assert o.is_leaf == t.is_leaf, f"output {k}: is_leaf {o.is_leaf} != torch's"
            if node_name is None:
                assert node_name_of(o) == node_name_of(t), f"output {k}: grad_fn {node_name_of(o)} != torch's " \
                                                           f"{node_name_of(t)}"
            elif node_name is not False:
                assert node_name_of(o) == node_name, f"output {k}: grad_fn {node_name_of(o)} != {node_name}"

    if not grad:
        return ours_out, theirs_out
    diff = [k for k, t in enumerate(theirs_flat) if isinstance(t, torch.Tensor) and t.requires_grad]
    if diff:
        upstream = [rng.uniform(-1, 1, tuple(theirs_flat[k].shape)).astype(dtype_name(theirs_flat[k])) for k in diff]
        torch.autograd.backward([theirs_flat[k] for k in diff], [torch.tensor(u) for u in upstream])
        tg.autograd.backward([ours_flat[k] for k in diff], [tg.tensor(u) for u in upstream])
    for i, (o, t) in enumerate(zip(ours_in, theirs_in)):
        if t.grad is None:
            assert o.grad is None, f"input {i}: we give a gradient, torch gives None"
            continue
        assert o.grad is not None, f"input {i}: gradient is None, torch gives one"
        _compare_values(o.grad, t.grad, grad_rtol, grad_atol, f"gradient of input {i}")
    return ours_out, theirs_out
