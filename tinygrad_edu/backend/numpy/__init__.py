"""The NumPy twins, one module per C file: `activations`, `matmul`, `softmax`, `loss`, `optim`, `conv`, `pool`.

Each function has exactly the name, signature and errors of its C binding in `backend/c/`
(needle's ``ndarray_backend_numpy.py`` beside ``ndarray_backend_cpu.cc``): read the two side
by side with `csrc/<family>.c`. `backend/numpy_kernels.py` gathers them into one namespace.
"""
