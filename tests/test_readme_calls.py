"""The README's three calls, as written, against the real upstream hubs (issue 8's "done when").

::

    polyhub.load("onnx:mnist", opset=8)
    polyhub.load("mindspore:ascend/1.0/alexnet_v1_cifar10", num_classes=10)
    polyhub.load("megengine:megengine/models/resnet18", pretrained=True)

Each hub is the real one, served on 127.0.0.1 by the root ``conftest.py``'s
``realhubs`` at its real URL's path, and reached with the default addresses
through ``POLYHUB_MIRRORS``:

* MegEngine/Models at ``https://github.com/megengine/models.git`` (the whole real
  repository, ``master``), its resnet18 weights at the URL its own
  ``@hub.pretrained`` names (``https://data.megengine.org.cn/models/weights/...``);
* the MindSpore hub at ``https://gitee.com/mindspore/hub.git`` (every real branch:
  the legacy card lives on ``r1.6``), the model code at
  ``https://gitee.com/mindspore/models.git`` (the card's ``repo-link``), the
  checkpoint at the card's ``asset-link`` on ``download.mindspore.cn``;
* the ONNX Model Zoo manifest at
  ``https://raw.githubusercontent.com/onnx/models/main/ONNX_HUB_MANIFEST.json``, the
  model at the Hugging Face mirror's path of its ``model_path``, and at GitHub's
  own paths what GitHub serves there since its LFS downloads ended: the real Git
  LFS pointer text.

The real weight files are not available, so ``readme_calls/make_models.py`` makes
them on CPU with the frameworks from the REAL networks (see its docstring). Where
a real hash names the real file, the served copy changes only that hash, and only
on the served copy: the MindSpore card's ``asset-sha256`` (a commit on the served
``r1.6`` branch) and the ONNX manifest's ``model_sha``/``model_bytes`` of the
entry loaded. MegEngine names no hash polyhub checks: the 8 hex digits in its
weight file names are not verified by ``megengine.hub`` nor by polyhub, so the
URL is served unchanged.

The calls run in ``readme_calls/run_calls.py``, one process per
``PYTHONHASHSEED`` in :data:`SEEDS` (importing repository code with namespace
packages once depended on the hash seed). Each process starts from an empty
``POLYHUB_HOME``: the cold path (clone, download, verify, import) is what a new
user meets and it is where every seed must pass; the three processes run side by
side, so the file costs about one cold run (imports of MindSpore and MegEngine,
a 47 MB and a 224 MB weight file) plus making the weights once per session.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent / "readme_calls"
SEEDS = ("0", "1", "12345")

# The real addresses the three default hubs and the real cards name.
MEGENGINE_REPO = "https://github.com/megengine/models.git"
MINDSPORE_HUB = "https://gitee.com/mindspore/hub.git"
MINDSPORE_MODELS = "https://gitee.com/mindspore/models.git"
ONNX_MANIFEST = "https://raw.githubusercontent.com/onnx/models/main/ONNX_HUB_MANIFEST.json"
ONNX_FILES = "https://huggingface.co/onnxmodelzoo/legacy_models/resolve/main"
GITHUB_FILES = (
    "https://raw.githubusercontent.com/onnx/models/main",
    "https://media.githubusercontent.com/media/onnx/models/main",
)

LEGACY_CARD = "mshub_res/assets/mindspore/ascend/1.0/alexnet_v1_cifar10.md"
# Where the card's code lives today: its repo-link names models' master at
# official/cv/alexnet, which moved to research/cv/Alexnet there.
ALEXNET_ON_MASTER = "research/cv/Alexnet"

# What each call's output is compared with (files written by make_models.py).
STEMS = {"onnx": "mnist", "mindspore": "alexnet", "megengine": "resnet18"}


def python_env(work: Path) -> dict[str, str]:
    """The environment for the processes this file starts, polyhub's settings left out.

    Where the environment forbids bytecode files (``PYTHONDONTWRITEBYTECODE``), each
    process would compile MindSpore's and MegEngine's ~2,000 modules from source
    again (10-20 s each); a cache folder of this session's takes them instead.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLYHUB_")}
    if env.pop("PYTHONDONTWRITEBYTECODE", None):
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    return env


def _git(*args: str, cwd: Path | None = None) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, env=env
    ).stdout


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ReadmeHubs:
    """The three real hubs, served; what the calls need to run and be checked.

    :ivar mirrors: the ``POLYHUB_MIRRORS`` value for the calls.
    :ivar models: the folder of inputs and expected outputs (``<stem>.input.npy``,
        ``<stem>.expected.npy``) that ``make_models.py`` wrote.
    :ivar env: the environment for a process that runs the calls (no ``POLYHUB_*``).
    """

    mirrors: str
    models: Path
    env: dict[str, str]


def _mnist_entry(manifest: list[dict[str, Any]]) -> dict[str, Any]:
    (entry,) = (e for e in manifest if e["model"].lower() == "mnist" and e["opset_version"] == 8)
    return entry


def serve_readme_hubs(realhubs: Any, work: Path) -> ReadmeHubs:
    """Serve the three real hubs on ``realhubs``, with weights made from the real networks.

    ``work`` is an empty folder for checkouts and the made weights.
    """
    from polyhub_megengine.hubconf import read_hubconf

    models = work / "models"

    megengine = realhubs.worktree(
        realhubs.serve_repo("MegEngine-Models.bundle", MEGENGINE_REPO), "master", work / "mge"
    )
    ms_hub = realhubs.worktree(
        realhubs.serve_repo("mindspore-hub.bundle", MINDSPORE_HUB), "r1.6", work / "mshub"
    )
    ms_models = realhubs.worktree(
        realhubs.serve_repo("mindspore-models-subset.bundle", MINDSPORE_MODELS),
        "master",
        work / "msmodels",
    )
    alexnet = ms_models / ALEXNET_ON_MASTER
    assert (alexnet / "mindspore_hub_conf.py").is_file(), "the real AlexNet code moved again"

    # The real ONNX manifest and LFS pointers, as onnx/models' main holds them.
    pointers = work / "onnx-models.git"
    _git(
        "clone",
        "--quiet",
        "--bare",
        str(realhubs.data / "repos/onnx-models-pointers.bundle"),
        str(pointers),
    )
    manifest = json.loads(_git("--git-dir", str(pointers), "show", "main:ONNX_HUB_MANIFEST.json"))
    mnist = _mnist_entry(manifest)

    env_base = python_env(work)
    env = {**env_base, "MNIST_PORTS": json.dumps(mnist["metadata"]["io_ports"])}
    made = subprocess.run(
        [sys.executable, str(HERE / "make_models.py"), str(models), str(megengine), str(alexnet)],
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert made.returncode == 0, made.stderr[-3000:]

    # MegEngine: the weights at the URL the real code's @hub.pretrained names.
    entry = read_hubconf(megengine).entry("resnet18")
    assert entry is not None and entry.pretrained_url is not None
    assert entry.pretrained_url.startswith("https://data.megengine.org.cn/models/weights/")
    realhubs.put(entry.pretrained_url, (models / "resnet18.pkl").read_bytes())

    # MindSpore: the checkpoint at the card's asset-link; the card on the served r1.6
    # names its sha256, as the real card names the real file's.
    card_file = ms_hub / LEGACY_CARD
    card = card_file.read_text(encoding="utf-8")
    (link,) = re.findall(r"asset-link:\s*<([^>]+)>", card)
    (real_sha,) = re.findall(r"asset-sha256:\s*([0-9a-f]{64})", card)
    ckpt = (models / "alexnet.ckpt").read_bytes()
    realhubs.put(link, ckpt)
    card_file.write_text(card.replace(real_sha, _sha256(ckpt)), encoding="utf-8")
    realhubs.push(
        ms_hub,
        "tests: asset-sha256 of the checkpoint served here (made from the real AlexNet), "
        "not of the real file",
    )

    # ONNX: the model at the Hugging Face mirror's path; the manifest names its hash and
    # size; GitHub's paths serve the real Git LFS pointer, as GitHub does today.
    onnx_bytes = (models / "mnist.onnx").read_bytes()
    path = mnist["model_path"]
    realhubs.put(f"{ONNX_FILES}/{path}", onnx_bytes)
    pointer = _git("--git-dir", str(pointers), "show", f"main:{path}").encode()
    # GitHub serves the zoo's Git LFS pointers, never the files, since 2025-07-01.
    realhubs.serve_onnx_pointers()
    for github in GITHUB_FILES:
        realhubs.put(f"{github}/{path}", pointer)
    mnist["metadata"]["model_sha"] = _sha256(onnx_bytes)
    mnist["metadata"]["model_bytes"] = len(onnx_bytes)
    realhubs.put(ONNX_MANIFEST, json.dumps(manifest, indent=4).encode())

    return ReadmeHubs(mirrors=realhubs.mirrors, models=models, env=env_base)


@pytest.fixture(scope="session")
def readme_hubs(realhubs: Any, tmp_path_factory: pytest.TempPathFactory) -> ReadmeHubs:
    """The three real hubs, served once a session (see :func:`serve_readme_hubs`)."""
    return serve_readme_hubs(realhubs, tmp_path_factory.mktemp("readme-hubs"))


@pytest.fixture(scope="session")
def seed_runs(
    readme_hubs: ReadmeHubs, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{seed: {call: result}}``: one cold process per seed, all three side by side."""
    work = tmp_path_factory.mktemp("readme-runs")
    base = readme_hubs.env
    running = {}
    for seed in SEEDS:
        env = {
            **base,
            "PYTHONHASHSEED": seed,
            "POLYHUB_HOME": str(work / f"home-{seed}"),
            "POLYHUB_MIRRORS": readme_hubs.mirrors,
            "POLYHUB_DISABLE_PROGRESS_BARS": "1",
        }
        # Files, not pipes: a process never waits for this one to read another's.
        with open(work / f"out-{seed}", "w") as stdout, open(work / f"err-{seed}", "w") as stderr:
            running[seed] = subprocess.Popen(
                [sys.executable, str(HERE / "run_calls.py"), str(readme_hubs.models)],
                env=env,
                stdout=stdout,
                stderr=stderr,
            )
    runs: dict[str, dict[str, dict[str, Any]]] = {}
    try:
        for seed, proc in running.items():
            proc.wait(timeout=400)
            err = (work / f"err-{seed}").read_text(errors="replace")
            results: dict[str, dict[str, Any]] = {}
            for line in (work / f"out-{seed}").read_text().splitlines():
                if line.startswith("{"):
                    item = json.loads(line)
                    results[item.get("call", "leaked")] = item
            assert "leaked" in results, f"PYTHONHASHSEED={seed}: the run died:\n{err[-3000:]}"
            runs[seed] = results
    finally:
        for proc in running.values():  # none outlives a failed or timed-out wait
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return runs


def _polyhub_warnings(result: dict[str, Any]) -> list[str]:
    return [w for w in result["warnings"] if w.startswith("PolyhubWarning: ")]


@pytest.mark.timeout(900)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("call", list(STEMS))
def test_readme_call_loads_and_runs(
    call: str, seed: str, seed_runs: dict[str, dict[str, dict[str, Any]]], readme_hubs: ReadmeHubs
) -> None:
    result = seed_runs[seed][call]
    assert result["ok"], f"PYTHONHASHSEED={seed}: {result['error']}"
    expected = np.load(readme_hubs.models / f"{STEMS[call]}.expected.npy")
    # The output of the network with the served weights: they were loaded, into the
    # real network, and it ran.
    np.testing.assert_allclose(np.asarray(result["output"]), expected, rtol=1e-4, atol=1e-4)
    # Any other warning was an error in the run; polyhub's own are recorded, and the
    # headline calls give none (so a suite with warnings as errors can make them).
    assert _polyhub_warnings(result) == []


@pytest.mark.timeout(900)
@pytest.mark.parametrize("seed", SEEDS)
def test_readme_calls_leave_no_repository_modules(
    seed: str, seed_runs: dict[str, dict[str, dict[str, Any]]]
) -> None:
    # Two repositories with top-level packages (official, src) ran in one process.
    assert seed_runs[seed]["leaked"]["leaked"] == []
