"""Recurrent layers: RNN, LSTM, GRU and their cells, as torch.nn's (names, shapes, initialisation).

One time step is a few Tensor ops (ops/rnn.py's reference steps, with the formulas):

    LSTM   i, f, g, o = chunks of  x W_ih^T + b_ih + h W_hh^T + b_hh      (sigmoid; g: tanh)
           c' = f * c + i * g        h' = o * tanh(c')

The input projection x W_ih^T + b_ih of every time step is one matrix product before the loop
(PyTorch's CPU kernels do the same); the loop then does one h W_hh^T per step. The cells run the
reference steps, and autograd goes back through time by itself. PERF: the layers run each
layer and direction as one op instead (ops/rnn.py's LSTMSequence, GRUSequence, RNNSequence:
backpropagation through time written out on csrc/rnn.c's fused gate kernels), with the same
results; `FUSED = False` here makes them run the reference steps too (kept for tests and for
reading). proj_size and dtypes other than float32/float64 always take the reference.
"""
from __future__ import annotations

import math

from ... import creation
from ...backend.checks import FLOAT_DTYPES
from ...ops import rnn as rnn_ops
from ...ops.rnn import gru_step as _gru_step, lstm_step as _lstm_step, rnn_step as _rnn_step
from ...tensor import Tensor, cat, stack
from .. import functional as F, init
from ..parameter import Parameter
from .module import Module

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
FUSED = True  # PERF: one op per layer and direction (ops/rnn.py); False: the reference steps


class RNNBase(Module):
    """Parameters weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} (and `_reverse` ones
    when bidirectional; weight_hr_l{k} for an LSTM with proj_size), all U(-1/sqrt(hidden), 1/sqrt(hidden))."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None):
        super().__init__()
        _check_sizes(input_size, hidden_size, num_layers, dropout, proj_size)
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if dropout > 0 and num_layers == 1:
            import warnings
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}")
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        out_size, directions = proj_size or hidden_size, 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            for suffix in ("", "_reverse")[:directions]:
                in_size = input_size if layer == 0 else out_size * directions
                shapes = {"weight_ih": (_GATES[mode] * hidden_size, in_size),
                          "weight_hh": (_GATES[mode] * hidden_size, out_size)}
                if bias:
                    shapes.update(bias_ih=(_GATES[mode] * hidden_size,), bias_hh=(_GATES[mode] * hidden_size,))
                if proj_size:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                for kind, shape in shapes.items():
                    name = f"{kind}_l{layer}{suffix}"
                    setattr(self, name, Parameter(creation.empty(*shape, dtype=dtype, device=device)))
                    self._flat_weights_names.append(name)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """A no-op, as PyTorch's on the CPU (it packs weights for cuDNN)."""

    @property
    def all_weights(self) -> list[list[Parameter]]:
        per = len(self._flat_weights_names) // (self.num_layers * (2 if self.bidirectional else 1))
        names = self._flat_weights_names
        return [[getattr(self, n) for n in names[i:i + per]] for i in range(0, len(names), per)]

    def _weights(self, layer: int, suffix: str) -> tuple:
        get = lambda kind: getattr(self, f"{kind}_l{layer}{suffix}", None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"), get("weight_hr")

    def forward(self, input: Tensor, hx=None):
        batched = self._check_input(input)
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        if x.shape[0] == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        states = self._initial_states(x, hx, batched)
        finals = [[] for _ in states]
        directions = ("", "_reverse") if self.bidirectional else ("",)
        for layer in range(self.num_layers):
            outs = []
            for d, suffix in enumerate(directions):
                k = layer * len(directions) + d
                out, last = self._run_direction(x, [s[k] for s in states], self._weights(layer, suffix), d == 1)
                outs.append(out)
                for f, s in zip(finals, last):
                    f.append(s)
            x = outs[0] if len(outs) == 1 else cat(outs, dim=-1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        output = x.transpose(0, 1) if batched and self.batch_first else x
        finals = [stack(f, dim=0) for f in finals]
        if not batched:
            output, finals = output.squeeze(1), [f.squeeze(1) for f in finals]
        return output, (tuple(finals) if self.mode == "LSTM" else finals[0])

    def _run_direction(self, x: Tensor, state: list, weights: tuple, reverse: bool):
        """Run one layer in one direction over x [L, N, in]: (outputs [L, N, H], final states)."""
        w_ih, w_hh, b_ih, b_hh, w_hr = weights
        x_proj = F.linear(x, w_ih, b_ih)  # every time step's input projection in one matrix product
        if not FUSED or w_hr is not None or x._data.dtype not in FLOAT_DTYPES:
            return rnn_ops.reference_sequence(self.mode, x_proj, state, w_hh, b_hh, w_hr, reverse)
        if self.mode == "LSTM":  # PERF: the whole loop as one op, see the module's docstring
            out, h, c = rnn_ops.LSTMSequence.apply(x_proj, state[0], state[1], w_hh, b_hh, reverse)
            return out, [h, c]
        if self.mode == "GRU":
            out, h = rnn_ops.GRUSequence.apply(x_proj, state[0], w_hh, b_hh, reverse)
        else:
            out, h = rnn_ops.RNNSequence.apply(x_proj, state[0], w_hh, b_hh, reverse, self.mode == "RNN_RELU")
        return out, [h]

    def _check_input(self, input: Tensor) -> bool:
        if not isinstance(input, Tensor):
            raise TypeError(f"{type(self).__name__}: input must be a Tensor, got {type(input).__name__}")
        if input.dim() not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got {input.dim()}D tensor instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {input.shape[-1]}")
        if not input.is_floating_point():
            raise RuntimeError(f"{type(self).__name__}: input must be a floating point tensor, got {input.dtype}")
        dtype = self.weight_ih_l0.dtype
        if input.dtype != dtype:
            short = lambda d: str(d).replace("tinygrad_edu.", "torch.")  # noqa: E731  (torch's text)
            raise ValueError(f"RNN input dtype ({short(input.dtype)}) does not match weight dtype ({short(dtype)}). "
                             f"Convert input: input.to({short(dtype)}), "
                             f"or convert model: model.to({short(input.dtype)})")
        return input.dim() == 3

    def _initial_states(self, x: Tensor, hx, batched: bool) -> list:
        """[h0] or [h0, c0], each [layers * directions, N, size]; zeros where hx is None."""
        layers = self.num_layers * (2 if self.bidirectional else 1)
        sizes = [self.proj_size or self.hidden_size] + ([self.hidden_size] if self.mode == "LSTM" else [])
        if hx is None:
            return [creation.zeros(layers, x.shape[1], s, dtype=x.dtype) for s in sizes]
        given = list(hx) if self.mode == "LSTM" else [hx]
        if self.mode == "LSTM" and (not isinstance(hx, (tuple, list)) or len(given) != 2):
            raise TypeError("LSTM: hx must be a tuple (h_0, c_0)")
        states = []
        for h, size in zip(given, sizes):
            if h.dim() != (3 if batched else 2):
                raise RuntimeError(f"For {'batched 3' if batched else 'unbatched 2'}-D input, hx should also be "
                                   f"{3 if batched else 2}-D but got {h.dim()}-D tensor")
            h = h if batched else h.unsqueeze(1)
            if tuple(h.shape) != (layers, x.shape[1], size):
                raise RuntimeError(f"Expected hidden size {(layers, x.shape[1], size)}, got {list(h.shape)}")
            if h.dtype != x.dtype:
                raise RuntimeError(f"Expected the hidden state to have the input's dtype {x.dtype}, got {h.dtype}")
            states.append(h)
        return states

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


def _check_sizes(input_size, hidden_size, num_layers, dropout, proj_size) -> None:
    if not isinstance(hidden_size, int) or hidden_size <= 0:
        raise ValueError("hidden_size must be greater than zero" if isinstance(hidden_size, int)
                         else f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
    if not isinstance(num_layers, int) or num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if not (isinstance(dropout, (int, float)) and 0 <= dropout <= 1) or isinstance(dropout, bool):
        raise ValueError("dropout should be a number in range [0, 1] representing the probability of an element "
                         "being zeroed")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")


class RNN(RNNBase):
    """Elman RNN: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (nonlinearity='relu' for relu)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, 0, device, dtype)


class LSTM(RNNBase):
    """forward(input, (h_0, c_0)) -> output, (h_n, c_n); gates i, f, g, o in that order (PyTorch's)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)


class GRU(RNNBase):
    """forward(input, h_0) -> output, h_n; gates r, z, n in that order (PyTorch's)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         device, dtype)


# ---------------------------------------------------------------- cells: one time step

class RNNCellBase(Module):
    """weight_ih [gates*hidden, input], weight_hh [gates*hidden, hidden], bias_ih, bias_hh."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, gates: int, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = Parameter(creation.empty(gates * hidden_size, input_size, dtype=dtype, device=device))
        self.weight_hh = Parameter(creation.empty(gates * hidden_size, hidden_size, dtype=dtype, device=device))
        if bias:
            self.bias_ih = Parameter(creation.empty(gates * hidden_size, dtype=dtype, device=device))
            self.bias_hh = Parameter(creation.empty(gates * hidden_size, dtype=dtype, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        stdv = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _prepare(self, input: Tensor, hx, count: int):
        """(batched input, [states], was_batched), states zeros where hx is None."""
        if input.dim() not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} expected {self.input_size}")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        if hx is None:
            return x, [creation.zeros(x.shape[0], self.hidden_size, dtype=input.dtype) for _ in range(count)], batched
        states = list(hx) if count == 2 else [hx]
        for h in states:
            if h.dim() != input.dim():
                raise ValueError(f"{type(self).__name__}: Expected hidden to be {input.dim()}D, got {h.dim()}D instead")
        states = states if batched else [h.unsqueeze(0) for h in states]
        for h in states:
            if tuple(h.shape) != (x.shape[0], self.hidden_size):
                raise RuntimeError(f"hidden has inconsistent size {list(h.shape)}, expected "
                                   f"{[x.shape[0], self.hidden_size]}")
        return x, states, batched

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._prepare(input, hx, 1)
        h = _rnn_step(F.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh,
                      self.nonlinearity == "relu")
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx=None) -> tuple[Tensor, Tensor]:
        x, (h, c), batched = self._prepare(input, hx, 2)
        h, c = _lstm_step(F.linear(x, self.weight_ih, self.bias_ih), h, c, self.weight_hh, self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._prepare(input, hx, 1)
        h = _gru_step(F.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh)
        return h if batched else h.squeeze(0)
