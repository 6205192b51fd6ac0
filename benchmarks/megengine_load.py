"""Warm ``polyhub.load(..., pretrained=True)`` against the bare minimum on the same cached files.

Baseline (measured in the same run): the repository's hubconf module already
imported, the undecorated entrypoint called, and ``megengine.load`` +
``load_state_dict`` on the very weights file polyhub cached. polyhub adds: the
card (static hubconf lookup), the pinned checkout lookup, trust, the cache
lookup, the allow-list unpickler and device handling. Target: at most 5%.

Run: .venv/bin/python benchmarks/megengine_load.py
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# A ResNet-18-sized model (11.7 M parameters, ~45 MB of weights), so the
# measurement is about loading a real-sized model, not about Python overhead alone.
MODEL = '''
import megengine.functional as F
import megengine.module as M
from megengine import hub


class Big(M.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = M.Linear(2048, 2048)
        self.fc2 = M.Linear(2048, 2048)
        self.fc3 = M.Linear(2048, 1536)
        self.fc4 = M.Linear(1536, 1000)

    def forward(self, x):
        return self.fc4(F.relu(self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))))


@hub.pretrained("https://data.megengine.org.cn/models/weights/big_0000.pkl")
def big(**kwargs):
    """A ResNet-18-sized MLP."""
    return Big(**kwargs)
'''


def main(repeats: int = 15) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="polyhub-bench-"))
    os.environ["POLYHUB_HOME"] = str(tmp / "home")
    os.environ["POLYHUB_DISABLE_PROGRESS_BARS"] = "1"
    import megengine
    import numpy as np
    import polyhub
    from polyhub._demo import serve_directory
    from polyhub_megengine.demo import git_commit_all

    work = tmp / "work"
    (work / "official").mkdir(parents=True)
    (work / "official" / "__init__.py").write_text("")
    (work / "official" / "big.py").write_text(MODEL)
    (work / "hubconf.py").write_text("from official.big import Big, big\n")
    commit = git_commit_all(work, "bench")
    import subprocess

    bare = tmp / "git" / "megengine" / "models.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    served = tmp / "served" / "models" / "weights"
    served.mkdir(parents=True)
    namespace: dict[str, object] = {}
    exec(MODEL.replace("@hub.pretrained", "# "), namespace)
    net = namespace["Big"]()  # type: ignore[operator]
    rng = np.random.default_rng(0)
    megengine.save(
        {k: rng.standard_normal(v.shape).astype("float32") for k, v in net.state_dict().items()},
        str(served / "big_0000.pkl"),
    )
    size = (served / "big_0000.pkl").stat().st_size
    with serve_directory(tmp / "served") as base:
        os.environ["POLYHUB_MIRRORS"] = (
            f"https://github.com/megengine/={(tmp / 'git' / 'megengine').as_uri()}/,"
            f"https://data.megengine.org.cn/={base}/"
        )
        branch = "megengine:megengine/models/big"
        pinned = f"megengine:megengine/models/big@{commit}"
        t0 = time.perf_counter()
        polyhub.load(branch, pretrained=True, device="auto")
        cold = time.perf_counter() - t0

    # Baseline: the same module objects and the same cached file, no polyhub.
    from polyhub._repocode import _imports

    ((entry),) = _imports.values()
    module = entry.module
    blobs = [p for p in (Path(os.environ["POLYHUB_HOME"]) / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == 1, blobs
    inner = module.big.__wrapped__

    def baseline() -> object:
        model = inner()
        model.load_state_dict(megengine.load(str(blobs[0])))
        return model

    def pinned_load() -> object:
        return polyhub.load(pinned, pretrained=True)

    def offline_load() -> object:
        os.environ["POLYHUB_OFFLINE"] = "1"
        try:
            return polyhub.load(branch, pretrained=True)
        finally:
            os.environ["POLYHUB_OFFLINE"] = "0"

    def branch_load() -> object:
        return polyhub.load(branch, pretrained=True)

    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        cProfile.runctx("pinned_load()", globals(), locals(), str(tmp / "prof"))
        pstats.Stats(str(tmp / "prof")).sort_stats("cumulative").print_stats(25)
    # Interleaved, so drift on a busy machine hits every variant alike.
    variants = {
        "baseline": baseline,
        "pinned": pinned_load,
        "offline": offline_load,
        "branch": branch_load,
    }
    runs: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            gc.collect()
            t = time.perf_counter()
            fn()
            runs[name].append(time.perf_counter() - t)
    b, p_pinned, p_offline, p_branch = (statistics.median(runs[k]) for k in variants)
    print(
        f"weights {size / 1e6:.1f} MB, {repeats} runs each, median; cold first load {cold * 1000:.0f} ms"
    )
    print(f"baseline entrypoint + megengine.load      : {b * 1000:8.1f} ms")
    for label, value in (
        ("polyhub.load @commit (pinned)", p_pinned),
        ("polyhub.load branch, POLYHUB_OFFLINE=1", p_offline),
        ("polyhub.load branch (last resolution)", p_branch),
    ):
        print(
            f"{label:<42}: {value * 1000:8.1f} ms  ratio {value / b:.3f} (overhead {100 * (value / b - 1):+.1f}%)"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
