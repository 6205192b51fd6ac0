"""The conftest.py of the reference plugin's test project (copied in by pytester).

Serves a one-model refhub on 127.0.0.1 and gives every suite what it needs.
It doubles as the worked example of configuring all four suites at once.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import refplugin
from polyhub_conformance import (
    DEFAULT_FRAMEWORKS,
    FormatCapabilities,
    HooksCapabilities,
    RuntimeCapabilities,
    RuntimeSample,
    SourceCapabilities,
)

WEIGHTS = refplugin.MAGIC + b"0.5 -1.0 2.0\n"


@pytest.fixture
def hub(tmp_path, serve_directory):
    root = tmp_path / "hub"
    root.mkdir()
    (root / "linear.txtw").write_bytes(WEIGHTS)
    entry = {
        "name": "linear",
        "file": "linear.txtw",
        "sha256": hashlib.sha256(WEIGHTS).hexdigest(),
        "size": len(WEIGHTS),
        "summary": "three weights",
    }
    (root / "index.json").write_text(json.dumps({"models": [entry]}))
    return serve_directory(root)


@pytest.fixture
def hooks_plugin():
    return refplugin


@pytest.fixture
def hooks_capabilities():
    # fakeframework stands for a heavy framework in the broken-plugin tests.
    return HooksCapabilities(frameworks=(*DEFAULT_FRAMEWORKS, "fakeframework"))


@pytest.fixture
def source_plugin():
    return refplugin


@pytest.fixture
def source_capabilities():
    return SourceCapabilities(scheme="refhub")


@pytest.fixture
def hub_env(hub):
    return {"REFHUB_URL": hub.url}


@pytest.fixture
def sample_address():
    return "refhub:linear"


@pytest.fixture
def format_plugin():
    return refplugin


@pytest.fixture
def format_capabilities():
    return FormatCapabilities(formats=("txtw",), frameworks=(*DEFAULT_FRAMEWORKS, "fakeframework"))


@pytest.fixture
def format_samples(tmp_path):
    path = tmp_path / "sample.txtw"
    path.write_bytes(WEIGHTS)
    return {"txtw": path}


@pytest.fixture
def foreign_samples(tmp_path):
    # Looks like weights, lacks the magic line.
    path = tmp_path / "weights.txt"
    path.write_text("0.5 -1.0 2.0\n")
    return {"plain-numbers": path}


@pytest.fixture
def runtime_plugin():
    return refplugin


@pytest.fixture
def runtime_capabilities():
    return RuntimeCapabilities(runtime="txtw", formats=("txtw", "txtw-code"), devices=("cpu",))


@pytest.fixture
def runtime_sample(tmp_path: Path):
    path = tmp_path / "model.txtw"
    path.write_bytes(WEIGHTS)
    return RuntimeSample(
        path=path,
        format="txtw",
        run=lambda model, x: model(x),
        inputs=[1.0, 2.0, 3.0],
        expected=4.5,
    )
