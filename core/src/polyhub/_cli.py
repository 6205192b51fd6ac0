"""The ``polyhub`` command line.

Exit codes: 0 ok, 1 a check or a load failed, 2 a usage error (bad arguments,
a bad address or option), 130 interrupted, 141 the reader of its output went
away (``polyhub list | head``), as a shell tool killed by SIGPIPE.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = ["build_parser", "iter_commands", "main"]

log = logging.getLogger(__name__)

# Start-up chatter of the frameworks (MegEngine's logger, MindSpore's glog and its
# Ascend probe) that a user of the command did not ask for; -v lets it through.
_QUIET_FRAMEWORKS = {"MEGENGINE_LOGGING_LEVEL": "ERROR", "GLOG_v": "3"}


class UsageError(Exception):
    """A mistake in the command line itself: reported in one line, exit status 2."""


def _options(pairs: Sequence[str]) -> dict[str, Any]:
    from ._address import _coerce

    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"option {pair!r} is not KEY=VALUE (e.g. -O opset=8)")
        result[key.strip()] = _coerce(value)
    return result


_VERIFY_HELP = (
    "re-hash cached files before use (also POLYHUB_VERIFY=1); otherwise their size and "
    "mtime are compared with those recorded when they were cached"
)


def _version() -> str:
    from importlib import metadata

    try:
        version = metadata.version("polyhub")
    except metadata.PackageNotFoundError:  # running from a source tree
        from . import __version__ as version
    return f"polyhub {version} (Python {sys.version.split()[0]})"


class _VersionAction(argparse.Action):
    """``--version``, looked up when asked: importlib.metadata costs every other command
    (``--help`` included) a few milliseconds when the parser is built."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        print(_version())  # on stdout, as argparse's own version action does
        parser.exit()


def _add_options(
    s: argparse.ArgumentParser, text: str = "an address option or model argument"
) -> None:
    s.add_argument("-O", "--option", action="append", default=[], metavar="KEY=VALUE", help=text)


def build_parser(commands: bool | Sequence[str] = True) -> argparse.ArgumentParser:
    """The argument parser of ``polyhub``; the CLI reference in the docs is generated from it.

    :param commands: which commands of installed packages (the ``polyhub.commands``
        entry points, see :func:`add_contributed`) to add after the builtins:
        ``True`` all, ``False`` none, or those of the given names.
    """
    p = argparse.ArgumentParser(
        prog="polyhub",
        description="Load pre-trained models from any model hub into any runtime.",
        epilog="Exit codes: 0 ok, 1 a check or load failed, 2 usage error. "
        "POLYHUB_* environment variables configure the cache, network and trust.",
    )
    p.add_argument(
        "--version", action=_VersionAction, help="show the version of polyhub and Python, and exit"
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="say more: debug messages, and the frameworks' own start-up logs",
    )
    p.add_argument(
        "-q",
        "--quiet",
        action="count",
        default=0,
        help="say less: only warnings (-qq: only errors)",
    )
    p.add_argument("--offline", action="store_true", default=None, help="never touch the network")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("list", help="list models of one source or of all")
    s.add_argument("scheme", nargs="?", help="the source (onnx, mindspore, ...); all when omitted")
    s.add_argument("--tag", action="append", dest="tags", help="keep models with any of these tags")
    s.add_argument("--model", help="keep models with this name (case-insensitive)")
    _add_options(s, "a filter of the source (e.g. hub=URL, opset=8)")
    s.add_argument("--json", action="store_true", help="print the cards as JSON")

    s = sub.add_parser("info", help="describe a model without downloading it")
    s.add_argument("address", help="scheme:path[@revision][?key=value...]")
    _add_options(s)
    s.add_argument("--json", action="store_true", help="print the card as JSON")

    s = sub.add_parser("help", help="a model's help text")
    s.add_argument("address", help="scheme:path[@revision][?key=value...]")
    _add_options(s)

    s = sub.add_parser("download", help="download and verify a model into the cache")
    s.add_argument("address", help="scheme:path[@revision][?key=value...]")
    s.add_argument(
        "--with-test-data", action="store_true", help="also fetch and extract the test data"
    )
    s.add_argument(
        "--local-dir",
        type=Path,
        metavar="DIR",
        help="also put the files in DIR under their own names (copies, never links into the cache)",
    )
    s.add_argument("--device", default="auto", help="pick the file for this device")
    s.add_argument("--force-reload", action="store_true", help="ask the hub again")
    s.add_argument("--verify", action="store_true", default=None, help=_VERIFY_HELP)
    _add_options(s)

    s = sub.add_parser("load", help="load a model and say what was loaded where")
    s.add_argument("address", help="scheme:path[@revision][?key=value...]")
    s.add_argument("--device", default="auto", help="auto, cpu, gpu[:N] or ascend[:N]")
    s.add_argument("--runtime", help="a runtime by name instead of the planned one")
    s.add_argument(
        "--trust-repo", action="store_true", help="trust the model's code repository (remembered)"
    )
    s.add_argument("--force-reload", action="store_true", help="ask the hub again")
    s.add_argument("--verify", action="store_true", default=None, help=_VERIFY_HELP)
    _add_options(s)

    s = sub.add_parser("cache", help="inspect and clean the cache")
    cs = s.add_subparsers(dest="cache_command", required=True, metavar="ACTION")
    r = cs.add_parser("ls", help="everything polyhub keeps on disk, with sizes and last use")
    r.add_argument("--json", action="store_true", help="print the items and total as JSON")
    cs.add_parser("verify", help="re-hash every cached file")
    r = cs.add_parser(
        "rm", help="remove cached files by sha256 prefix (first-seen hashes are kept: see forget)"
    )
    r.add_argument("sha256", nargs="+", help="a sha256 or a prefix of at least 8 hex digits")
    r.add_argument("-y", "--yes", action="store_true", help="do not ask before removing")
    r = cs.add_parser(
        "forget",
        help="drop the first-seen sha256 recorded for a URL, or for every unhashed "
        "file of a model ADDRESS; the next download records it again",
    )
    r.add_argument("target", nargs="+", metavar="URL|ADDRESS")
    r = cs.add_parser(
        "prune", help="remove stale temporary files, and what no model used for a given age"
    )
    r.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    r.add_argument(
        "--older-than",
        metavar="AGE",
        help="also remove files, checkouts and extracted data unused for AGE (30d, 12h, 90m, 45s)",
    )

    s = sub.add_parser("trust", help="manage repositories trusted to run code")
    ts = s.add_subparsers(dest="trust_command", required=True, metavar="ACTION")
    ts.add_parser("ls", help="trusted repositories, each with where its trust comes from")
    for action, text in (("add", "trust a repository"), ("rm", "stop trusting a repository")):
        t = ts.add_parser(action, help=text)
        t.add_argument(
            "repo", help="host/owner/name, host/owner/ for a whole owner, or the repository's URL"
        )

    sub.add_parser("plugins", help="installed plugins, what they provide, and failures")
    s = sub.add_parser("validate", help="publishing checks for a card, manifest or hubconf repo")
    s.add_argument("path", type=Path, help="a card, manifest or repository folder")
    s = sub.add_parser("sha256", help="print the sha256 of files")
    s.add_argument("files", nargs="+", type=Path, metavar="FILE")
    sub.add_parser("demo", help="serve the embedded demo hubs on 127.0.0.1 and load from them")
    # -- beyond one machine: push, lock files, bundles (DESIGN.md section 10) --
    s = sub.add_parser("push", help="publish a model to oci://REGISTRY/REPO[:TAG]")
    s.add_argument("address")
    s.add_argument("target", help="oci://REGISTRY/REPO[:TAG]")
    s = sub.add_parser("lock", help="pin models, assets and code commits into a lock file")
    s.add_argument("addresses", nargs="+", metavar="ADDRESS")
    s.add_argument("-o", "--output", type=Path, default=Path("polyhub.lock"))
    s = sub.add_parser("sync", help="fetch everything a lock file names into the cache")
    s.add_argument("lockfile", type=Path)
    s = sub.add_parser("bundle", help="pack a lock file's models into a tar for offline machines")
    s.add_argument("lockfile", type=Path)
    s.add_argument("-o", "--output", type=Path, required=True)
    s = sub.add_parser("unbundle", help="unpack a bundle into the cache (verified)")
    s.add_argument("bundle", type=Path)
    s.add_argument("-o", "--lock-output", type=Path, help="where to write its lock file")

    # -v/-q also after the command (`polyhub download X -v`), as pip and git take them;
    # SUPPRESS keeps a command that does not repeat them from resetting the global ones.
    for _name, command in iter_commands(p):
        command.add_argument(
            "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="as polyhub -v"
        )
        command.add_argument(
            "-q", "--quiet", action="count", default=argparse.SUPPRESS, help="as polyhub -q"
        )
    if commands:
        # After the loop: a contributed command's options are its own (conformance
        # hands -v/-q to pytest).
        add_contributed(sub, None if commands is True else commands)
    return p


COMMANDS_GROUP = "polyhub.commands"
"""Entry-point group of commands other packages add to ``polyhub``.

Each entry point is named after its command and names a callable that takes
argparse's sub-parsers object, adds one sub-parser (``add_parser(name, help=...)``)
and returns the function that runs the command: ``(argparse.Namespace) -> int``,
the exit status. The core loads it only when that command is asked for (or the
whole reference is built), so an installed command costs other commands nothing.
"""

# Commands that other distributions add, for the message when one is missing.
_PROVIDED_BY = {"conformance": "polyhub-conformance"}


def add_contributed(sub: Any, names: Sequence[str] | None = None) -> list[str]:
    """Add the commands of the ``polyhub.commands`` entry points (``names`` only,
    when given) to the sub-parsers ``sub``; returns the names added.

    A command that fails to load is left out, as a broken plugin is: ``polyhub``
    keeps working, and asking for that command says it is unknown.
    """
    from importlib import metadata

    added: list[str] = []
    eps = sorted(metadata.entry_points(group=COMMANDS_GROUP), key=lambda e: e.name)
    for ep in eps:
        if (names is not None and ep.name not in names) or ep.name in sub.choices:
            continue  # not asked for, or a builtin (or an earlier entry point) has the name
        before = set(sub.choices)
        try:
            run = ep.load()(sub)
            if not callable(run):
                raise TypeError(f"{ep.value} returned {run!r}, not the command's function")
        except Exception as exc:  # one broken package must not break the command line
            logging.getLogger(__name__).debug("command %s failed to load: %s", ep.name, exc)
            for name in set(sub.choices) - before:  # half added: not listed, not runnable
                del sub.choices[name]
                sub._choices_actions[:] = [a for a in sub._choices_actions if a.dest != name]
            continue
        for name in sorted(set(sub.choices) - before):
            sub.choices[name].set_defaults(_polyhub_run=run)
            added.append(name)
    return added


def _listed_commands() -> dict[str, str]:
    """Name -> distribution of each ``polyhub.commands`` entry point, read from the
    installed ``*.dist-info/entry_points.txt`` files.

    For ``polyhub --help`` only: importlib.metadata (~20 ms) and the packages'
    imports are paid by the command that runs, not by listing it.
    """
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if not name.endswith(".dist-info"):
                continue
            try:
                with open(os.path.join(entry, name, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                continue
            if f"[{COMMANDS_GROUP}]" not in text:
                continue
            dist = name.removesuffix(".dist-info").rsplit("-", 1)[0].replace("_", "-")
            inside = False
            for line in text.splitlines():
                line = line.strip()
                if line.startswith("["):
                    inside = line == f"[{COMMANDS_GROUP}]"
                elif inside and "=" in line:
                    found.setdefault(line.split("=", 1)[0].strip(), dist)
    return found


def _command_of(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names (the first word not an option); ``None`` for help."""
    for arg in argv:
        if arg in ("-h", "--help"):
            return None
        if not arg.startswith("-"):
            return arg
    return None


def _parser_for(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser ``argv`` needs: a builtin command loads no contributed one, a
    contributed command only its own; help lists them all without loading them."""
    command = _command_of(argv)
    parser = build_parser(commands=False)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if command is not None and command in sub.choices:
        return parser
    if command is not None:
        if add_contributed(sub, [command]):
            return parser
        if command in _PROVIDED_BY:
            dist = _PROVIDED_BY[command]
            raise UsageError(
                f"the {command} command comes with {dist}, which is not installed "
                f"(pip install {dist})"
            )
    # Help, or a command nobody provides (argparse then says so and lists the others):
    # the contributed commands are listed by name, none is loaded.
    for name, dist in sorted(_listed_commands().items()):
        if name not in sub.choices and name != command:
            sub.add_parser(name, help=f"from {dist} (polyhub {name} --help)", add_help=False)
    return parser


def _card_line(card: Any) -> str:
    tags = ",".join(card.tags[:6])
    version = f" v{card.version}" if card.version else ""
    return f"{card.address}{version}  [{tags}]  {card.summary[:60]}".rstrip()


def _calling(args: argparse.Namespace, call: Callable[[], Any]) -> Any:
    """Run an API call; a plugin's TypeError/ValueError about ``-O`` options is a usage error."""
    from ._errors import PolyhubError

    try:
        return call()
    except PolyhubError:
        raise
    except (TypeError, ValueError) as exc:
        if not args.option:
            raise  # not the user's doing: a bug, and its traceback helps
        given = " ".join(f"-O {o}" for o in args.option)
        raise UsageError(f"{given}: {exc}") from None


def _run(args: argparse.Namespace) -> int:
    import polyhub

    cmd = args.command
    if cmd == "list":
        filters = _options(args.option)
        if args.tags:
            filters["tags"] = args.tags
        if args.model:
            filters["model"] = args.model
        cards = _calling(
            args, lambda: polyhub.list_models(args.scheme, offline=args.offline, **filters)
        )
        if args.json:
            print(json.dumps([c.to_dict() for c in cards], indent=1, default=str))
        else:
            for card in cards:
                print(_card_line(card))
            print(f"{len(cards)} models", file=sys.stderr)
        return 0
    if cmd == "info":
        options = _options(args.option)
        card = _calling(args, lambda: polyhub.info(args.address, offline=args.offline, **options))
        data = card.to_dict()
        if args.json:
            print(json.dumps(data, indent=1, default=str))
        else:
            for key, value in data.items():
                if value not in (None, "", [], {}):
                    shown = value if isinstance(value, str) else json.dumps(value, default=str)
                    print(f"{key}: {shown}")
        return 0
    if cmd == "help":
        options = _options(args.option)
        print(_calling(args, lambda: polyhub.help(args.address, offline=args.offline, **options)))
        return 0
    if cmd == "download":
        return _download(args)
    if cmd == "load":
        return _load(args)
    if cmd == "cache":
        return _cache(args)
    if cmd == "trust":
        return _trust(args)
    if cmd == "plugins":
        return _plugins()
    if cmd == "validate":
        if not args.path.exists():  # a typo, not a hub no plugin knows: as sha256 says
            raise UsageError(f"{args.path}: no such file or folder")
        problems = polyhub.validate(args.path)
        for problem in problems:
            print(problem)
        print(
            f"{args.path}: {len(problems)} problem(s)" if problems else f"{args.path}: ok",
            file=sys.stderr,
        )
        return 1 if problems else 0
    if cmd == "sha256":
        return _sha256(args.files)
    if cmd == "demo":
        from ._demo import run_demo

        return run_demo()
    if cmd in ("push", "lock", "sync", "bundle", "unbundle"):
        return _fleet(args)
    contributed = getattr(args, "_polyhub_run", None)
    if contributed is not None:  # a command of another package (polyhub.commands)
        return int(contributed(args))
    raise AssertionError(cmd)


def _fleet(args: argparse.Namespace) -> int:
    """``push``, ``lock``, ``sync``, ``bundle`` and ``unbundle`` (DESIGN.md section 10)."""
    from . import _bundle as bundle
    from . import _lockfile as lockfile
    from ._api import make_context
    from ._publish import push

    cmd = args.command
    context = make_context(offline=args.offline)
    if cmd == "push":
        print(push(args.address, args.target, context=context))
    elif cmd == "lock":
        lock = lockfile.create(args.addresses, context)
        lockfile.write(lock, args.output)
        print(f"{args.output}: {len(lock.models)} models", file=sys.stderr)
    elif cmd == "sync":
        paths = lockfile.sync(lockfile.read(args.lockfile), context)
        print(f"{args.lockfile}: {len(paths)} files in the cache", file=sys.stderr)
    elif cmd == "bundle":
        bundle.create(args.lockfile, args.output, context)
        print(args.output)
    else:
        print(bundle.extract(args.bundle, context, lock_output=args.lock_output))
    return 0


def _sha256(files: Sequence[Path]) -> int:
    from ._hashing import file_sha256

    for f in files:
        if f.is_dir():
            raise UsageError(f"{f} is a folder; sha256 hashes files")
        if not f.exists():
            raise UsageError(f"{f}: no such file")
    failed = 0
    for f in files:
        try:
            digest = file_sha256(f)
        except OSError as exc:
            print(f"polyhub: cannot read {f}: {exc.strerror or exc}", file=sys.stderr)
            failed += 1
            continue
        # Printed outside the try: a closed stdout (``| head``) is the reader leaving,
        # not a file that cannot be read, and ends the command as main() says.
        print(f"{digest}  {f}")
    return 1 if failed else 0


def _download(args: argparse.Namespace) -> int:
    import polyhub

    options = _options(args.option)
    path = _calling(
        args,
        lambda: polyhub.download(
            args.address,
            with_test_data=args.with_test_data,
            device=args.device,
            offline=args.offline,
            force_reload=args.force_reload,
            verify=args.verify,
            **options,
        ),
    )
    if args.local_dir is None:
        print(path)
        return 0
    from ._localdir import place

    name = None
    if not path.is_dir():
        card = polyhub.info(args.address, offline=True, **options)
        name = _asset_name(card, path)
    for placed in place(path, args.local_dir, name=name):
        print(placed)
    return 0


def _asset_name(card: Any, path: Path) -> str:
    """The name the hub gives the downloaded file (the cache names it by its sha256)."""
    for asset in card.assets:
        if asset.sha256 and asset.sha256.lower() == path.name:
            return str(asset.name)
    for asset in card.assets:
        if Path(asset.name).name == path.name:
            return str(asset.name)
    models = [a for a in card.assets if a.role == "model"]
    return str(models[0].name) if models else path.name


def _how_to_trust(message: str) -> str:
    # The library's advice names the Python argument; on the command line it is a flag.
    return message.replace("pass trust_repo=True", "pass --trust-repo")


def _load(args: argparse.Namespace) -> int:
    from ._api import load_detailed

    options = _options(args.option)
    done = _calling(
        args,
        lambda: load_detailed(
            args.address,
            device=args.device,
            runtime=args.runtime,
            offline=args.offline,
            trust_repo=True if args.trust_repo else None,
            force_reload=args.force_reload,
            verify=args.verify,
            **options,
        ),
    )
    card, chosen, model = done.card, done.plan, done.model
    print(f"address : {card.address}")
    for reason in chosen.reasons:
        print(f"plan    : {reason}")
    print(f"runtime : {chosen.runtime}")
    print(f"device  : {chosen.device}")
    print(f"format  : {chosen.format}")
    if done.path is not None:
        print(f"file    : {done.path}")
    for label, ports in (("input", card.inputs), ("output", card.outputs)):
        for port in ports:
            shape = list(port.shape) if port.shape else "?"
            print(f"{label:<8}: {port.name} {shape} {port.type}".rstrip())
    print(f"model   : {type(model).__module__}.{type(model).__qualname__}")
    return 0


def _human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError(size)


def _when(seconds: float) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds)) if seconds else "-"


def _confirm(question: str) -> bool:
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _cache(args: argparse.Namespace) -> int:
    from ._cache import Cache
    from ._config import read_config

    cache = Cache(read_config())
    action = args.cache_command
    if action == "ls":
        return _cache_ls(cache.root, as_json=args.json)
    if action == "verify":
        bad = cache.verify()
        for blob, actual in bad:
            print(f"CORRUPT {blob.path}: expected {blob.sha256}, actual {actual}")
        print(f"{len(cache.blobs())} files checked, {len(bad)} corrupt", file=sys.stderr)
        return 1 if bad else 0
    if action == "rm":
        return _cache_rm(cache, args.sha256, yes=args.yes)
    if action == "forget":
        return _forget(cache, args.target, offline=args.offline)
    if action == "prune":
        return _cache_prune(cache, args.older_than, dry_run=args.dry_run)
    raise AssertionError(action)


def _forget(cache: Any, targets: Sequence[str], *, offline: bool | None) -> int:
    import polyhub

    from ._downloader import is_local

    urls: list[str] = []
    for target in targets:
        if "://" in target or is_local(target):
            urls.append(target)
        else:  # a model address: every asset of its card that publishes no sha256
            card = polyhub.info(target, offline=offline)
            urls.extend(a.url for a in card.assets if a.sha256 is None)
    forgotten = 0
    for url in urls:
        sha256 = cache.forget(url)
        if sha256 is not None:
            forgotten += 1
            print(f"forgot {url} (first seen with sha256 {sha256 or '?'})")
    if not forgotten:
        print("no first-seen sha256 was recorded for that", file=sys.stderr)
    return 0 if forgotten else 1


def _cache_ls(home: Path, *, as_json: bool) -> int:
    from ._usage import scan

    usage = scan(home)
    if as_json:
        items = [
            {
                "kind": i.kind,
                "path": str(i.path),
                "size": i.size,
                "last_used": i.last_used,
                "label": i.label,
            }
            for i in usage.items
        ]
        print(json.dumps({"home": str(home), "total": usage.total, "items": items}, indent=1))
        return 0
    for i in usage.items:
        print(f"{i.kind:<10} {_human(i.size):>10}  {_when(i.last_used)}  {i.label}")
    if usage.unlisted:
        print(f"{'folders':<10} {_human(usage.unlisted):>10}  {'':16}  the folders holding these")
    print(
        f"{len(usage.items)} items, {_human(usage.total)} ({usage.total} bytes on disk, "
        f"as du -sB1) in {home}",
        file=sys.stderr,
    )
    return 0


_MIN_PREFIX = 8


def _cache_rm(cache: Any, prefixes: Sequence[str], *, yes: bool) -> int:
    import re

    for prefix in prefixes:
        if not re.fullmatch(rf"[0-9a-fA-F]{{{_MIN_PREFIX},64}}", prefix):
            raise UsageError(
                f"{prefix!r} is not a sha256 prefix of at least {_MIN_PREFIX} hex digits "
                "(`polyhub cache ls` shows them); a shorter one could remove files you did not mean"
            )
    wanted = [p.lower() for p in prefixes]
    doomed = [b for b in cache.blobs() if any(b.sha256.startswith(p) for p in wanted)]
    if not doomed:
        print(f"polyhub: no cached file matches {', '.join(prefixes)}", file=sys.stderr)
        return 1
    for b in doomed:
        print(f"{b.sha256}  {_human(b.size):>10}  {', '.join(b.views) or '-'}")
    if not yes:
        if sys.stdin is None or not sys.stdin.isatty():
            raise UsageError(
                f"not removing {len(doomed)} file(s): stdin is not a terminal to ask on; "
                "pass --yes to remove them"
            )
        if not _confirm(f"Remove {len(doomed)} file(s), {_human(sum(b.size for b in doomed))}?"):
            print("polyhub: nothing removed", file=sys.stderr)
            return 1
    for prefix in wanted:
        for p in cache.remove(prefix):
            print(f"removed {p}")
    return 0


def _cache_prune(cache: Any, older_than: str | None, *, dry_run: bool) -> int:
    import time

    from ._usage import PRUNABLE, parse_age, remove_item, scan

    age: float | None = None
    if older_than is not None:
        try:
            age = parse_age(older_than)
        except ValueError as exc:
            raise UsageError(f"--older-than: {exc}") from None
    verb = "would remove" if dry_run else "removed"
    stale = []
    if age is not None:
        now = time.time()
        stale = [
            i for i in scan(cache.root).items if i.kind in PRUNABLE and now - i.last_used >= age
        ]
    for item in stale:
        if not dry_run:
            if item.kind == "blob":
                cache.remove(item.path.name)  # the cache drops what it keeps about the blob
            else:
                remove_item(item)
        print(f"{verb} {item.kind} {item.path}")
    # Temporary and partial files (and links left dangling) are the cache's own business.
    tmp_age = 3600.0 if age is None else min(age, 3600.0)
    for p in cache.prune(older_than=tmp_age, dry_run=dry_run):
        print(f"{verb} {p}")
    return 0


def _trust(args: argparse.Namespace) -> int:
    from ._config import read_config
    from ._trust import TrustStore

    config = read_config()
    store = TrustStore(config)
    action = args.trust_command
    if action == "ls":
        return _trust_ls(store)
    from ._trust import describe, to_repo_id

    try:
        repo = to_repo_id(args.repo)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if action == "add":
        store.add(repo)
        print(f"trusted {repo}: {describe(repo)}")
        return 0
    if store.remove(repo):
        print(f"no longer trusted: {repo}")
        return 0
    print(f"polyhub: {repo} was not in the trust list {store.path}", file=sys.stderr)
    return 1


def _trust_ls(store: Any) -> int:
    from ._plugins import default_plugins

    rows = [(e, f"trust list {store.path}") for e in store.entries()]
    rows += [
        (e, "POLYHUB_TRUSTED_REPOS" + (f" (ignored: {problem})" if problem else ""))
        for e, problem in store.env_entries()
    ]
    sources = default_plugins().sources
    for info in (sources[scheme] for scheme in sources):
        rows += [(e, f"default of the {info.scheme} source") for e in info.trusted]
    width = max((len(r) for r, _ in rows), default=0)
    for repo, where in rows:
        print(f"{repo:<{width}}  {where}")
    if not rows:
        print("polyhub: no repository is trusted", file=sys.stderr)
    return 0


def _plugins() -> int:
    import polyhub

    failed = 0
    for rec in polyhub.list_plugins():
        if rec.error:
            failed += 1
            print(f"{rec.name}: FAILED to load ({rec.module}): {rec.error}")
            continue
        dist = f"{rec.distribution} {rec.version}" if rec.distribution else "builtin"
        provides = [
            f"{label}: {', '.join(items)}"
            for label, items in (
                ("sources", rec.sources),
                ("formats", rec.formats),
                ("runtimes", rec.runtimes),
            )
            if items
        ]
        print(f"{rec.name} ({dist}) {'; '.join(provides) or 'core defaults'}")
        for why in rec.missing:
            print(f"  not usable here: {why}")
    return 1 if failed else 0


def _warning_printer(verbose: bool, shown: bool = True) -> Callable[..., None]:
    """``shown``: polyhub's warnings are printed (not with ``-qq``, which keeps errors only)."""
    from ._errors import PolyhubWarning

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: Any = None,
        line: str | None = None,
    ) -> None:
        # polyhub's own warnings, one line each; other packages' (a framework's
        # deprecations) only when asked for with -v.
        if issubclass(category, PolyhubWarning):
            if shown:
                print(f"polyhub: warning: {message}", file=sys.stderr)
        elif verbose:
            print(f"{filename}:{lineno}: {category.__name__}: {message}", file=sys.stderr)

    return show


def _level(verbose: int, quiet: int) -> int:
    from ._logs import level_from_env

    if verbose:
        return logging.DEBUG
    if quiet:
        return logging.WARNING if quiet == 1 else logging.ERROR
    from_env = level_from_env()
    return logging.INFO if from_env is None else from_env


class _Session:
    """What ``main`` changes in the process (logging, warnings, environment), undone at the end.

    Matters when ``main`` is called in-process (tests, scripts), not for the command.
    """

    def __init__(self, verbose: int, quiet: int) -> None:
        self.verbose, self.quiet = verbose, quiet

    def __enter__(self) -> None:
        import warnings

        from ._logs import capture_framework_output, configure

        logger = logging.getLogger("polyhub")
        self._saved = (logger.level, list(logger.handlers), warnings.showwarning)
        self._env = {k: os.environ.get(k) for k in _QUIET_FRAMEWORKS}
        if not self.verbose:
            for key, value in _QUIET_FRAMEWORKS.items():
                os.environ.setdefault(key, value)
        level = _level(self.verbose, self.quiet)
        configure(level)
        self._captured = capture_framework_output(not self.verbose)
        warnings.showwarning = _warning_printer(self.verbose > 0, level <= logging.WARNING)

    def __exit__(self, *exc: object) -> None:
        import warnings

        from ._logs import capture_framework_output

        capture_framework_output(self._captured)
        logger = logging.getLogger("polyhub")
        logger.setLevel(self._saved[0])
        logger.handlers[:] = self._saved[1]
        warnings.showwarning = self._saved[2]
        for key, value in self._env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _report(message: str) -> None:
    with _quiet_pipe():
        print(message, file=sys.stderr)


def _quiet_pipe() -> Any:
    import contextlib

    return contextlib.suppress(BrokenPipeError)


def _stdout_gone() -> int:
    # The reader left (``| head``): point stdout at /dev/null so the interpreter's
    # final flush does not fail again, and end quietly as SIGPIPE would.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``polyhub`` command with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        parser = _parser_for(argv)
    except UsageError as exc:
        _report(f"polyhub: error: {exc}")
        return 2
    args = parser.parse_args(argv)
    # After parsing: --help and usage errors exit above without loading the
    # errors module and the rest.
    from ._address import AddressError
    from ._device import DeviceError
    from ._errors import PolyhubError, UntrustedError
    from ._logs import level_from_env

    try:
        level_from_env()
    except PolyhubError as exc:
        _report(f"polyhub: error: {exc}")
        return 2
    try:
        with _Session(args.verbose, args.quiet):
            status = _run(args)
            sys.stdout.flush()
            return status
    except BrokenPipeError:
        return _stdout_gone()
    except UsageError as exc:
        _report(f"polyhub: error: {exc}")
        return 2
    except (AddressError, DeviceError) as exc:
        _report(f"polyhub: error: {exc}")
        return 2
    except UntrustedError as exc:
        _report(f"polyhub: {type(exc).__name__}: {_how_to_trust(str(exc))}")
        return 1
    except PolyhubError as exc:
        _report(f"polyhub: {type(exc).__name__}: {exc}")
        return 1
    except KeyboardInterrupt:
        _report("polyhub: interrupted")
        return 130


def iter_commands(
    parser: argparse.ArgumentParser,
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """(``"cache ls"``, its parser) for every command and sub-command, depth first."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                prefix = sub.prog.split(" ", 1)[1] if " " in sub.prog else name
                yield prefix, sub
                yield from iter_commands(sub)


if __name__ == "__main__":
    sys.exit(main())
