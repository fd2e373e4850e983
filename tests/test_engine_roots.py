"""backward() with several roots where one root depends on another (LSTMCell's (h, c): h = o * tanh(c)):
the dependent root must run first, so that its gradient reaches the other before that one runs."""
import numpy as np
import torch

import tinygrad_edu as tg


def _grads(lib, x0, roots_of, ups):
    x = lib.tensor(x0, requires_grad=True)
    roots = roots_of(x)
    lib.autograd.backward(roots, [lib.tensor(u) for u in ups])
    return x.grad.numpy()


def test_backward_with_a_root_that_feeds_another_root():
    x0, ups = np.array([0.3, -1.2, 2.0]), [np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.5, 0.25])]
    for roots_of in (lambda x: [x.exp() * 2, x.exp()], lambda x: [(c := x.exp()), c.tanh()],
                     lambda x: [(c := x * 3).sin(), c]):
        np.testing.assert_allclose(_grads(tg, x0, roots_of, ups), _grads(torch, x0, roots_of, ups), rtol=1e-12)
    # autograd.grad takes the same path
    x = tg.tensor(x0, requires_grad=True)
    c = x.exp()
    (g,) = tg.autograd.grad([c.tanh(), c], x, [tg.tensor(u) for u in ups])
    xt = torch.tensor(x0, requires_grad=True)
    ct = xt.exp()
    (gt,) = torch.autograd.grad([ct.tanh(), ct], xt, [torch.tensor(u) for u in ups])
    np.testing.assert_allclose(g.numpy(), gt.numpy(), rtol=1e-12)
