"""``polyhub conformance``: the kit's command, contributed to the ``polyhub`` CLI.

Registered in the ``polyhub.commands`` entry-point group (see pyproject.toml), so
the core's CLI knows nothing of the kit: it loads this only when the command is
asked for, or when the whole reference is generated.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def add_command(commands: Any) -> Callable[[argparse.Namespace], int]:
    """Add the ``conformance`` sub-parser to ``commands`` (argparse's sub-parsers);
    return the function that runs it with the parsed arguments."""
    s = commands.add_parser(
        "conformance", help="run the conformance kit against an installed plugin"
    )
    s.add_argument("plugin", nargs="?", help="the plugin's name; all when omitted")
    s.add_argument("pytest_args", nargs=argparse.REMAINDER, help="passed on to pytest")
    return run


def run(args: argparse.Namespace) -> int:
    """Run the kit (pytest) for ``args.plugin``, or every installed plugin; the exit status."""
    from .runner import main

    return int(main(args.plugin, list(args.pytest_args or [])))
