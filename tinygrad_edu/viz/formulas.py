"""The local derivative of each node, as the backward page writes it: `MulBackward0: grad_a = grad * b`.

For each PyTorch node name: the names of the tensors its forward saved (in `save_for_backward`
order, so that a step's recorded `saved` values can be named) and one formula per Tensor input,
i.e. per `next_functions` edge. A formula is `(text, numbers)`: `numbers` is the right-hand side
with `{grad}`, a saved name or a node attribute (`{exponent}`) where the recorded values go;
None where the formula has no short numeric form (a reshape, a sum over a dimension...). They
read as ops/*.py computes them; where PyTorch's `derivatives.yaml` words it differently the
meaning is the same. Inputs are `a`, `b` in order, or PyTorch's argument names (`mat1`).
"""
from __future__ import annotations

_SAME = ("grad_a = grad", "{grad}")

FORMULAS: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str | None], ...]]] = {
    # elementwise, two inputs
    "AddBackward0": ((), (_SAME, ("grad_b = alpha * grad", "{alpha} * {grad}"))),
    "SubBackward0": ((), (_SAME, ("grad_b = -alpha * grad", "-{alpha} * {grad}"))),
    "RsubBackward1": ((), (("grad_a = -grad", "-{grad}"),)),
    "MulBackward0": (("a", "b"), (("grad_a = grad * b", "{grad} * {b}"), ("grad_b = grad * a", "{grad} * {a}"))),
    "DivBackward0": (("a", "b"), (("grad_a = grad / b", "{grad} / {b}"),
                                  ("grad_b = -grad * a / b^2", "-{grad} * {a} / {b}^2"))),
    "PowBackward0": (("a",), (("grad_a = grad * exponent * a^(exponent - 1)",
                               "{grad} * {exponent} * {a}^({exponent} - 1)"),)),
    "PowBackward1": (("a", "b", "out"), (("grad_a = grad * b * a^(b - 1)", "{grad} * {b} * {a}^({b} - 1)"),
                                         ("grad_b = grad * out * log(a)", "{grad} * {out} * log({a})"))),
    "PowBackward2": (("out",), (("grad_b = grad * out * log(base)", None),)),
    "MaximumBackward0": (("mask",), (("grad_a = grad * mask (1 where a won, 1/2 on ties)", None),
                                     ("grad_b = grad * (1 - mask)", None))),
    "MinimumBackward0": (("mask",), (("grad_a = grad * mask (1 where a won, 1/2 on ties)", None),
                                     ("grad_b = grad * (1 - mask)", None))),
    "WhereBackward0": (("condition",), (("grad_a = grad where condition, else 0", None),
                                        ("grad_b = grad where not condition, else 0", None))),
    # elementwise, one input
    "NegBackward0": ((), (("grad_a = -grad", "-{grad}"),)),
    "AbsBackward0": (("sign",), (("grad_a = grad * sign(a)", "{grad} * {sign}"),)),
    "ExpBackward0": (("out",), (("grad_a = grad * out   (out = exp(a))", "{grad} * {out}"),)),
    "LogBackward0": (("a",), (("grad_a = grad / a", "{grad} / {a}"),)),
    "SqrtBackward0": (("out",), (("grad_a = grad / (2 * out)   (out = sqrt(a))", "{grad} / (2 * {out})"),)),
    "SinBackward0": (("a",), (("grad_a = grad * cos(a)", "{grad} * cos({a})"),)),
    "CosBackward0": (("a",), (("grad_a = -grad * sin(a)", "-{grad} * sin({a})"),)),
    "ReciprocalBackward0": (("out",), (("grad_a = -grad * out^2   (out = 1/a)", "-{grad} * {out}^2"),)),
    "SigmoidBackward0": (("out",), (("grad_a = grad * out * (1 - out)", "{grad} * {out} * (1 - {out})"),)),
    "TanhBackward0": (("out",), (("grad_a = grad * (1 - out^2)", "{grad} * (1 - {out}^2)"),)),
    "ReluBackward0": (("out",), (("grad_a = grad * (out > 0)", "{grad} * ({out} > 0)"),)),
    "LeakyReluBackward0": (("a",), (("grad_a = grad * (1 if a > 0 else negative_slope)", None),)),
    "ClampBackward1": (("inside",), (("grad_a = grad where min <= a <= max, else 0", None),)),
    # matrix products: input (the bias), mat1 (the batch), mat2 (the weight, transposed)
    "MmBackward0": (("a", "b"), (("grad_a = grad @ b.T", None), ("grad_b = a.T @ grad", None))),
    "AddmmBackward0": (("mat1", "mat2"), (("grad_input = beta * grad, summed over the batch", None),
                                          ("grad_mat1 = alpha * grad @ mat2.T", None),
                                          ("grad_mat2 = alpha * mat1.T @ grad", None))),
    "MvBackward0": (("a", "v"), (("grad_a = outer(grad, v)", None), ("grad_v = a.T @ grad", None))),
    "DotBackward0": (("a", "b"), (("grad_a = grad * b", None), ("grad_b = grad * a", None))),
    "BmmBackward0": (("a", "b"), (("grad_a = grad @ b.mT", None), ("grad_b = a.mT @ grad", None))),
    # reductions
    "SumBackward0": ((), (("grad_a = grad, expanded to a's shape", None),)),
    "SumBackward1": ((), (("grad_a = grad, expanded along the summed dims", None),)),
    "MeanBackward0": ((), (("grad_a = grad / a.numel(), expanded to a's shape", None),)),
    "MeanBackward1": ((), (("grad_a = grad / n, expanded along the averaged dims", None),)),
    "LogSoftmaxBackward0": (("out",), (("grad_a = grad - exp(out) * grad.sum(dim)", None),)),
    "SoftmaxBackward0": (("out",), (("grad_a = out * (grad - (grad * out).sum(dim))", None),)),
    "CrossEntropyLossBackward0": ((), (("grad_input = grad * (softmax(input) - one_hot(target)) / N", None),)),
    # shape and indexing: the gradient is moved, never changed
    "TBackward0": ((), (("grad_a = grad.T", None),)),
    "TransposeBackward0": ((), (("grad_a = grad.transpose(dim0, dim1)", None),)),
    "PermuteBackward0": ((), (("grad_a = grad permuted back", None),)),
    "ViewBackward0": ((), (("grad_a = grad.reshape(a's shape)", None),)),
    "UnsafeViewBackward0": ((), (("grad_a = grad.reshape(a's shape)", None),)),
    "UnsqueezeBackward0": ((), (("grad_a = grad.squeeze(dim)", None),)),
    "SqueezeBackward0": ((), (("grad_a = grad.reshape(a's shape)", None),)),
    "SqueezeBackward1": ((), (("grad_a = grad.unsqueeze(dim)", None),)),
    "ExpandBackward0": ((), (("grad_a = grad summed over the expanded dims", None),)),
    "CloneBackward0": ((), (_SAME,)),
    "ToCopyBackward0": ((), (("grad_a = grad.to(a's dtype)", None),)),
    "IndexBackward0": ((), (("grad_a = zeros(a's shape), grad added at the index", None),)),
    "SliceBackward0": ((), (("grad_a = zeros(a's shape), grad put in the slice", None),)),
    "SelectBackward0": ((), (("grad_a = zeros(a's shape), grad put at the index", None),)),
    "CatBackward0": ((), (("grad_i = the slice of grad where input i was", None),)),
    "StackBackward0": ((), (("grad_i = grad[i]", None),)),
    "ConvolutionBackward0": (("input", "weight"), (("grad_input = conv_transpose2d(grad, weight)", None),
                                                   ("grad_weight = conv2d(input, grad), per output channel", None),
                                                   ("grad_bias = grad summed over N, H, W", None))),
    "MaxPool2DWithIndicesBackward0": (("indices",), (("grad_a = grad put back at each window's maximum", None),)),
}


def formula(name: str, edge: int) -> tuple[str, str | None]:
    """The formula for the gradient a node named `name` sends along edge `edge`."""
    if name == "AccumulateGrad":
        return (".grad = grad (the first time), else .grad += grad", None)
    _, formulas = FORMULAS.get(name, ((), ()))
    if not formulas:
        return (f"grad_{edge} = {name}.backward(grad)[{edge}]", None)
    return formulas[min(edge, len(formulas) - 1)]


def saved_names(name: str, count: int) -> list[str]:
    """Names of the `count` tensors a node saved (`saved[i]` where the table has none)."""
    names = list(FORMULAS.get(name, ((), ()))[0])
    return [names[i] if i < len(names) else f"saved[{i}]" for i in range(count)]
