"""The command line (thin): builds the parser, runs one command, sets the exit code.

Start-up is kept light: `kamrules --help` reads the table of commands (cli/__init__.py) and
imports no command module; `kamrules NAME ...` imports `cli/NAME.py` alone (the others are
stubs that only carry their help), so a command pays for the modules it uses, not for all.

Exit codes: 0 success, 1 a problem in the plan, the data or an output (diagnostics on
stderr; a full disk or an I/O error on stdout is KR701), 2 a usage error, 130 interrupted.
A closed stdout pipe (`kamrules run ... | head -1`) ends the command silently with exit 0.
Output files are written whole or not at all (see outputs.py).
"""
from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys

from kamrules.version import __version__

from kamrules.cli import COMMANDS


LONG_LIVED = ("serve", "lsp")  # processes that keep running: polars' allocator left as it is

# polars allocates with its own jemalloc (symbols prefixed _rjem_), which reads its settings
# once, at the library's first allocation, from $_RJEM_MALLOC_CONF. polars' defaults give
# freed memory back to the system after 0.5 s, and an allocation of 8 MiB or more (each
# column of a frame of a million rows) at once: every new column then faults its pages in
# afresh, and a third of a whole run's CPU at 100k payees was system time. Kept, the freed
# pages are reused by the next columns (case 01 at M: CPU -13%, peak memory +13%,
# docs/performance.md). One arena, and large allocations served by it rather than by a
# separate arena for them (narenas:1, oversize_threshold:0): the pages a dropped column freed
# are those the next column gets, where several arenas each kept their own (case 01 at M:
# peak 0.69 GB instead of 1.09, system time 0.7 s instead of 1.1-1.3, same payouts).
# Not for a long-lived process (LONG_LIVED), which would keep its largest frame's memory for good.
ALLOCATOR = "dirty_decay_ms:-1,muzzy_decay_ms:-1,narenas:1,oversize_threshold:0"


def keep_freed_memory(command: str | None) -> bool:
    """Ask polars' allocator to keep freed memory for reuse until the process ends (a batch
    command): True when set; False for a long-lived command, when polars is loaded already
    (its allocator is set then) or when $_RJEM_MALLOC_CONF says otherwise (left as it is)."""
    if command in LONG_LIVED or "polars" in sys.modules or "_RJEM_MALLOC_CONF" in os.environ:
        return False
    os.environ["_RJEM_MALLOC_CONF"] = ALLOCATOR
    return True


def command_of(argv) -> str | None:
    """The command named on a command line (its first word that is not an option), if any."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
        if word in ("-h", "--help", "--version"):
            return None
    return None


def build_parser(only: str | None = None, *, full: bool = True) -> argparse.ArgumentParser:
    """The parser of `kamrules`. Every command is registered by its module when `full`;
    otherwise only `only` is (the rest are stubs with their help line, enough for
    `kamrules --help` and for argparse's "invalid choice")."""
    p = argparse.ArgumentParser(prog="kamrules", description="Sales variable-compensation plans as code.")
    p.add_argument("--version", action="version", version=f"kamrules {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    for name, help_line in COMMANDS.items():
        if full or name == only:
            importlib.import_module(f"kamrules.cli.{name}").register(sub)
        else:
            sub.add_parser(name, help=help_line)
    return p


def _sources(diags) -> dict:
    from kamrules.syntax.parser import plan_source

    sources = {}
    for d in diags:
        for span in [d.span] + [s for s, _ in d.related]:
            if span is not None and span.file.endswith(".kam") and span.file not in sources:
                source = plan_source(span.file)
                if source is not None:
                    sources[span.file] = source
    return sources


def _print_diags(diags) -> None:
    from kamrules.cli.common import print_diags

    print_diags(diags, _sources(diags))


def main(argv=None) -> int:
    process = argv is None  # `kamrules ...` or `python -m kamrules ...`, not a call in a process
    argv = sys.argv[1:] if argv is None else list(argv)
    keep_freed_memory(command_of(argv))  # before polars loads
    # the command's modules are imported here: thousands of classes and functions, none of
    # them garbage, which the cyclic collector would scan again and again (a tenth of a
    # `check`, a quarter of a small `run`); after them it runs as usual and, in a process
    # of its own, never scans them again (gc.freeze: a caller's garbage is not frozen)
    enabled = gc.isenabled()
    gc.disable()
    try:
        args = build_parser(command_of(argv), full=False).parse_args(argv)
    finally:
        if enabled:
            if process:
                gc.freeze()
            gc.enable()
    # imported once the command line is understood: `--help` and usage errors stay light
    from kamrules.diagnostics.diagnostic import KamError
    from kamrules.files import outputs

    outputs.reset()
    try:
        status = args.func(args)
        outputs.flush_stdout()
        return status
    except KamError as err:
        _print_diags(err.diagnostics)
        return 1
    except BrokenPipeError:  # the reader of stdout went away (`| head`): stop quietly
        outputs.silence_stdout()
        return 0
    except RecursionError:  # a safety net: the walks of plans and traces are meant to be iterative
        from kamrules.diagnostics.diagnostic import Diagnostic
        _print_diags([Diagnostic("KR007", "the plan nests too deeply for this command (a chain of "
                                 "definitions or a trace thousands of levels deep)",
                                 hint="shorten the chain of definitions, or drop --trace")])
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
