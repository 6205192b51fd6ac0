"""G14 (2): each deliberately broken plugin fails the intended test, with a readable message.

Every case mutates the reference plugin one way, runs only the suite test
that must catch it, and checks both that this test failed and that the
message says what is wrong (values included, which proves the assertion
rewriting of the suites works in a third party's run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

pytest_plugins = ["pytester"]


@dataclass(frozen=True)
class Broken:
    test: str  # Class::test that must fail
    lines: list[str]  # fnmatch lines the output must contain, in order
    replace: dict[str, str] = field(default_factory=dict)
    append: str = ""
    extra_files: dict[str, str] = field(default_factory=dict)


UNVERIFIED_FETCH = """

@hookimpl
def polyhub_source_fetch(card: Any, asset: Any, context: Any) -> Any:
    # Broken on purpose: downloads without checking the sha256.
    import urllib.request
    from pathlib import Path

    dest = Path(context.cache.root) / "unverified" / asset.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(asset.url) as response:
        dest.write_bytes(response.read())
    return dest
"""

LEAKY_FETCH = """

@hookimpl
def polyhub_source_fetch(card: Any, asset: Any, context: Any) -> Any:
    # Broken on purpose: checks the hash but leaves its temporary file behind.
    import hashlib
    import urllib.request
    from pathlib import Path

    tmp = Path(context.cache.root) / "tmp" / "partial.bin"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(asset.url) as response:
        tmp.write_bytes(response.read())
    actual = hashlib.sha256(tmp.read_bytes()).hexdigest()
    if actual != asset.sha256:
        raise polyhub.HashMismatchError(url=asset.url, expected=asset.sha256, actual=actual)
    return tmp
"""

CASES = {
    "not-found-is-keyerror": Broken(
        test="TestRefSource::test_unknown_model_raises_model_not_found",
        replace={
            'raise ModelNotFoundError(f"{address} is not in the refhub index")': "raise KeyError(address.path)"
        },
        lines=["*S11: info(*) raised KeyError, which is not a polyhub.PolyhubError*"],
    ),
    "list-downloads-models": Broken(
        test="TestRefSource::test_info_and_list_download_no_model_bytes",
        replace={
            "    return [_card(entry) for entry in _index(context)]": (
                "    cards = [_card(entry) for entry in _index(context)]\n"
                "    for card in cards:\n"
                "        context.fetch(card.assets[0], card=card)\n"
                "    return cards"
            )
        },
        lines=["*S13: info/list/help put model bytes in the cache*"],
    ),
    "fetch-skips-verification": Broken(
        test="TestRefSource::test_tampered_asset_raises_hash_mismatch",
        append=UNVERIFIED_FETCH,
        lines=["*S15: download('refhub:linear'*) raised nothing*expected HashMismatchError*"],
    ),
    "fetch-leaves-temp-file": Broken(
        test="TestRefSource::test_tampered_asset_raises_hash_mismatch",
        append=LEAKY_FETCH,
        lines=["*S15: a failed verification left files in the cache: ['tmp/partial.bin']*"],
    ),
    "index-bypasses-cache": Broken(
        test="TestRefSource::test_works_offline_after_one_fetch",
        replace={
            "        data = json.loads(context.fetch_index(url))": (
                "        import urllib.request\n"
                "        data = json.loads(urllib.request.urlopen(url).read())"
            )
        },
        lines=["*S16: info('refhub:linear') raised urllib.error.URLError*"],
    ),
    "garbage-path-valueerror": Broken(
        test="TestRefSource::test_garbage_address_raises_only_polyhub_errors[dotdot]",
        replace={
            "    for entry in _index(context):\n        if entry": (
                "    if '..' in address.path:\n"
                "        raise ValueError('bad path')\n"
                "    for entry in _index(context):\n        if entry"
            )
        },
        lines=["*S18: info('refhub:..') raised ValueError, which is not a polyhub.PolyhubError*"],
    ),
    "detect-accepts-anything": Broken(
        test="TestRefFormat::test_rejects_kit_foreign_sample[zip]",
        replace={'return "txtw" if head.startswith(MAGIC) else None': 'return "txtw"'},
        # The second line is pytest's rewritten assertion: the values are shown.
        lines=[
            "*S33: the kit's 'zip' sample archive.zip was detected as 'txtw'*",
            "*assert 'txtw' is None*",
        ],
    ),
    "detect-by-suffix": Broken(
        test="TestRefFormat::test_detects_by_content_not_suffix",
        replace={
            'return "txtw" if head.startswith(MAGIC) else None': (
                'return "txtw" if str(path).endswith(".txtw") else None'
            )
        },
        lines=[
            "*S32: sample.txtw copied to a name without suffix is detected as None, expected 'txtw'*"
        ],
    ),
    "registration-imports-framework": Broken(
        test="TestRefHooks::test_registration_imports_no_framework",
        replace={"import polyhub\n": "import fakeframework  # noqa: F401\nimport polyhub\n"},
        extra_files={"fakeframework.py": "HEAVY = True\n"},
        lines=["*S3: registering the plugin imported ['fakeframework']*"],
    ),
    "detection-imports-framework": Broken(
        test="TestRefFormat::test_detection_imports_no_framework",
        replace={
            'return "txtw" if head.startswith(MAGIC) else None': (
                'import fakeframework  # noqa: F401\n    return "txtw" if head.startswith(MAGIC) else None'
            )
        },
        extra_files={"fakeframework.py": "HEAVY = True\n"},
        lines=["*S35: format detection imported ['fakeframework']*"],
    ),
    "hookimpl-extra-argument": Broken(
        test="TestRefHooks::test_hookimpls_match_hookspecs",
        replace={
            "def polyhub_format_detect(path: Any, head: bytes)": (
                "def polyhub_format_detect(path: Any, head: bytes, mode: str)"
            )
        },
        lines=["*S1: polyhub_format_detect takes ['mode'], which the hookspec does not pass*"],
    ),
    "hook-not-marked": Broken(
        test="TestRefHooks::test_hookimpls_match_hookspecs",
        replace={"@hookimpl\ndef polyhub_source_help": "def polyhub_source_help"},
        lines=["*S1: polyhub_source_help is not marked with @polyhub.hookimpl*"],
    ),
    "wrong-output": Broken(
        test="TestRefRuntime::test_loads_sample_on_cpu",
        replace={
            "return sum(w * x for w, x in zip(self.weights, inputs, strict=False))": "return 2 * sum(w * x for w, x in zip(self.weights, inputs, strict=False))"
        },
        lines=["*S42: output 0 differs from the reference beyond rtol=*max abs diff 4.5*"],
    ),
    "device-error-is-runtimeerror": Broken(
        test="TestRefRuntime::test_unsupported_device_raises_unsupported[gpu]",
        replace={
            'raise UnsupportedError(f"the txtw runtime runs on cpu only, not {request.device}")': (
                'raise RuntimeError(f"no {request.device}")'
            )
        },
        lines=["*S44: runtime_load(*) raised RuntimeError, which is not a polyhub.PolyhubError*"],
    ),
    "device-error-names-nothing": Broken(
        test="TestRefRuntime::test_unsupported_device_raises_unsupported[ascend]",
        replace={
            'raise UnsupportedError(f"the txtw runtime runs on cpu only, not {request.device}")': (
                'raise UnsupportedError("unsupported")'
            )
        },
        lines=[
            "*S44: the UnsupportedError for ascend:0 does not name the devices that exist: unsupported*"
        ],
    ),
    "corrupt-file-valueerror": Broken(
        test="TestRefRuntime::test_corrupt_file_raises_polyhub_error",
        replace={
            '        raise MetadataError("not a txtw file (no magic line)", file=str(request.path))': (
                '        raise ValueError("could not parse")'
            )
        },
        lines=[
            "*S45: polyhub_runtime_load(path='corrupt.txtw') raised ValueError, which is not a polyhub.PolyhubError*"
        ],
    ),
    "validate-raises-on-foreign-files": Broken(
        test="TestRefSource::test_validate_ignores_foreign_files",
        append="""

@hookimpl
def polyhub_source_validate(path: Any, context: Any) -> Any:
    # Broken on purpose: treats every file as its own and chokes on it.
    raise ValueError(f"cannot parse {path.name}")
""",
        lines=["*S22: validate(*) raised builtins.ValueError: cannot parse conformance-notes.txt*"],
    ),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_broken_plugin_fails_the_intended_test(
    case: Broken, ref_project: Any, run_kit: Any
) -> None:
    ref_project(replace=case.replace, append=case.append, extra_files=case.extra_files)
    result = run_kit(f"test_ref.py::{case.test}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [_literal(line) for line in [*case.lines, f"FAILED test_ref.py::{case.test}*"]]
    )


def _literal(pattern: str) -> str:
    """Make '[' literal for fnmatch, keeping the '*' wildcards."""
    return pattern.replace("[", "[[]")


def test_reference_passes_the_tests_the_cases_select(ref_project: Any, run_kit: Any) -> None:
    """The unbroken plugin passes each selected test: the failures above are the mutations' doing."""
    ref_project()
    selected = sorted({f"test_ref.py::{case.test}" for case in CASES.values()})
    result = run_kit(*selected)
    result.assert_outcomes(passed=len(selected))
