"""PyTorch's checkpoint container: the zip archive `torch.save` writes (the default since PyTorch 1.6).

What is inside (torch/serialization.py `_save`; the reader is caffe2/serialize/inline_container.cc):

    archive/data.pkl             the object, pickled (protocol 2); each tensor names its storage by key
    archive/.format_version      "1"
    archive/.storage_alignment   "64"
    archive/byteorder            "little" (or "big": the byte order of every storage below)
    archive/data/0, data/1, ...  each storage's raw bytes
    archive/version              "3\\n" (PyTorch's reader refuses an archive without it)

Every record is stored uncompressed, and PyTorch starts the data of each at a multiple of 64 bytes
in the file (padding in the local header's "FB" extra field) so that a reader may map it; we write
the same. The folder's name is free ("archive" today): readers take the first record's folder.

Reading: Python's zipfile parses the directory, then each record is read straight into the array
that will hold it (its CRC-32 checked), so a checkpoint is never held twice in memory.
"""
from __future__ import annotations

import struct
import zipfile
import zlib
from typing import IO

import numpy as np

ALIGNMENT = 64
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # a zip local file header: 30 bytes, then name and extra


def _fail(name: str, why: str) -> RuntimeError:
    return RuntimeError(f"{name}: not a valid PyTorch checkpoint: {why}")


class ZipReader:
    """The records of one archive, by name without the folder ("data.pkl", "data/0")."""

    def __init__(self, fh: IO[bytes], name: str):
        self.fh, self.name = fh, name
        try:
            self._zip = zipfile.ZipFile(fh)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, struct.error) as e:
            raise _fail(name, f"the zip archive is truncated or damaged ({e})") from None
        if not infos:
            raise _fail(name, "the zip archive is empty")
        folder, slash, _ = infos[0].filename.partition("/")
        if not slash:
            raise _fail(name, f"the zip archive's records are not in a folder (first record: {infos[0].filename!r})")
        self.records = {i.filename[len(folder) + 1:]: i for i in infos if i.filename.startswith(folder + "/")}

    def has(self, record: str) -> bool:
        return record in self.records

    def size(self, record: str) -> int:
        return self.records[record].file_size

    def read(self, record: str) -> bytes:
        out = np.empty(self.size(record), np.uint8)
        self.read_into(record, out)
        return out.tobytes()

    def read_into(self, record: str, out: np.ndarray) -> None:
        """Fill `out` (uint8, as many bytes as the record holds) with the record's bytes."""
        info = self.records[record]
        if info.compress_type != zipfile.ZIP_STORED:  # PyTorch never compresses; a re-zipped archive may
            try:
                out[:] = np.frombuffer(self._zip.read(info), np.uint8)  # zipfile inflates and checks the CRC
            except (zipfile.BadZipFile, zlib.error, NotImplementedError, OSError, EOFError, ValueError) as e:
                raise _fail(self.name, f"record {info.filename} cannot be read ({e})") from None
            return
        self.fh.seek(info.header_offset)
        header = self.fh.read(_LOCAL_HEADER.size)
        if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
            raise _fail(self.name, f"record {info.filename} has no local header at byte {info.header_offset}")
        name_length, extra_length = _LOCAL_HEADER.unpack(header)[-2:]
        self.fh.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
        view, done = memoryview(out).cast("B"), 0
        while done < len(view):
            got = self.fh.readinto(view[done:]) if hasattr(self.fh, "readinto") else None
            if got is None:  # a file object with read() only
                chunk = self.fh.read(len(view) - done)
                got = len(chunk)
                view[done:done + got] = chunk
            if not got:
                raise _fail(self.name, f"record {info.filename} is truncated ({done} of its {len(view)} bytes "
                                       "are in the file)")
            done += got
        # A CRC of 0 means "not computed": torch.serialization.set_crc32_options(False) writes files so.
        # (PyTorch's torch.load does not check it: there, a damaged byte loads as a wrong number.)
        if info.CRC and zlib.crc32(view) != info.CRC:
            raise _fail(self.name, f"record {info.filename} is damaged (its CRC-32 does not match its bytes)")


class ZipWriter:
    """Writes records into `folder/` of a new archive, uncompressed, each record's data 64-byte aligned."""

    def __init__(self, fh: IO[bytes], folder: str = "archive"):
        self._zip = zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True)
        self.folder = folder

    def write(self, record: str, data) -> None:
        data = memoryview(data).cast("B")
        info = zipfile.ZipInfo(f"{self.folder}/{record}", date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type, info.file_size = zipfile.ZIP_STORED, len(data)
        zip64 = len(data) * 1.05 > zipfile.ZIP64_LIMIT  # zipfile's own rule: it then adds a 20-byte extra field
        start = self._zip.fp.tell() + _LOCAL_HEADER.size + len(info.filename.encode()) + 4 + (20 if zip64 else 0)
        padding = -start % ALIGNMENT
        info.extra = b"FB" + struct.pack("<H", padding) + b"Z" * padding  # as PyTorch's writer (miniz) pads
        with self._zip.open(info, "w", force_zip64=zip64) as out:
            out.write(data)

    def close(self) -> None:
        self._zip.close()


def write_archive(fh: IO[bytes], data_pkl: bytes, storages: dict) -> None:
    """The records `torch.save` writes, in its order: data.pkl, the markers, each storage, version."""
    archive = ZipWriter(fh)
    archive.write("data.pkl", data_pkl)
    archive.write(".format_version", b"1")
    archive.write(".storage_alignment", str(ALIGNMENT).encode())
    archive.write("byteorder", b"little")
    for key, raw in storages.items():
        archive.write(f"data/{key}", raw)
    archive.write("version", b"3\n")
    archive.close()
