"""The C bindings, one module per C file: `activations`, `matmul`, `softmax`, `loss`, `optim`, `conv`, `pool`.

Each binding is a plain function with its NumPy twin's name, signature and errors: it checks
its arguments (`backend/checks.py`), allocates the output and calls `tg_<name>_f32/_f64`
through `_ffi.py`, the only code that touches cffi. `backend/c_kernels.py` gathers them into
one namespace. Importing this package raises ImportError when the extension was not built.
"""
