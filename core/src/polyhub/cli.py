"""The ``polyhub`` command line. Exit codes: 0 ok, 1 a check or load failed, 2 usage error."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]


def _options(pairs: Sequence[str]) -> dict[str, Any]:
    from .address import _coerce

    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"polyhub: error: option {pair!r} is not KEY=VALUE")
        result[key] = _coerce(value)
    return result


_VERIFY_HELP = (
    "re-hash cached files before use (also POLYHUB_VERIFY=1); otherwise their size and "
    "mtime are compared with those recorded when they were cached"
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="polyhub",
        description="Load pre-trained models from any model hub into any runtime.",
    )
    p.add_argument("--offline", action="store_true", default=None, help="never touch the network")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("list", help="list models of one source or of all")
    s.add_argument("scheme", nargs="?")
    s.add_argument("--tag", action="append", dest="tags", help="keep models with any of these tags")
    s.add_argument("--model", help="keep models with this name (case-insensitive)")
    s.add_argument(
        "-O", "--option", action="append", default=[], metavar="KEY=VALUE", help="a source filter"
    )
    s.add_argument("--json", action="store_true")

    for name, text in (
        ("info", "describe a model without downloading it"),
        ("help", "a model's help text"),
    ):
        s = sub.add_parser(name, help=text)
        s.add_argument("address")
        s.add_argument("-O", "--option", action="append", default=[], metavar="KEY=VALUE")
        if name == "info":
            s.add_argument("--json", action="store_true")

    s = sub.add_parser("download", help="download and verify a model into the cache")
    s.add_argument("address")
    s.add_argument(
        "--with-test-data", action="store_true", help="also fetch and extract the test data"
    )
    s.add_argument("--device", default="auto")
    s.add_argument("--force-reload", action="store_true")
    s.add_argument("--verify", action="store_true", default=None, help=_VERIFY_HELP)
    s.add_argument("-O", "--option", action="append", default=[], metavar="KEY=VALUE")

    s = sub.add_parser("load", help="load a model and say what was loaded where")
    s.add_argument("address")
    s.add_argument("--device", default="auto")
    s.add_argument("--runtime")
    s.add_argument("--trust-repo", action="store_true", help="trust the model's code repository")
    s.add_argument("--force-reload", action="store_true")
    s.add_argument("--verify", action="store_true", default=None, help=_VERIFY_HELP)
    s.add_argument("-O", "--option", action="append", default=[], metavar="KEY=VALUE")

    s = sub.add_parser("cache", help="inspect and clean the cache")
    cs = s.add_subparsers(dest="cache_command", required=True, metavar="ACTION")
    cs.add_parser("ls", help="list cached files")
    cs.add_parser("verify", help="re-hash every cached file")
    r = cs.add_parser(
        "rm",
        help="remove cached files by sha256 prefix (first-seen hashes are kept: see forget)",
    )
    r.add_argument("sha256", nargs="+")
    r = cs.add_parser(
        "forget",
        help="drop the first-seen sha256 recorded for a URL, or for every unhashed "
        "file of a model ADDRESS; the next download records it again",
    )
    r.add_argument("target", nargs="+", metavar="URL|ADDRESS")
    r = cs.add_parser(
        "prune",
        help="remove stale temporary and partial files (never those of a running download)",
    )
    r.add_argument("--dry-run", action="store_true")
    r.add_argument("--older-than", type=float, default=3600.0, metavar="SECONDS")

    s = sub.add_parser("trust", help="manage repositories trusted to run code")
    ts = s.add_subparsers(dest="trust_command", required=True, metavar="ACTION")
    ts.add_parser("ls")
    for action in ("add", "rm"):
        t = ts.add_parser(action)
        t.add_argument("repo", help="a repo id (host/owner/name) or URL")

    sub.add_parser("plugins", help="installed plugins, what they provide, and failures")
    s = sub.add_parser("validate", help="publishing checks for a card, manifest or hubconf repo")
    s.add_argument("path", type=Path)
    s = sub.add_parser("sha256", help="print the sha256 of files")
    s.add_argument("files", nargs="+", type=Path)
    sub.add_parser("demo", help="serve the embedded demo hubs on 127.0.0.1 and load from them")
    s = sub.add_parser("conformance", help="run the conformance kit against an installed plugin")
    s.add_argument("plugin", nargs="?")
    s.add_argument("pytest_args", nargs=argparse.REMAINDER)
    return p


def _card_line(card: Any) -> str:
    tags = ",".join(card.tags[:6])
    version = f" v{card.version}" if card.version else ""
    return f"{card.address}{version}  [{tags}]  {card.summary[:60]}".rstrip()


def _run(args: argparse.Namespace) -> int:
    import polyhub

    cmd = args.command
    if cmd == "list":
        filters = _options(args.option)
        if args.tags:
            filters["tags"] = args.tags
        if args.model:
            filters["model"] = args.model
        cards = polyhub.list_models(args.scheme, offline=args.offline, **filters)
        if args.json:
            print(json.dumps([c.to_dict() for c in cards], indent=1, default=str))
        else:
            for card in cards:
                print(_card_line(card))
            print(f"{len(cards)} models", file=sys.stderr)
        return 0
    if cmd == "info":
        card = polyhub.info(args.address, offline=args.offline, **_options(args.option))
        data = card.to_dict()
        if args.json:
            print(json.dumps(data, indent=1, default=str))
        else:
            for key, value in data.items():
                if value not in (None, "", [], {}):
                    print(
                        f"{key}: {json.dumps(value, default=str) if not isinstance(value, str) else value}"
                    )
        return 0
    if cmd == "help":
        print(polyhub.help(args.address, offline=args.offline, **_options(args.option)))
        return 0
    if cmd == "download":
        path = polyhub.download(
            args.address,
            with_test_data=args.with_test_data,
            device=args.device,
            offline=args.offline,
            force_reload=args.force_reload,
            verify=args.verify,
            **_options(args.option),
        )
        print(path)
        return 0
    if cmd == "load":
        return _load(args)
    if cmd == "cache":
        return _cache(args)
    if cmd == "trust":
        return _trust(args)
    if cmd == "plugins":
        return _plugins()
    if cmd == "validate":
        problems = polyhub.validate(args.path)
        for problem in problems:
            print(problem)
        print(
            f"{args.path}: {len(problems)} problem(s)" if problems else f"{args.path}: ok",
            file=sys.stderr,
        )
        return 1 if problems else 0
    if cmd == "sha256":
        from .cache import file_sha256

        for f in args.files:
            print(f"{file_sha256(f)}  {f}")
        return 0
    if cmd == "demo":
        from .demo import run_demo

        return run_demo()
    if cmd == "conformance":
        try:
            from polyhub_conformance.runner import main as run_kit  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            print(
                "polyhub: the conformance kit is not installed (pip install polyhub-conformance)",
                file=sys.stderr,
            )
            return 2
        return int(run_kit(args.plugin, list(args.pytest_args or [])))
    raise AssertionError(cmd)


def _load(args: argparse.Namespace) -> int:
    from .api import load_detailed

    done = load_detailed(
        args.address,
        device=args.device,
        runtime=args.runtime,
        offline=args.offline,
        trust_repo=True if args.trust_repo else None,
        force_reload=args.force_reload,
        verify=args.verify,
        **_options(args.option),
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
            print(
                f"{label:<8}: {port.name} {list(port.shape) if port.shape else '?'} {port.type}".rstrip()
            )
    print(f"model   : {type(model).__module__}.{type(model).__qualname__}")
    return 0


def _cache(args: argparse.Namespace) -> int:
    from .cache import Cache
    from .config import read_config

    cache = Cache(read_config())
    action = args.cache_command
    if action == "ls":
        blobs = cache.blobs()
        for b in blobs:
            print(f"{b.sha256[:16]}  {b.size:>12}  {', '.join(b.views) or '-'}")
        print(
            f"{len(blobs)} files, {sum(b.size for b in blobs)} bytes in {cache.root}",
            file=sys.stderr,
        )
        return 0
    if action == "verify":
        bad = cache.verify()
        for blob, actual in bad:
            print(f"CORRUPT {blob.path}: expected {blob.sha256}, actual {actual}")
        print(f"{len(cache.blobs())} files checked, {len(bad)} corrupt", file=sys.stderr)
        return 1 if bad else 0
    if action == "rm":
        removed = [p for prefix in args.sha256 for p in cache.remove(prefix)]
        for p in removed:
            print(f"removed {p}")
        return 0 if removed else 1
    if action == "forget":
        return _forget(cache, args.target, offline=args.offline)
    if action == "prune":
        for p in cache.prune(older_than=args.older_than, dry_run=args.dry_run):
            print(f"{'would remove' if args.dry_run else 'removed'} {p}")
        return 0
    raise AssertionError(action)


def _forget(cache: Any, targets: Sequence[str], *, offline: bool | None) -> int:
    import polyhub

    from .downloader import is_local

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


def _trust(args: argparse.Namespace) -> int:
    from .config import read_config
    from .git import repo_id_from_url
    from .trust import TrustStore

    store = TrustStore(read_config())
    action = args.trust_command
    if action == "ls":
        for entry in store.entries():
            print(entry)
        return 0
    repo = (
        args.repo
        if "://" not in args.repo and "@" not in args.repo
        else repo_id_from_url(args.repo)
    )
    if action == "add":
        store.add(repo)
        print(f"trusted {repo}")
        return 0
    if store.remove(repo):
        print(f"no longer trusted: {repo}")
        return 0
    print(f"{repo} was not in the trust list", file=sys.stderr)
    return 1


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


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    # One line a warning, without the source line Python would quote.
    print(f"polyhub: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    import warnings

    warnings.showwarning = _show_warning
    parser = _parser()
    args = parser.parse_args(argv)
    # After parsing: --help and usage errors exit above without loading the
    # errors module (and logging, which it imports).
    from .errors import PolyhubError

    try:
        return _run(args)
    except PolyhubError as exc:
        print(f"polyhub: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
