"""Run in a fresh interpreter by :func:`polyhub_conformance.harness.probe_plugin`.

Imports a plugin, registers it in a fresh plugin manager, optionally runs
format detection on sample files, and prints one JSON line: the framework
modules that appeared in ``sys.modules`` meanwhile, registration failures and
detection results.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from pathlib import Path
from typing import Any


def _load(spec: str) -> object:
    module_name, _, attr = spec.partition(":")
    module = importlib.import_module(module_name)
    if not attr:
        return module
    if attr.endswith("()"):
        obj: Any = module
        for part in attr[:-2].split("."):
            obj = getattr(obj, part)
        return obj()
    return getattr(module, attr)


def main(argv: list[str]) -> int:
    request = json.loads(argv[0])
    frameworks = set(request["frameworks"])
    # The core itself is imported first: we judge the plugin, not the core.
    from polyhub.testing import plugin_manager

    before = set(sys.modules)
    out: dict[str, Any] = {"new_modules": [], "failed": [], "detected": {}, "error": None}
    try:
        plugin = _load(request["plugin"])
        plugins = plugin_manager(("plugin-under-test", plugin))
        out["failed"] = [f"{r.name}: {r.error}" for r in plugins.failed]
        for name, path in request["samples"].items():
            p = Path(path)
            head = p.read_bytes()[:4096] if p.is_file() else b""
            out["detected"][name] = plugins.hook.polyhub_format_detect(path=p, head=head)
    except BaseException:
        out["error"] = traceback.format_exc()
    new = {m.split(".")[0] for m in set(sys.modules) - before}
    out["new_modules"] = sorted(new & frameworks)
    print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
