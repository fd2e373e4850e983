"""Lecture 8's printed values (notes 004), recomputed and printed beside the notes' numbers.

    python examples/lecture8_values.py [--quick]

1. a neuron: y = x A^T + b for x = [1.2, 0.3, 0.4], A = [2, 2, 2]; the notes print
   "XA^T = [2.4, 0.6, 0.8]", which are the products x_i * A_i before they are summed:
   x A^T is the single number 3.8 (a slip in the notes, said so below)
2. a Linear layer: the notes' weight and bias of FFN(3, 1, 2).layer1 typed in, applied to
   torch.ones([10, 3]), by nn.Linear and by torch.matmul(x, weight.T) + bias
3. MSELoss with reduction 'mean', 'sum' and 'none'
4. BCELoss(reduction='none') on the notes' x and y
5. MultiMarginLoss(reduction='none') on the notes' 4 x 3 scores and targets

The notes draw their inputs with torch.manual_seed and torch.rand; tinygrad_edu's generator is
not PyTorch's, so the inputs are typed in as PyTorch draws them (the notes print them, except
MSE's, which are torch.rand([5, 1]) twice after torch.manual_seed(0), typed to 8 decimals). Every line shows ours,
then the notes' value, then whether they agree to the 4 decimals the notes print.
`--quick` is accepted for symmetry with the other examples (this one is already quick).
"""
from __future__ import annotations

import numpy as np

import tinygrad_edu as torch
from tinygrad_edu import nn

from _extras import parser

# torch.manual_seed(0); x = torch.rand([5, 1]); y = torch.rand([5, 1]) in PyTorch (not printed in the notes)
MSE_X = [[0.49625659], [0.76822180], [0.08847743], [0.13203049], [0.30742282]]
MSE_Y = [[0.63407868], [0.49009341], [0.89644474], [0.45562798], [0.63230628]]


def fmt(values) -> str:
    a = np.round(np.asarray(values, dtype=np.float64), 4) + 0.0  # + 0.0: no "-0.0"
    return "[" + ", ".join(f"{v:.4f}" for v in a.ravel()) + "]" if a.ndim else f"{float(a):.4f}"


TOLERANCE = 1.5e-4  # the notes print 4 decimals: a difference below 1.5e-4 is their rounding (--tolerance)


def compare(what: str, ours, notes) -> bool:
    """One line: ours, the notes', and whether they agree within the notes' rounding."""
    ours_np = np.asarray(ours.detach().numpy() if isinstance(ours, torch.Tensor) else ours, dtype=np.float64)
    agree = ours_np.shape == np.shape(notes) and np.allclose(ours_np, notes, rtol=0, atol=TOLERANCE)
    print(f"{what}: ours {fmt(ours_np)}  notes {fmt(notes)}  {'agree' if agree else 'DIFFER'}")
    return agree


def neuron() -> None:
    print("== 1. a neuron: y = x A^T + b")
    x, A = torch.tensor([[1.2, 0.3, 0.4]]), torch.tensor([[2.0, 2.0, 2.0]])
    print(f"x * A (elementwise): {fmt((x * A).numpy())}  -- what the notes print as XA^T")
    compare("x A^T = torch.matmul(x, A.T)", torch.matmul(x, A.T).reshape(()), 3.8)
    print("The notes' [2.4, 0.6, 0.8] is a slip: x A^T sums those products, 2.4 + 0.6 + 0.8 = 3.8.")


def linear_layer() -> None:
    print("\n== 2. a Linear layer: FFN(3, 1, 2).layer1 applied to torch.ones([10, 3])")
    layer = nn.Linear(3, 2)
    with torch.no_grad():  # the notes' printed (random) parameters, typed in
        layer.weight.copy_(torch.tensor([[0.5463, -0.0116, -0.3780], [-0.3419, -0.0464, -0.2615]]))
        layer.bias.copy_(torch.tensor([0.5359, 0.1306]))
    x = torch.ones([10, 3])
    by_hand = torch.matmul(x, layer.weight.T) + layer.bias
    print(f"shape {tuple(by_hand.shape)}, grad_fn {type(by_hand.grad_fn).__name__}")
    compare("matmul(x, weight.T) + bias, each row", by_hand[0], [0.6926, -0.5192])
    compare("nn.Linear(x), each row", layer(x)[0], [0.6926, -0.5192])
    same = bool((by_hand == layer(x)).all())
    print(f"all 10 rows equal and the layer gives the same: {same}")


def losses() -> None:
    print("\n== 3. MSELoss (inputs: PyTorch's torch.rand after torch.manual_seed(0))")
    x, y = torch.tensor(MSE_X), torch.tensor(MSE_Y)
    compare("nn.MSELoss()(x, y)", nn.MSELoss()(x, y), 0.1919)
    compare("nn.MSELoss(reduction='sum')(x, y)", nn.MSELoss(reduction="sum")(x, y), 0.9594)
    compare("nn.MSELoss(reduction='none')(x, y)", nn.MSELoss(reduction="none")(x, y).flatten(),
            [0.0190, 0.0774, 0.6528, 0.1047, 0.1055])

    print("\n== 4. BCELoss(reduction='none')")
    x = torch.tensor([0.6147, 0.3810, 0.6371, 0.4745, 0.7136])
    y = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0])
    compare("nn.BCELoss(reduction='none')(x, y)", nn.BCELoss(reduction="none")(x, y),
            [0.4866, 0.4797, 0.4508, 0.6433, 0.3374])
    print("l_n = -(y_n log x_n + (1 - y_n) log(1 - x_n)): the notes' formula lacks the minus sign.")

    print("\n== 5. MultiMarginLoss(reduction='none')")
    x = torch.tensor([[0.6147, 0.3810, 0.6371], [0.4745, 0.7136, 0.6190],
                      [0.4425, 0.0958, 0.6142], [0.0573, 0.5657, 0.5332]])
    y = torch.tensor([2, 1, 0, 2])
    compare("nn.MultiMarginLoss(reduction='none')(x, y)", nn.MultiMarginLoss(reduction="none")(x, y),
            [0.5738, 0.5554, 0.6083, 0.5189])
    first = sum(max(0.0, 1 - 0.6371 + v) for v in (0.6147, 0.3810)) / 3
    print(f"by hand, row 1 (target 2): (max(0, 1 - x[2] + x[0]) + max(0, 1 - x[2] + x[1])) / 3 = {first:.4f}")


def main(argv=None) -> None:
    global TOLERANCE
    p = parser(__doc__)
    p.add_argument("--quick", action="store_true", help="accepted; the example is already quick")
    p.add_argument("--tolerance", type=float, default=TOLERANCE,
                   help="largest difference from a printed value that still agrees")
    TOLERANCE = p.parse_args(argv).tolerance
    neuron()
    linear_layer()
    losses()


if __name__ == "__main__":
    main()
