"""Warm ``polyhub.load`` of a cached CKPT and MindIR against the direct MindSpore calls.

Run: .venv/bin/python benchmarks/mindspore_warm_load.py [--mib 64] [--runs 7]

A folder hub holds two cards of one network (a stack of dense layers, about
``--mib`` MiB of float32 weights): one with a CKPT asset and a code repository
(a local git repo with ``mindspore_hub_conf.py``), one with a MindIR asset.
The first load of each fills the cache (not timed). Then, alternating so that
drift is shared, each run times

* CKPT: ``polyhub.load`` (card, plan, cache lookup, content detection, trust,
  ``create_network`` from the cached checkout, ``load_checkpoint``,
  ``load_param_into_net``) against building the same network class directly
  plus ``load_checkpoint`` + ``load_param_into_net`` on the same cached file;
* MindIR: ``polyhub.load`` against ``nn.GraphCell(mindspore.load(file))``.

Prints the medians and their ratios. Target: overhead at most 5%.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NET = """\
from mindspore import nn


class BigNet(nn.Cell):
    def __init__(self, side=1024, depth=4):
        super().__init__()
        self.layers = nn.SequentialCell([nn.Dense(side, side) for _ in range(depth)])

    def construct(self, x):
        return self.layers(x)
"""
CONF = """\
import src.net

def create_network(name, *args, **kwargs):
    return src.net.BigNet(*args, **kwargs)
"""


def git(cwd: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@x",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@x",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    side, depth = 1024, max(1, round(args.mib * 2**20 / (1024 * 1024 * 4)))

    tmp = Path(tempfile.mkdtemp(prefix="ms-bench-"))
    os.environ["POLYHUB_HOME"] = str(tmp / "home")
    os.environ["POLYHUB_DISABLE_PROGRESS_BARS"] = "1"
    import mindspore
    import numpy as np
    import polyhub
    from mindspore import nn
    from polyhub_mindspore.demo import card_text, sha256_of

    repo = tmp / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "__init__.py").write_text("")
    (repo / "src" / "net.py").write_text(NET)
    (repo / "mindspore_hub_conf.py").write_text(CONF)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "net")

    spec = importlib.util.spec_from_file_location("bench_bignet", repo / "src" / "net.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_bignet"] = module
    spec.loader.exec_module(module)
    net = module.BigNet(side, depth)
    files = tmp / "files"
    files.mkdir()
    mindspore.save_checkpoint(net, str(files / "big.ckpt"))
    mindspore.export(
        net,
        mindspore.Tensor(np.ones((1, side), np.float32)),
        file_name=str(files / "big"),
        file_format="MINDIR",
    )
    hub = tmp / "hub" / "mshub_res" / "assets" / "mindspore" / "2.10"
    hub.mkdir(parents=True)
    for fmt in ("ckpt", "mindir"):
        path = files / f"big.{fmt}"
        link = f"file://{repo}" if fmt == "ckpt" else ""
        (hub / f"big_{fmt}.md").write_text(
            card_text(name="BigNet", assets=[(fmt, path.as_uri(), sha256_of(path))], repo_link=link)
        )
    os.environ["POLYHUB_MINDSPORE_HUB"] = str(tmp / "hub")
    os.environ["POLYHUB_TRUSTED_REPOS"] = f"file://{repo}"
    options = {"device": "cpu", "side": side, "depth": depth}

    polyhub.load("mindspore:mindspore/2.10/big_ckpt", **options)  # fills the cache
    polyhub.load("mindspore:mindspore/2.10/big_mindir", device="cpu")
    home = Path(polyhub.get_dir())
    # The cache hands loads each file under its asset's name (<home>/names/...).
    ckpt_blob = next((home / "names").rglob("*.ckpt"))
    mindir_blob = next((home / "names").rglob("*.mindir"))
    mb = sum(p.stat().st_size for p in (ckpt_blob,)) / 2**20

    def direct_ckpt() -> None:
        n = module.BigNet(side, depth)
        mindspore.load_param_into_net(n, mindspore.load_checkpoint(str(ckpt_blob)))

    def direct_mindir() -> None:
        nn.GraphCell(mindspore.load(str(mindir_blob)))

    def timed(fn) -> float:  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    results: dict[str, list[float]] = {
        k: [] for k in ("ph_ckpt", "ms_ckpt", "ph_mindir", "ms_mindir")
    }
    for _ in range(args.runs):
        results["ph_ckpt"].append(
            timed(lambda: polyhub.load("mindspore:mindspore/2.10/big_ckpt", **options))
        )
        results["ms_ckpt"].append(timed(direct_ckpt))
        results["ph_mindir"].append(
            timed(lambda: polyhub.load("mindspore:mindspore/2.10/big_mindir", device="cpu"))
        )
        results["ms_mindir"].append(timed(direct_mindir))
    med = {k: statistics.median(v) * 1000 for k, v in results.items()}
    print(
        f"model: {depth} x Dense({side},{side}), checkpoint {mb:.0f} MiB, {args.runs} runs, medians"
    )
    for fmt in ("ckpt", "mindir"):
        ratio = med[f"ph_{fmt}"] / med[f"ms_{fmt}"]
        verdict = "OK" if ratio <= 1.05 else "over the 5% target"
        print(
            f"{fmt:7s} polyhub.load {med[f'ph_{fmt}']:8.1f} ms   direct MindSpore {med[f'ms_{fmt}']:8.1f} ms"
            f"   ratio {ratio:.3f} ({verdict})"
        )


if __name__ == "__main__":
    main()
