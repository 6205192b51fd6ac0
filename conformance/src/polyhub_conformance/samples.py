"""Files that are NOT a plugin's format: the kit's table of foreign samples.

Each builder writes one small file (or folder) in the shape of a well-known
format, built by hand so the kit needs no framework: a format detector must
answer ``None`` for every one of them, except those its format is built on
(declared in ``FormatCapabilities.also_accepts`` or named like one of its
formats).
"""

from __future__ import annotations

import gzip
import io
import json
import pickle
import random
import struct
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["FOREIGN_BUILDERS", "build_foreign"]


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes | int) -> bytes:
    """One protobuf field: varint for ints, length-delimited for bytes."""
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _npy(values: list[float]) -> bytes:
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({len(values)},), }}"
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    return (
        b"\x93NUMPY\x01\x00"
        + struct.pack("<H", len(header))
        + header.encode()
        + struct.pack(f"<{len(values)}f", *values)
    )


def _write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def empty(d: Path) -> Path:
    return _write(d, "empty.bin", b"")


def random_bytes(d: Path) -> Path:
    # Seeded: a flaky "random" sample that sometimes looks like a varint would
    # make the verdict depend on luck.
    return _write(d, "random.bin", random.Random(20240601).randbytes(8192))


def text(d: Path) -> Path:
    return _write(d, "notes.txt", b"These are not weights.\n" * 64)


def json_doc(d: Path) -> Path:
    return _write(d, "config.json", json.dumps({"model": "resnet", "layers": [1, 2, 3]}).encode())


def yaml_doc(d: Path) -> Path:
    return _write(d, "index.yaml", b"models:\n  - name: toy\n    file: toy.bin\n")


def zip_archive(d: Path) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "hello")
    return _write(d, "archive.zip", buf.getvalue())


def gzip_file(d: Path) -> Path:
    return _write(d, "data.gz", gzip.compress(b"hello " * 100, mtime=0))


def tar_archive(d: Path) -> Path:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        data = b"hello"
        info = tarfile.TarInfo("readme.txt")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return _write(d, "archive.tar", buf.getvalue())


def png(d: Path) -> Path:
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + b"\0\0\0\0"
    return _write(d, "image.png", b"\x89PNG\r\n\x1a\n" + chunk)


def pickle_file(d: Path) -> Path:
    return _write(d, "weights.pkl", pickle.dumps({"w": [1.0, 2.0, 3.0]}, protocol=4))


def npy(d: Path) -> Path:
    return _write(d, "array.npy", _npy([1.0, 2.0, 3.0]))


def npz(d: Path) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("w.npy", _npy([1.0, 2.0]))
    return _write(d, "weights.npz", buf.getvalue())


def hdf5(d: Path) -> Path:
    return _write(d, "weights.h5", b"\x89HDF\r\n\x1a\n" + b"\0" * 504)


def safetensors(d: Path) -> Path:
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    return _write(d, "model.safetensors", struct.pack("<Q", len(header)) + header + b"\0" * 8)


def onnx_model(d: Path) -> Path:
    """A minimal ONNX ModelProto: ir_version, producer, a named graph, opset 13."""
    graph = _field(2, b"g")
    model = (
        _field(1, 8)
        + _field(2, b"polyhub-conformance")
        + _field(7, graph)
        + _field(8, _field(2, 13))
    )
    return _write(d, "model.onnx", model)


def mindspore_ckpt(d: Path) -> Path:
    """A MindSpore checkpoint's protobuf shape: Checkpoint{value: [{tag, tensor}]}."""
    tensor = _field(1, 2) + _field(2, b"Float32") + _field(3, struct.pack("<2f", 1.0, 2.0))
    value = _field(1, b"fc.weight") + _field(2, tensor)
    return _write(d, "model.ckpt", _field(1, value))


def folder(d: Path) -> Path:
    path = d / "a-folder"
    path.mkdir()
    (path / "readme.txt").write_text("a folder, not a model")
    return path


# id -> builder. The ids are what FormatCapabilities.also_accepts names.
FOREIGN_BUILDERS: dict[str, Callable[[Path], Path]] = {
    "empty": empty,
    "random": random_bytes,
    "text": text,
    "json": json_doc,
    "yaml": yaml_doc,
    "zip": zip_archive,
    "gzip": gzip_file,
    "tar": tar_archive,
    "png": png,
    "pickle": pickle_file,
    "npy": npy,
    "npz": npz,
    "hdf5": hdf5,
    "safetensors": safetensors,
    "onnx": onnx_model,
    "ckpt": mindspore_ckpt,
    "folder": folder,
}


def build_foreign(kind: str, directory: Path) -> Path:
    """Write the foreign sample ``kind`` under ``directory`` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    return FOREIGN_BUILDERS[kind](directory)
