"""Every built-in differentiable op, one module per family, mirroring csrc/.

    elementwise  +, -, *, /, **, exp, log, log1p, erf, clamp, ...   (NumPy's ufuncs)
    activations  relu, sigmoid, tanh, leaky_relu, gelu, ...   csrc/activations.c
    matmul       mm, addmm (Linear), mv, dot, bmm, einsum   csrc/matmul.c
    reduce       sum, mean, var, std, max, logsumexp, norm, prod
    softmax      softmax, log_softmax                    csrc/softmax.c
    loss         the fused cross-entropy, nll, mse, ...  csrc/loss.c
    conv         conv2d, im2col                          csrc/conv.c
    pool         max_pool2d                              csrc/pool.c
    norm         batch_norm, layer_norm
    rnn          the time loop of RNN, LSTM, GRU (one op per layer) csrc/rnn.c
    shape        view, reshape, permute, expand, repeat, diagonal, diag_embed, trace, ...
    index        x[key], x[key] = v, cat, stack, split, embedding, sort/topk values, scatter

Each op is an `Op` (autograd/function.py) with `forward(ctx, ...)` on NumPy arrays and
`backward(ctx, grad)` on Tensors side by side; names follow PyTorch's graph (`MulBackward0`
is the node `a * b` records). The forwards call the kernels of the active backend
(`backend.kernels`, C or NumPy) for the hot paths. Each backward is written with Tensor ops,
so that `create_graph=True` can differentiate it again. A gradient of a broadcast shape need
not be summed back here: the engine does that in one place (`engine._check_grad`, as
PyTorch's validate_outputs). An op that must make a Tensor itself calls `function.wrap(array)`.
"""
import warnings

# NOTE: inf and nan are values here, as in PyTorch (log(0) = -inf), not warnings. Filtering by
# module costs nothing per op, unlike an np.errstate block around each forward.
warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"tinygrad_edu\.ops\.")

from .activations import (Elu, Gelu, GeluBackward, Hardtanh, LeakyRelu, LeakyReluBackward, Relu, Sigmoid,  # noqa: E402
                          SigmoidBackward, Silu, Softplus, Tanh, TanhBackward, ThresholdBackward)
from .conv import Col2im, Conv2d, Im2col  # noqa: E402
from .elementwise import (Abs, Add, Ceil, Clamp, ClampTensor, Copy, Cos, Div, Erf, Exp, Fill, FillTensor,  # noqa: E402
                          Floor, Log, Log1p, Maximum, Minimum, Mul, Neg, Pow, PowTensor, Reciprocal, Round, RPow,
                          Rsub, Sign, Sin, Sqrt, Sub, Trunc, Where, Zero)
from .index import (BasicIndex, Cat, Embedding, Index, IndexAdd, IndexPut, IndexPutAdvanced, MaskedFill,  # noqa: E402
                    PutAlong, Scatter, ScatterValue, Select, SortValues, Split, SplitWithSizes, Stack,
                    TakeAlong, TopkValues, Unbind)
from .loss import (BinaryCrossEntropy, BinaryCrossEntropyWithLogits, CrossEntropyLoss, HuberLoss,  # noqa: E402
                   MseLoss, MultiMarginLoss, NllLoss, SmoothL1Loss)
from .matmul import Addmm, Bmm, Dot, Einsum, Mm, Mv  # noqa: E402
from .norm import NativeBatchNorm, NativeLayerNorm  # noqa: E402
from .pool import MaxPool2d, MaxPool2dBackward, MaxPool2dGather  # noqa: E402
from .reduce import (Amax, Amin, LogSumExp, MaxAll, MaxDim, Mean, MeanDim, MinAll, MinDim, Norm,  # noqa: E402
                     Prod, ProdDim, Std, Sum, SumDim, Var)
from .rnn import GRUSequence, LSTMSequence, RNNSequence  # noqa: E402
from .shape import (Clone, Diagonal, DiagonalBackward, DiagonalCopy, DiagEmbed, Expand, Permute,  # noqa: E402
                    Repeat, Reshape, Squeeze, SqueezeDim, SqueezeDims, T, ToCopy, Trace, Transpose, Unsqueeze, View)
from .softmax import LogSoftmax, LogSoftmaxBackwardData, Softmax, SoftmaxBackwardData  # noqa: E402
from . import _elementwise_fastpath  # noqa: E402,F401  (PERF: number arithmetic and .to() without a graph)
