"""The protobuf wire format, as far as format detection needs it: reading a varint.

Plugins tell a serialized ``onnx.ModelProto`` from a MindSpore checkpoint or MindIR
by walking a file's first fields, without importing ``protobuf`` or a framework.
Wire format: https://protobuf.dev/programming-guides/encoding/
"""

from __future__ import annotations

from ._errors import MetadataError

__all__ = ["MAX_VARINT_BYTES", "read_varint"]

#: A varint encodes at most 64 bits, 7 a byte: ten bytes at the most.
MAX_VARINT_BYTES = 10


def read_varint(buf: bytes | bytearray | memoryview, pos: int = 0) -> tuple[int, int]:
    """Decode the base-128 varint that starts at byte ``pos`` of ``buf``.

    :returns: ``(value, next_pos)``: the unsigned value (a non-minimal encoding such
        as ``0x80 0x00`` reads as 0, as protobuf reads it) and the offset of the
        byte after it.
    :raises polyhub.MetadataError: (a ``ValueError``) the buffer ends inside the
        varint (``"truncated varint"``), or it runs past ten bytes.
    """
    value = shift = 0
    for i in range(MAX_VARINT_BYTES):
        if pos + i >= len(buf):
            raise MetadataError("truncated varint")
        byte = buf[pos + i]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos + i + 1
        shift += 7
    raise MetadataError(f"varint longer than {MAX_VARINT_BYTES} bytes")
