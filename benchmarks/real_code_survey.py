"""Real model code, imported polyhub's way vs the upstream clients' way, file by file.

Walks every real ``mindspore_hub_conf.py`` of mindspore/models (branches r1.6,
r1.10 and master of ``repos/mindspore-models-subset.bundle``) and the real
``hubconf.py`` of MegEngine/Models (``repos/MegEngine-Models.bundle``, master),
and for each file measures, on both sides:

* imported: the file ran to the end;
* networks built: ``create_network(name)`` (MindSpore) or ``entry(pretrained=False)``
  (MegEngine) returned a ``mindspore.nn.Cell`` / ``megengine.module.Module``.

Sides:

* upstream: what ``mindspore_hub`` and ``megengine.hub`` do (our own few lines,
  below): put the folder first on ``sys.path`` and import the file by its
  module name; megengine.hub takes the folder off ``sys.path`` again before
  calling the entry, mindspore_hub leaves it there.
* polyhub: ``polyhub._isolation.RepoImporter(folder).load(file)`` and the calls
  inside ``importer.active()``, as the core's ``polyhub._repocode`` does for
  every runtime (``mindspore_hub_conf.py`` and ``hubconf.py`` alike).

Every file runs in its own process per side (repository code pollutes
``sys.modules``, calls ``sys.exit``, parses ``sys.argv`` at import). To keep the
whole run to minutes, a "zygote" interpreter per framework imports the
framework once and forks one child per (file, side); both sides get the same
framework state, as both clients import the framework before the repository.
Each child sees the caller's ``sys.argv`` (upstream's hubs run inside the
caller's process); a failure that goes away when the file is re-run with a
bare ``sys.argv`` is marked ``argv``. Children run with ``PYTHONHASHSEED=0``
(``--hash-seed``) so that a run repeats: an importer that iterates over a set
of module names can succeed under one seed and fail under another.

Names passed to ``create_network``: the string literals its first parameter is
compared with (``name == "lenet"``, ``name in (...)``, a dict it indexes),
plus the ``model-name`` (lower-cased, as polyhub passes it) of every hub card
in ``realdata/mindspore-hub/assets*`` whose ``repo-link`` points at the folder.

MegEngine/Models' hubconf.py imports ftfy, regex, imageio and youtokentome at
module level; where they are not installed, the whole file fails on both
sides. Each of its 16 ``from official... import ...`` statements is therefore
also surveyed as a file of its own (``hubconf.py#N``, written into the
temporary clone), so the entries of the importable parts are still built.

Run:   .venv/bin/python benchmarks/real_code_survey.py [--branch r1.10] [--limit N] [--show-diff]
Exit status 1 when polyhub does worse than upstream on any file or entry.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("POLYHUB_TEST_SHARED") or ROOT.parent / "shared")
MS_BUNDLE = "repos/mindspore-models-subset.bundle"
MGE_BUNDLE = "repos/MegEngine-Models.bundle"
MS_BRANCHES = ("r1.6", "r1.10", "master")
MGE_BRANCH = "megengine"  # the label of MegEngine/Models master in tables and --branch
MS_CONF = "mindspore_hub_conf.py"
MGE_CONF = "hubconf.py"
SIDES = ("polyhub", "upstream")
_REPO_LINK = re.compile(r"^repo-link:\s*<?\s*(\S+?)\s*>?\s*$", re.M)
_MODEL_NAME = re.compile(r"^model-name:\s*(\S+)\s*$", re.M)
_MODELS_TREE = re.compile(r"gitee\.com/mindspore/models/(?:tree|blob)/[^/]+/(.+?)/?$")


# --------------------------------------------------------------------------- jobs


@dataclass
class Job:
    """One file (or one MegEngine entry) to run on one side, in one child process."""

    key: str  # branch/folder/file[#part][:entry], the unit compared across sides
    framework: str  # mindspore | megengine
    side: str
    root: str  # folder put on sys.path / given to RepoImporter
    file: str  # relative to root
    calls: list[str]  # names for create_network, or MegEngine entries
    argv: list[str]
    timeout: float


@dataclass
class Outcome:
    imported: bool = False
    error: str = ""  # why the import failed ("" when it did not)
    built: dict[str, str] = field(default_factory=dict)  # call -> "" (built) or the error
    seconds: float = 0.0
    argv_cause: bool = False  # the import succeeds with a bare sys.argv

    @property
    def networks(self) -> int:
        return sum(1 for e in self.built.values() if not e)


def _static_names(conf: Path) -> list[str]:
    """String literals create_network's first parameter is compared with or looked up by."""
    try:
        tree = ast.parse(conf.read_text(encoding="utf-8", errors="replace"))
    except SyntaxError:
        return []
    literals: dict[str, list[str]] = {}  # module-level NAME = {..}/[..]/(..)/"x"
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                literals[target.id] = _strings(node.value, {})
    names: list[str] = []
    for func in ast.walk(tree):
        if not (isinstance(func, ast.FunctionDef) and func.name == "create_network"):
            continue
        if not func.args.args:
            continue
        param = func.args.args[0].arg

        def is_param(node: ast.AST, param: str = param) -> bool:
            return _is_param(node, param)

        for node in ast.walk(func):
            if isinstance(node, ast.Compare) and is_param(node.left):
                for op, right in zip(node.ops, node.comparators, strict=True):
                    if isinstance(op, (ast.Eq, ast.In)):
                        names += _strings(right, literals)
            elif isinstance(node, ast.Compare) and any(is_param(c) for c in node.comparators):
                names += _strings(node.left, literals)
            elif isinstance(node, ast.Subscript) and is_param(node.slice):
                names += _strings(node.value, literals)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and node.args
                and is_param(node.args[0])
            ):
                names += _strings(node.func.value, literals)
    return list(dict.fromkeys(names))


def _is_param(node: ast.AST, param: str) -> bool:
    """``name``, ``name.lower()``, ``str(name)``: the parameter, maybe normalised."""
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute):
            node = node.func.value
        elif node.args:
            node = node.args[0]
    return isinstance(node, ast.Name) and node.id == param


def _strings(node: ast.AST, literals: dict[str, list[str]]) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Name):
        return literals.get(node.id, [])
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [s for e in node.elts for s in _strings(e, literals)]
    if isinstance(node, ast.Dict):
        return [s for k in node.keys if k is not None for s in _strings(k, literals)]
    return []


def card_names(assets: list[Path]) -> dict[str, list[str]]:
    """folder of mindspore/models (``official/cv/lenet``) -> model-names of the cards pointing there."""
    found: dict[str, list[str]] = {}
    for folder in assets:
        for card in folder.rglob("*.md"):
            text = card.read_text(encoding="utf-8", errors="replace")
            link, name = _REPO_LINK.search(text), _MODEL_NAME.search(text)
            if not (link and name):
                continue
            where = _MODELS_TREE.search(link.group(1))
            if where:
                names = found.setdefault(where.group(1), [])
                if name.group(1).lower() not in names:
                    names.append(name.group(1).lower())
    return found


def _hubconf_parts(repo: Path) -> list[tuple[str, list[str]]]:
    """Write each ``from ... import ...`` of hubconf.py as its own file; (file, names) each."""
    source = (repo / MGE_CONF).read_text(encoding="utf-8")
    parts = []
    for i, node in enumerate(n for n in ast.parse(source).body if isinstance(n, ast.ImportFrom)):
        name = f"_survey_hubconf_part{i:02d}.py"
        (repo / name).write_text(ast.get_source_segment(source, node) + "\n", encoding="utf-8")
        parts.append((name, [a.asname or a.name for a in node.names]))
    return parts


def _entry_functions(repo: Path) -> set[str]:
    """hubconf names that are factories (functions), not classes: read with polyhub's static reader."""
    from polyhub_megengine.hubconf import read_hubconf

    conf = read_hubconf(repo)
    return {e.name for e in conf.entries().values() if e.kind == "function"}


def _label(file: str) -> str:
    return MGE_CONF if file == MGE_CONF else f"{MGE_CONF}#{file[-5:-3]}"


def _wanted(args: argparse.Namespace, key: str) -> bool:
    return not args.match or any(fnmatch.fnmatchcase(key, m) for m in args.match)


def checkouts(bundle: Path, branches: list[str], work: Path) -> dict[str, Path]:
    """Check each branch of ``bundle`` out under ``work``: one clone, a worktree per branch."""
    git = work / (bundle.stem + ".git")
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(bundle), str(git)], check=True, capture_output=True
    )
    found = {}
    for branch in branches:
        dest = work / f"{bundle.stem}-{branch}"
        subprocess.run(
            ["git", f"--git-dir={git}", "worktree", "add", "-q", "--detach", str(dest), branch],
            check=True,
            capture_output=True,
        )
        found[branch] = dest
    return found


def build_jobs(args: argparse.Namespace, work: Path) -> list[Job]:
    realdata = SHARED / "realdata"
    jobs: list[Job] = []
    argv = list(sys.argv)
    branches = args.branch or [*MS_BRANCHES, MGE_BRANCH]
    ms_branches = [b for b in branches if b != MGE_BRANCH]
    with ThreadPoolExecutor(2) as pool:  # the two bundles unpack at the same time
        ms_future = pool.submit(checkouts, realdata / MS_BUNDLE, ms_branches, work)
        mge = checkouts(realdata / MGE_BUNDLE, ["master"], work) if MGE_BRANCH in branches else {}
        ms = ms_future.result() if ms_branches else {}
    ms_cards = card_names(sorted(realdata.glob("mindspore-hub/assets*"))) if ms else {}
    for branch in branches:
        if branch == MGE_BRANCH:
            repo = mge["master"]
            functions = _entry_functions(repo)
            units = [(MGE_CONF, sorted(functions))] + [
                (part, [n for n in names if n in functions]) for part, names in _hubconf_parts(repo)
            ]
            units = [u for u in units if _wanted(args, f"{branch}/{_label(u[0])}")]
            units = units[: args.limit] if args.limit else units
            for file, entries in units:
                label = _label(file)
                for side in SIDES:
                    # The import is one job; each entry is built in a child of its own
                    # (a CLIP ViT-L or BigGAN-512 in one process with 71 others is GBs).
                    jobs.append(
                        Job(
                            f"{branch}/{label}",
                            "megengine",
                            side,
                            str(repo),
                            file,
                            [],
                            argv,
                            args.timeout,
                        )
                    )
                    for entry in entries[: args.limit_calls] if args.limit_calls else entries:
                        jobs.append(
                            Job(
                                f"{branch}/{label}:{entry}",
                                "megengine",
                                side,
                                str(repo),
                                file,
                                [entry],
                                argv,
                                args.timeout,
                            )
                        )
            continue
        repo = ms[branch]
        confs = sorted(repo.rglob(MS_CONF))
        confs = [
            c for c in confs if _wanted(args, f"{branch}/{c.parent.relative_to(repo).as_posix()}")
        ]
        confs = confs[: args.limit] if args.limit else confs
        for conf in confs:
            folder = conf.parent.relative_to(repo).as_posix()
            names = list(dict.fromkeys(_static_names(conf) + ms_cards.get(folder, [])))
            names = names[: args.limit_calls] if args.limit_calls else names
            for side in SIDES:
                jobs.append(
                    Job(
                        f"{branch}/{folder}",
                        "mindspore",
                        side,
                        str(conf.parent),
                        MS_CONF,
                        names,
                        argv,
                        args.timeout,
                    )
                )
    return jobs


# --------------------------------------------------------------------------- child


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"SystemExit({exc.code!r})"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200] if text else ''}"


def _is_network(obj: Any, framework: str) -> str:
    if framework == "mindspore":
        from mindspore import nn

        return "" if isinstance(obj, nn.Cell) else f"returned {type(obj).__name__}, not a Cell"
    from megengine import module

    return "" if isinstance(obj, module.Module) else f"returned {type(obj).__name__}, not a Module"


def run_child(job: Job, result_path: str) -> None:
    """In a forked child: import the file the job's way and make its calls; write an Outcome."""
    out = Outcome()
    start = time.perf_counter()
    sys.argv = list(job.argv)
    # No downloads: some entries fetch a backbone even with pretrained=False
    # (MegEngine/Models simplebaseline_*); a dead proxy makes that fail at once, offline or not.
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        os.environ[var] = "http://127.0.0.1:9"
    os.environ.pop("NO_PROXY", None)
    os.environ.pop("no_proxy", None)
    root = job.root
    mod: Any = None
    importer: Any = None
    try:
        if job.side == "upstream":
            sys.path.insert(0, root)
            import importlib

            mod = importlib.import_module(Path(job.file).stem)
            if job.framework == "megengine":
                sys.path.remove(root)  # megengine.hub does, before calling the entry
        else:
            from polyhub._isolation import RepoImporter

            importer = RepoImporter(Path(root))
            mod = importer.load(job.file)
        out.imported = True
    except BaseException as exc:  # SystemExit at import is a result too
        out.error = _describe(exc)
        traceback.print_exc()
    if out.imported:
        for call in job.calls:
            try:
                if job.framework == "mindspore":
                    factory = mod.create_network
                    args: tuple[Any, ...] = (call,)
                    kwargs: dict[str, Any] = {}
                else:
                    factory = getattr(mod, call)
                    args, kwargs = (), {"pretrained": False}
                if importer is not None:
                    with importer.active():
                        net = factory(*args, **kwargs)
                else:
                    net = factory(*args, **kwargs)
                out.built[call] = _is_network(net, job.framework)
            except BaseException as exc:
                out.built[call] = _describe(exc)
                traceback.print_exc()
    out.seconds = time.perf_counter() - start
    tmp = result_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(out.__dict__, f)
    os.replace(tmp, result_path)


def zygote(framework: str, jobs_at_once: int) -> None:
    """Import ``framework`` once, then fork a child per job line read from stdin.

    Writes one JSON line per finished job to stdout: {"index", "outcome"}.
    """
    import warnings

    warnings.simplefilter("ignore")
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # the framework's and the repositories' prints stay off the protocol
    if framework == "mindspore":
        import mindspore  # noqa: F401
        from mindspore import nn  # noqa: F401
    else:
        import megengine
        import megengine.module  # noqa: F401
    import polyhub._isolation  # noqa: F401  (both sides pay the same imports)

    work = Path(tempfile.mkdtemp(prefix="polyhub-survey-child-"))
    # (index, job, is_probe). A probe re-runs a failed import with a bare sys.argv.
    pending: list[tuple[int, Job, bool]] = []
    for line in sys.stdin:
        index, data = json.loads(line)
        pending.append((index, Job(**data), False))
    held: dict[int, dict[str, Any]] = {}  # outcomes waiting for their probe
    failed: dict[tuple[str, str, str], dict[str, Any]] = {}  # imports that failed
    running: dict[int, tuple[int, Job, bool, float, str]] = {}
    count = 0
    while pending or running:
        while pending and len(running) < jobs_at_once:
            index, job, probe = pending.pop(0)
            unit = (job.root, job.file, job.side)
            if not probe and unit in failed:
                # The file did not import on this side: its other entries cannot be built
                # either, and each would cost a child for nothing.
                outcome = {**failed[unit], "seconds": 0.0}
                outcome["built"] = dict.fromkeys(job.calls, outcome["error"])
                protocol.write(json.dumps({"index": index, "outcome": outcome}) + "\n")
                continue
            count += 1
            result = str(work / f"{count}.json")
            pid = os.fork()
            if pid == 0:  # child
                try:
                    os.setsid()  # its own process group: a timeout kills what it started too
                    fd = os.open(work / f"{count}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                    os.dup2(fd, 1)
                    os.dup2(fd, 2)
                    cwd = work / f"cwd{count}"
                    cwd.mkdir()
                    os.chdir(cwd)
                    run_child(job, result)
                finally:
                    os._exit(0)
            running[pid] = (index, job, probe, time.monotonic(), result)
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            now = time.monotonic()
            for p, (_, job, _, start, _) in list(running.items()):
                if now - start > job.timeout:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(p, signal.SIGKILL)
            time.sleep(0.02)
            continue
        index, job, probe, start, result = running.pop(pid)
        elapsed = time.monotonic() - start
        if os.path.exists(result):
            with open(result, encoding="utf-8") as f:
                outcome = json.load(f)
        else:
            why = (
                f"timeout after {job.timeout:.0f} s"
                if elapsed > job.timeout
                else f"child died (wait status {status:#x})"
            )
            outcome = Outcome(error=why, seconds=elapsed).__dict__
        if probe:
            held[index]["argv_cause"] = outcome["imported"]
            outcome = held.pop(index)
        elif not outcome["imported"] and len(job.argv) > 1 and "timeout" not in outcome["error"]:
            held[index] = outcome
            bare = Job(**{**job.__dict__, "argv": job.argv[:1], "calls": []})
            pending.insert(0, (index, bare, True))
            continue
        if not outcome["imported"]:
            failed[(job.root, job.file, job.side)] = outcome
        protocol.write(json.dumps({"index": index, "outcome": outcome}) + "\n")
    shutil.rmtree(work, ignore_errors=True)


def _zygote_run(
    framework: str,
    mine: list[tuple[int, Job]],
    parallel: int,
    outcomes: list[Outcome | None],
    hash_seed: str,
) -> None:
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-W",
                "ignore",
                __file__,
                "--zygote",
                framework,
                "--parallel",
                str(parallel),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            stderr=log,  # MegEngine's "debug: failed to load cuda func" lines and the like
            text=True,
            cwd=ROOT,
        )
        assert proc.stdin and proc.stdout
        proc.stdin.write("".join(json.dumps([i, j.__dict__]) + "\n" for i, j in mine))
        proc.stdin.close()
        for line in proc.stdout:
            data = json.loads(line)
            outcomes[data["index"]] = Outcome(**data["outcome"])
        proc.wait()
        if proc.returncode:
            log.seek(0)
            sys.stderr.write(log.read()[-4000:])
            raise SystemExit(f"the {framework} zygote failed (exit {proc.returncode})")


def run_jobs(jobs: list[Job], parallel: int, hash_seed: str = "0") -> list[Outcome]:
    """Run ``jobs`` through one zygote per framework, each ``parallel`` children at a time.

    The two zygotes run at the same time, so one framework's import overlaps the
    other's work; each keeps all the slots, as MindSpore's share of the work
    (284 files) is far longer than MegEngine's and would otherwise run on one.
    """
    outcomes: list[Outcome | None] = [None] * len(jobs)
    groups = {
        fw: [(i, j) for i, j in enumerate(jobs) if j.framework == fw]
        for fw in ("mindspore", "megengine")
    }
    groups = {fw: mine for fw, mine in groups.items() if mine}
    with ThreadPoolExecutor(max(1, len(groups))) as pool:
        for future in [
            pool.submit(_zygote_run, fw, mine, parallel, outcomes, hash_seed)
            for fw, mine in groups.items()
        ]:
            future.result()
    return [o if o is not None else Outcome(error="no result") for o in outcomes]


# --------------------------------------------------------------------------- report


@dataclass
class Row:
    branch: str
    files: int = 0
    imported: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SIDES, 0))
    networks: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SIDES, 0))
    calls: int = 0
    argv: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SIDES, 0))
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SIDES, 0.0))


def summarize(
    jobs: list[Job], outcomes: list[Outcome]
) -> tuple[list[Row], list[str], int, dict[str, Any]]:
    by_key: dict[str, dict[str, tuple[Job, Outcome]]] = {}
    for job, outcome in zip(jobs, outcomes, strict=True):
        by_key.setdefault(job.key, {})[job.side] = (job, outcome)
    rows: dict[str, Row] = {}
    worse: list[str] = []
    better = 0
    per_file: dict[str, Any] = {}
    for key, sides in by_key.items():
        branch = key.split("/", 1)[0]
        row = rows.setdefault(branch, Row(branch))
        is_entry = ":" in key.split("/", 1)[1]
        p, u = sides["polyhub"][1], sides["upstream"][1]
        job = sides["polyhub"][0]
        if not is_entry:
            row.files += 1
        for side, o in (("polyhub", p), ("upstream", u)):
            if not is_entry:
                row.imported[side] += o.imported
                row.argv[side] += o.argv_cause
            row.networks[side] += o.networks
            row.seconds[side] += o.seconds
        row.calls += len(job.calls)
        per_file[key] = {"polyhub": p.__dict__, "upstream": u.__dict__}
        lost = [c for c in job.calls if p.built.get(c, "x") != "" and u.built.get(c, "x") == ""]
        gained = [c for c in job.calls if p.built.get(c, "x") == "" and u.built.get(c, "x") != ""]
        better += (p.imported and not u.imported) or bool(gained)
        if (u.imported and not p.imported) or lost:
            lines = [f"{key}"]
            if u.imported and not p.imported:
                argv = " (imports with a bare sys.argv)" if p.argv_cause else ""
                lines.append(f"    import   polyhub : {p.error}{argv}")
                lines.append("    import   upstream: ok")
            for call in lost:
                lines.append(
                    f"    {call!r:<24} polyhub : {p.built.get(call) or p.error or 'not called'}"
                )
                lines.append(f"    {call!r:<24} upstream: ok")
            worse.append("\n".join(lines))
    return list(rows.values()), worse, better, per_file


def print_table(rows: list[Row], wall: float, setup: float) -> None:
    head = f"{'branch':<10} | {'files':>5} | {'imported (polyhub / upstream)':>29} | {'networks built (polyhub / upstream)':>35} | {'calls':>5} | {'argv-caused failures (p / u)':>28} | {'child time s (p / u)':>20}"
    print(head)
    print("-" * len(head))
    total = Row("total")
    for r in rows:
        print(
            f"{r.branch:<10} | {r.files:>5} | {r.imported['polyhub']:>14} / {r.imported['upstream']:<12} | "
            f"{r.networks['polyhub']:>17} / {r.networks['upstream']:<15} | {r.calls:>5} | "
            f"{r.argv['polyhub']:>13} / {r.argv['upstream']:<12} | {r.seconds['polyhub']:>8.1f} / {r.seconds['upstream']:<9.1f}"
        )
        total.files += r.files
        total.calls += r.calls
        for s in SIDES:
            total.imported[s] += r.imported[s]
            total.networks[s] += r.networks[s]
            total.argv[s] += r.argv[s]
            total.seconds[s] += r.seconds[s]
    if len(rows) > 1:
        r = total
        print(
            f"{r.branch:<10} | {r.files:>5} | {r.imported['polyhub']:>14} / {r.imported['upstream']:<12} | "
            f"{r.networks['polyhub']:>17} / {r.networks['upstream']:<15} | {r.calls:>5} | "
            f"{r.argv['polyhub']:>13} / {r.argv['upstream']:<12} | {r.seconds['polyhub']:>8.1f} / {r.seconds['upstream']:<9.1f}"
        )
    print(
        f"wall time {wall:.1f} s (checkouts and reading cards {setup:.1f} s), {len(rows)} branch(es)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--branch",
        action="append",
        choices=[*MS_BRANCHES, MGE_BRANCH],
        help="mindspore/models branch, or 'megengine' for MegEngine/Models master (repeatable; default: all)",
    )
    parser.add_argument(
        "--limit", type=int, default=0, help="first N files per branch (sorted by path)"
    )
    parser.add_argument(
        "--match",
        action="append",
        help="only files whose key (r1.10/official/cv/lenet, megengine/hubconf.py#07) matches this glob",
    )
    parser.add_argument("--limit-calls", type=int, default=0, help="first N names/entries per file")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per file and side")
    parser.add_argument("--parallel", type=int, default=2, help="children at a time")
    parser.add_argument(
        "--show-diff", action="store_true", help="list files where polyhub < upstream"
    )
    parser.add_argument(
        "--hash-seed",
        default="0",
        help="PYTHONHASHSEED of the children: fixed (default 0) so a run repeats; 'random' varies "
        "set and dict-of-set orders, which some importers depend on",
    )
    parser.add_argument("--json", type=Path, help="write every per-file outcome here")
    parser.add_argument("--zygote", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.zygote:
        zygote(args.zygote, args.parallel)
        return 0
    if not (SHARED / "realdata/repos").is_dir():
        print(f"the real data is not here ({SHARED / 'realdata/repos'} is absent)", file=sys.stderr)
        return 2
    start = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="polyhub-survey-"))
    try:
        jobs = build_jobs(args, work)
        setup = time.perf_counter() - start
        outcomes = run_jobs(jobs, args.parallel, args.hash_seed)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows, worse, better, per_file = summarize(jobs, outcomes)
    print_table(rows, time.perf_counter() - start, setup)
    if args.json:
        args.json.write_text(json.dumps(per_file, indent=1), encoding="utf-8")
    if better:
        print(f"\npolyhub does better than upstream on {better} file(s)/entries")
    if worse:
        print(
            f"\npolyhub does worse than upstream on {len(worse)} file(s)/entries"
            + (":" if args.show_diff else " (--show-diff lists them)")
        )
        if args.show_diff:
            print("\n".join(worse))
        return 1
    print("\npolyhub does at least as well as upstream on every file and entry")
    return 0


if __name__ == "__main__":
    sys.exit(main())
