"""The command line (thin): builds the parser from `commands/`, runs one, sets the exit code.

Exit codes: 0 success, 1 a problem in the plan, the data or an output (diagnostics on
stderr; a full disk or an I/O error on stdout is KR701), 2 a usage error, 130 interrupted.
A closed stdout pipe (`kamrules run ... | head -1`) ends the command silently with exit 0.
Output files are written whole or not at all (see outputs.py).
"""
from __future__ import annotations

import argparse
import importlib
import sys

from kamrules.version import __version__

from kamrules.files import outputs
from kamrules.cli import COMMANDS
from kamrules.cli.common import print_diags
from kamrules.diagnostics.diagnostic import KamError
from kamrules.syntax.parser import plan_source


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kamrules", description="Sales variable-compensation plans as code.")
    p.add_argument("--version", action="version", version=f"kamrules {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"kamrules.cli.{name}").register(sub)
    return p


def _sources(diags) -> dict:
    sources = {}
    for d in diags:
        for span in [d.span] + [s for s, _ in d.related]:
            if span is not None and span.file.endswith(".kam") and span.file not in sources:
                source = plan_source(span.file)
                if source is not None:
                    sources[span.file] = source
    return sources


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    outputs.reset()
    try:
        status = args.func(args)
        outputs.flush_stdout()
        return status
    except KamError as err:
        print_diags(err.diagnostics, _sources(err.diagnostics))
        return 1
    except BrokenPipeError:  # the reader of stdout went away (`| head`): stop quietly
        outputs.silence_stdout()
        return 0
    except RecursionError:  # a safety net: the walks of plans and traces are meant to be iterative
        from kamrules.diagnostics.diagnostic import Diagnostic
        print_diags([Diagnostic("KR007", "the plan nests too deeply for this command (a chain of "
                                "definitions or a trace thousands of levels deep)",
                                hint="shorten the chain of definitions, or drop --trace")], {})
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
