"""``list_models`` of the real MegEngine/Models (94 entrypoints), polyhub only, warm in one process.

Run: .venv/bin/python benchmarks/megengine_list_real.py [--runs 200]

Needs ``../shared/realdata/repos/MegEngine-Models.bundle``; served as a local git
remote through ``POLYHUB_MIRRORS`` (the address stays ``megengine/models``).
Upstream ``megengine.hub.list`` cannot import this hubconf.py here (it needs ftfy,
regex... at module level), so the comparison with upstream is in
``megengine_list.py`` on a repository of the same shape. The baseline printed
here, measured alternating in the same run, is a floor any listing pays: the
``os.stat`` of the checkout's hubconf.py and a list of 94 names.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

BUNDLE = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "realdata" / "repos"
) / "MegEngine-Models.bundle"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    runs = parser.parse_args().runs
    if not BUNDLE.exists():
        raise SystemExit(f"{BUNDLE} is absent")
    tmp = Path(tempfile.mkdtemp(prefix="polyhub-bench-mge-real-"))
    remote = tmp / "github.com" / "megengine" / "models.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(BUNDLE), str(remote)], check=True)
    os.environ["POLYHUB_HOME"] = str(tmp / "home")
    os.environ["POLYHUB_MIRRORS"] = f"https://github.com={(tmp / 'github.com').as_uri()}"
    import polyhub

    start = time.perf_counter()
    cards = polyhub.list_models("megengine", repo="megengine/models")
    cold = time.perf_counter() - start
    hubconf = Path(cards[0].file or "")
    names = [c.name for c in cards]
    listing, floor = [], []
    for _ in range(runs):
        t = time.perf_counter()
        polyhub.list_models("megengine", repo="megengine/models")
        listing.append(time.perf_counter() - t)
        t = time.perf_counter()
        hubconf.stat()
        list(names)
        floor.append(time.perf_counter() - t)
    m = statistics.median
    print(
        f"{len(cards)} entrypoints; first listing (git clone + static read): {cold * 1000:.0f} ms"
    )
    print(f"floor (stat hubconf.py + copy 94 names)      : {m(floor) * 1000:7.3f} ms")
    print(
        f"warm list_models, same process (median of {runs}): {m(listing) * 1000:7.3f} ms  "
        f"ratio to floor {m(listing) / m(floor):.0f}"
    )


if __name__ == "__main__":
    main()
