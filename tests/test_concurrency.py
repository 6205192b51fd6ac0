"""Two processes loading the same model at once: one download, both succeed (scenario C1)."""

from __future__ import annotations

import hashlib
import multiprocessing
import random
from pathlib import Path

import pytest


def _fetch(home: str, url: str, sha256: str, size: int, queue: multiprocessing.Queue) -> None:
    import os

    os.environ["POLYHUB_HOME"] = home
    os.environ["POLYHUB_DISABLE_PROGRESS_BARS"] = "1"
    from polyhub._cache import Cache
    from polyhub._config import read_config

    try:
        path = Cache(read_config()).fetch(url, sha256=sha256, size=size)
        queue.put(("ok", hashlib.sha256(Path(path).read_bytes()).hexdigest()))
    except Exception as exc:  # reported to the parent, which fails the test
        queue.put(("error", repr(exc)))


@pytest.mark.parametrize("workers", [2, 4])
def test_stampede_downloads_once(home, hub, leftovers, workers):
    data = random.Random(7).randbytes(8 * 1024 * 1024)
    url = hub.add("big.bin", data)
    digest = hashlib.sha256(data).hexdigest()
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_fetch, args=(str(home), url, digest, len(data), queue))
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert results == [("ok", digest)] * workers
    full_bodies = [h for h in hub.gets("big.bin") if "Range" not in h]
    assert len(full_bodies) == 1
    assert leftovers(home) == []
