"""polyhub-onnx: ONNX Model Hub manifests, the ONNX format and the onnxruntime runtime for polyhub.

Installed, it serves ``polyhub.load("onnx:mnist", opset=8, device="cpu")``.
The hook implementations are in :mod:`polyhub_onnx.plugin`; a drop-in for the
removed ``onnx.hub`` is :mod:`polyhub_onnx.compat.hub`. Importing this package
imports neither onnx nor onnxruntime.
"""

from __future__ import annotations

__version__ = "0.1.0"
