"""A runtime whose every format is built by repository code passes the runtime suite.

``RuntimeSample.code`` names the code; the kit has the core import it (checkout,
trust, isolated import) and hands it over as ``request.code``, as a load does.
Before it, S42-S45 called such a runtime with ``request.code=None``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

pytest_plugins = ["pytester"]

PLUGIN = """
import json
from polyhub import Device, FormatInfo, MetadataError, RuntimeInfo, UnsupportedError, hookimpl


@hookimpl
def polyhub_register_formats(registry):
    registry.add(FormatInfo(name="jw", suffixes=(".jw",)))


@hookimpl
def polyhub_register_runtimes(registry):
    registry.add(RuntimeInfo(name="jw", formats=("jw",), devices=("cpu",), code_formats=("jw",)))


@hookimpl
def polyhub_format_detect(path, head):
    return "jw" if head.startswith(b'{"jw":') else None


@hookimpl
def polyhub_runtime_devices(runtime):
    return [Device("cpu")]


@hookimpl
def polyhub_runtime_load(request):
    if request.device.kind != "cpu":
        raise UnsupportedError(f"jw runs on cpu only, not {request.device}")
    if request.code is None:
        raise MetadataError("a jw model needs its code", file=str(request.card.address))
    try:
        weights = json.loads(request.path.read_bytes())["jw"]
    except (ValueError, KeyError) as exc:
        raise MetadataError(f"not jw weights: {exc}", file=str(request.path)) from None
    with request.code.activate():
        return request.code.function(weights)
"""

SUITE = """
import pytest
import jwplugin
from polyhub import CodeRef
from polyhub_conformance import RuntimeCapabilities, RuntimeSample, RuntimeSuite

REPO = {repo!r}


@pytest.fixture
def polyhub_plugin():
    return jwplugin


class TestJw(RuntimeSuite):
    @pytest.fixture
    def runtime_capabilities(self):
        return RuntimeCapabilities(runtime="jw", formats=("jw",), devices=("cpu",))

    @pytest.fixture
    def runtime_sample(self, tmp_path):
        path = tmp_path / "m.jw"
        path.write_bytes(b'{{"jw": [1, 2, 3]}}')
        return RuntimeSample(
            path=path,
            format="jw",
            run=lambda model, inputs: model(inputs),
            inputs=2,
            expected=[2, 4, 6],
            code=CodeRef(url=REPO, file="build.py", function="build"),
        )
"""


def test_a_runtime_that_needs_code_gets_the_samples_code(pytester: Any, tmp_path: Path) -> None:
    repo = tmp_path / "code"
    repo.mkdir()
    (repo / "build.py").write_text(
        "def build(weights):\n    return lambda k: [w * k for w in weights]\n"
    )
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "code"], cwd=repo, check=True)
    (pytester.path / "jwplugin.py").write_text(PLUGIN)
    (pytester.path / "test_jw.py").write_text(SUITE.format(repo=repo.as_uri()))
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-W",
        "error",
        "-rfEs",
        "-k",
        "loads_sample or public_api or unsupported_device or corrupt or untrusted",
    )
    result.assert_outcomes(passed=7)
