"""File helpers for datasets (as `torchvision.datasets.utils`): MD5 checks, atomic downloads, and
the IDX reader behind MNIST and FashionMNIST."""
from __future__ import annotations

import gzip
import hashlib
import math
import os
import sys
import tempfile
import urllib.request
import zlib
from pathlib import Path

import numpy as np


class DatasetFileError(RuntimeError):
    """A dataset file that is present but cannot be used (corrupt, truncated, wrong format)."""

    def __init__(self, path, fault: str):
        super().__init__(f"{path}: {fault}")
        self.path, self.fault = str(path), fault


def default_cache_dir(name: str) -> str:
    """<the user's cache folder>/tinygrad_edu/<name>, whatever the current folder is.

    ~/.cache on Linux (or $XDG_CACHE_HOME), ~/Library/Caches on macOS, %LOCALAPPDATA% on Windows.
    Nothing is created here: a download makes the folder once the server answers.
    """
    if sys.platform == "win32":
        cache = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        cache = Path.home() / "Library" / "Caches"
    else:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return str(cache / "tinygrad_edu" / name)


def calculate_md5(fpath, chunk_size: int = 1024 * 1024) -> str:
    md5 = hashlib.md5()
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            md5.update(chunk)
    return md5.hexdigest()


def check_integrity(fpath, md5: str | None = None) -> bool:
    """True if the file exists and (when md5 is given) has that MD5."""
    return os.path.isfile(fpath) and (md5 is None or calculate_md5(fpath) == md5)


def download_url(url: str, root, filename: str | None = None, md5: str | None = None, timeout: float = 30.0) -> Path:
    """Fetch `url` into `root/filename`, atomically: the bytes go to a temporary file in `root`
    that is renamed into place only once complete and (with `md5`) verified, so an interrupted or
    corrupted download never leaves a file that looks valid. `root` is created only once the server
    answers. Raises on any failure."""
    root = Path(root).expanduser()
    target = root / (filename or os.path.basename(url))
    response = urllib.request.urlopen(url, timeout=timeout)  # first: offline, no folder is created
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=root, prefix=f".{target.name}.", suffix=".part")
    except BaseException:
        response.close()
        raise
    try:
        digest = hashlib.md5()
        with os.fdopen(fd, "wb") as out, response:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        if md5 is not None and digest.hexdigest() != md5:
            raise RuntimeError(f"MD5 mismatch for {url}: expected {md5}, got {digest.hexdigest()}")
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return target


# IDX (LeCun's format): 0x00 0x00, a type code, the number of dims; then each dim as a big-endian
# uint32; then the values, big-endian, row-major.
_IDX_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _open_idx(path: Path):
    """(file object, its size or None for gzip): gzip is read as a stream, never unpacked whole."""
    import stat
    f = open(path, "rb")
    st = os.fstat(f.fileno())
    if not stat.S_ISREG(st.st_mode):
        f.close()
        raise DatasetFileError(path, "not a regular file (a device, FIFO, socket or folder)")
    if path.suffix == ".gz":
        return gzip.GzipFile(fileobj=f, mode="rb"), None, f
    return f, st.st_size, f


def _read_upto(f, into) -> int:
    """Fill the writable buffer `into` from f; the bytes read (fewer if the file ends first)."""
    view, done = memoryview(into).cast("B"), 0
    while done < len(view):
        got = f.readinto(view[done:])
        if not got:
            break
        done += got
    return done


def _read_idx_body(path: Path, f, size: int | None) -> np.ndarray:
    head = bytearray(4)
    got = _read_upto(f, head)
    if got < 4:
        raise DatasetFileError(path, f"too short for an IDX header ({got} bytes)")
    zero, code, ndim = int.from_bytes(head[:2], "big"), head[2], head[3]
    if zero != 0 or code not in _IDX_TYPES or ndim == 0:
        raise DatasetFileError(path, f"bad magic number 0x{int.from_bytes(head, 'big'):08X} (an IDX file starts "
                                     "with two zero bytes, a type code in 08 09 0B 0C 0D 0E and the number of dims)")
    header = 4 + 4 * ndim
    raw_dims = bytearray(4 * ndim)
    got = _read_upto(f, raw_dims)
    if got < 4 * ndim:
        raise DatasetFileError(path, f"header cut short: {ndim} dims need {header} bytes, the file has {4 + got}")
    dims = tuple(int.from_bytes(raw_dims[4 * i:4 * i + 4], "big") for i in range(ndim))
    dtype = _IDX_TYPES[code]
    expected = math.prod(dims) * dtype.itemsize  # Python ints: no overflow
    need = f"dims {list(dims)} need {expected} bytes of data after the {header}-byte header"
    if size is not None and size - header != expected:  # checked before reading the data
        fault = "truncated" if size - header < expected else "has trailing bytes"
        raise DatasetFileError(path, f"{fault}: {need}, the file has {size - header}")
    try:
        out = np.empty(dims, dtype.newbyteorder("="))
    except (MemoryError, ValueError):
        raise DatasetFileError(path, f"{need}: more than this machine can hold") from None
    got = _read_upto(f, out)  # never past what the header allows: a gzip bomb stops here
    if got < expected:
        raise DatasetFileError(path, f"truncated: {need}, the file has {got}")
    if size is None and f.read(1):
        raise DatasetFileError(path, f"has trailing bytes: {need}, the file has more")
    if dtype.itemsize > 1 and sys.byteorder == "little":
        out.byteswap(inplace=True)  # the file is big-endian
    return out


def read_idx(path) -> np.ndarray:
    """The array stored in an IDX file (gzip-compressed if the name ends in .gz), in native byte
    order. A bad magic number, a header cut short, or a data size that disagrees with the dims
    raise DatasetFileError naming the file and the fault. The header is checked against the file's
    size before the data is read, and a gzip file is unpacked only as far as the header allows,
    straight into the array (a small file that unpacks to gigabytes fails after the header's size)."""
    path = Path(path)
    f, size, raw = _open_idx(path)
    try:
        return _read_idx_body(path, f, size)
    except (OSError, EOFError, zlib.error) as e:
        raise DatasetFileError(path, f"cannot be decompressed, not a valid gzip file or truncated ({e})") from None
    finally:
        f.close()
        raw.close()
