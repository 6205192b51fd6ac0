"""A registry that asks for basic auth (Distribution with htpasswd), credentials given as documented.

The credentials must work from ``POLYHUB_OCI_USERNAME``/``POLYHUB_OCI_PASSWORD`` and from a
``config.json`` in ``DOCKER_CONFIG``, and must never appear in what polyhub prints or logs.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import polyhub
import pytest
from polyhub._publish import push

from .conftest import Hub, Registry

USER, PASSWORD = "fleet", "s3cret-Pw-4d8f2a"


@pytest.fixture(scope="module")
def auth_registry(
    registry_binary: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Registry]:
    bcrypt = pytest.importorskip("bcrypt")
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    reg = Registry(
        registry_binary, tmp_path_factory.mktemp("auth-registry"), htpasswd=f"{USER}:{hashed}"
    ).start()
    yield reg
    reg.stop()


def _secrets() -> tuple[str, ...]:
    return (PASSWORD, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())


def _assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in _secrets():
            assert secret not in text


def test_env_credentials_push_and_load(
    auth_registry: Registry,
    onnx_hub: Hub,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("POLYHUB_OCI_USERNAME", USER)
    monkeypatch.setenv("POLYHUB_OCI_PASSWORD", PASSWORD)
    ref = push("onnx:tiny-mlp?opset=17", f"oci://{auth_registry.host}/auth/mlp:v1")
    polyhub.set_dir(tmp_path / "node")
    session = polyhub.load(f"oci:{auth_registry.host}/auth/mlp:v1", device="cpu")
    assert session.get_inputs()[0].name == "x"
    assert ref.endswith(
        polyhub.info(f"oci:{auth_registry.host}/auth/mlp:v1").metadata["oci"]["digest"]
    )
    out = capsys.readouterr()
    _assert_no_secret(out.out, out.err, caplog.text)


def test_wrong_password_is_refused_without_printing_it(
    auth_registry: Registry,
    onnx_hub: Hub,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("POLYHUB_OCI_USERNAME", USER)
    monkeypatch.setenv("POLYHUB_OCI_PASSWORD", PASSWORD + "-wrong")
    with pytest.raises(polyhub.DownloadError) as err:
        push("onnx:add-relu", f"oci://{auth_registry.host}/auth/add-relu:v1")
    assert "401" in str(err.value) and auth_registry.host in str(err.value)
    _assert_no_secret(str(err.value), caplog.text)


def test_docker_config_credentials(
    auth_registry: Registry,
    onnx_hub: Hub,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # DOCKER_CONFIG points at tmp_path/docker-config (the autouse fixture).
    folder = tmp_path / "docker-config"
    folder.mkdir()
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (folder / "config.json").write_text(json.dumps({"auths": {auth_registry.host: {"auth": auth}}}))
    caplog.set_level(logging.DEBUG)
    push("onnx:add-relu", f"oci://{auth_registry.host}/auth/add-relu:cfg")
    polyhub.set_dir(tmp_path / "node")
    card = polyhub.info(f"oci:{auth_registry.host}/auth/add-relu:cfg")
    assert card.name == "add-relu"
    _assert_no_secret(caplog.text)


def test_no_credentials_names_how_to_log_in(auth_registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(polyhub.DownloadError, match="POLYHUB_OCI_USERNAME"):
        polyhub.info(f"oci:{auth_registry.host}/auth/none:v1")
