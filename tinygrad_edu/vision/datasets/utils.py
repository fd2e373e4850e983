"""File helpers for datasets (as `torchvision.datasets.utils`): MD5 checks, atomic downloads, and
the IDX reader behind MNIST and FashionMNIST."""
from __future__ import annotations

import gzip
import hashlib
import os
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
    corrupted download never leaves a file that looks valid. Raises on any failure."""
    root = Path(root).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    target = root / (filename or os.path.basename(url))
    fd, tmp = tempfile.mkstemp(dir=root, prefix=f".{target.name}.", suffix=".part")
    try:
        digest = hashlib.md5()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
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


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise DatasetFileError(path, f"cannot be decompressed, not a valid gzip file or truncated ({e})") from None


def read_idx(path) -> np.ndarray:
    """The array stored in an IDX file (gzip-compressed if the name ends in .gz), in native byte
    order. A bad magic number, a header cut short, or a data size that disagrees with the dims
    raise DatasetFileError naming the file and the fault."""
    path = Path(path)
    buf = _read_bytes(path)
    if len(buf) < 4:
        raise DatasetFileError(path, f"too short for an IDX header ({len(buf)} bytes)")
    zero, code, ndim = int.from_bytes(buf[:2], "big"), buf[2], buf[3]
    if zero != 0 or code not in _IDX_TYPES or ndim == 0:
        raise DatasetFileError(path, f"bad magic number 0x{int.from_bytes(buf[:4], 'big'):08X} (an IDX file starts "
                                     "with two zero bytes, a type code in 08 09 0B 0C 0D 0E and the number of dims)")
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise DatasetFileError(path, f"header cut short: {ndim} dims need {header} bytes, the file has {len(buf)}")
    dims = tuple(int.from_bytes(buf[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = _IDX_TYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(buf) - header != expected:
        fault = "truncated" if len(buf) - header < expected else "has trailing bytes"
        raise DatasetFileError(path, f"{fault}: dims {list(dims)} need {expected} bytes of data after the "
                                     f"{header}-byte header, the file has {len(buf) - header}")
    # astype copies into a writable native-endian array (frombuffer over bytes is read-only)
    return np.frombuffer(buf, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))
