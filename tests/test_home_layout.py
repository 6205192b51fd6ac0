"""Nothing but the core writes in the polyhub home, outside each plugin's own storage folder.

Every installed plugin's demo hub is served on 127.0.0.1, its model loaded and
its source listed, into a fresh home; then every file of the home must lie in a
folder the core owns, or under ``plugins/<name>/`` for a registered scheme or
runtime ``name``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# The top-level entries of a home the core writes (see polyhub._cache's layout).
CORE_OWNED = frozenset(
    {
        "CACHEDIR.TAG",
        "blobs",
        "stat",
        "tmp",
        "locks",
        "urls",
        "index",
        "extracted",
        "git",
        "views",
        "names",
        "trusted_repos",
        "bundles",
    }
)

_SCRIPT = r"""
import sys, warnings
from pathlib import Path

warnings.simplefilter("ignore")
import polyhub
from polyhub import _config as config
from polyhub._demo import _env, serve_directory
from polyhub._plugins import default_plugins

config.set_dir(Path(sys.argv[1]))
hubs = Path(sys.argv[2])
plugins = default_plugins()
with serve_directory(hubs) as base:
    for impl in sorted(plugins.hook.polyhub_demo_build.get_hookimpls(), key=lambda i: i.plugin_name):
        folder = hubs / impl.plugin_name
        folder.mkdir()
        case = impl.function(directory=folder)
        if case is None:
            continue
        env = {
            k: v.format(base_url=f"{base}/{impl.plugin_name}", directory=folder)
            for k, v in case.env.items()
        }
        with _env(env):
            model = polyhub.load(case.address, **case.options)
            case.run(model)
            scheme, path = case.address.split(":", 1)
            # MegEngine's demo names its repository in the address; MindSpore's hub
            # folder is served over HTTP, which lists nothing, so it is listed as a folder.
            filters = {
                "megengine": {"repo": path.rsplit("/", 1)[0]},
                "mindspore": {"hub": str(folder)},
            }.get(scheme, {})
            try:
                polyhub.list_models(scheme, **filters)
            except polyhub.UnsupportedError:
                pass  # a source that does not list
        print("LOADED", impl.plugin_name, scheme)
print("NAMES", *sorted({*plugins.sources, *plugins.runtimes}))
"""


def stray_files(home: Path, names: set[str]) -> list[str]:
    """Files of ``home`` outside the core's folders and the registered plugins' storage."""
    stray = []
    for path in sorted(home.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        rel = path.relative_to(home).parts
        if rel[0] == "plugins":
            if len(rel) < 3 or rel[1] not in names:
                stray.append("/".join(rel))
        elif rel[0] not in CORE_OWNED:
            stray.append("/".join(rel))
    return stray


def test_every_plugin_writes_only_in_its_storage_folder(tmp_path: Path) -> None:
    home = tmp_path / "home"
    hubs = tmp_path / "hubs"
    hubs.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLYHUB_")}
    env["POLYHUB_MIRRORS"] = "https://=http://127.0.0.1:9/unreachable/"  # loopback only
    env["POLYHUB_DISABLE_PROGRESS_BARS"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(home), str(hubs)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    loaded = [line.split()[1:] for line in done.stdout.splitlines() if line.startswith("LOADED")]
    names = set(
        next(line for line in done.stdout.splitlines() if line.startswith("NAMES")).split()[1:]
    )
    assert loaded, done.stdout
    assert any(p.is_file() for p in (home / "blobs").rglob("*"))
    assert stray_files(home, names) == []
    if ["mindspore", "mindspore"] in loaded:
        # The MindSpore card index is kept in its storage folder.
        assert list((home / "plugins" / "mindspore").rglob("*.marshal"))
