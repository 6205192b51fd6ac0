"""Drop-in replacements for upstream hub clients, backed by polyhub.

``polyhub_onnx.compat.hub`` replaces ``onnx.hub`` (removed from onnx 1.21).
"""
