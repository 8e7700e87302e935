"""`kamrules fmt PLAN...`: rewrite plans in the canonical layout (kamrules/syntax/fmt.py).

`--check` lists the files that would change and exits 1 if any; `--diff` prints a unified
diff instead of writing (exit 1 if any change); `-` reads stdin and writes stdout. A plan
with a syntax error is reported (exit 1) and left untouched; files are written atomically.
A plan that starts with a UTF-8 BOM is formatted like one without and keeps its BOM.
"""
from __future__ import annotations

import difflib
import sys

from kamrules.diagnostics.diagnostic import KamError
from kamrules.syntax.fmt import format_text
from kamrules.files.outputs import write_stdout, write_text
from kamrules.syntax.parser import BOM, read_plan_text
from kamrules.diagnostics.source import SourceFile
from kamrules.cli.common import print_diags


def _read(path: str) -> str:
    """The plan's text as written (a leading BOM included: format_text keeps it)."""
    if path == "-":
        return sys.stdin.read()
    return read_plan_text(path, newline="", keep_bom=True)


def cmd_fmt(args) -> int:
    status = 0
    changed = []
    for path in args.plans:
        name = "<stdin>" if path == "-" else path
        text = None
        try:
            text = _read(path)
            new = format_text(text, name)
        except KamError as err:
            print_diags(err.diagnostics, {name: SourceFile(name, text.removeprefix(BOM))} if text is not None else {})
            status = 1
            continue
        if new == text:
            if path == "-" and not (args.check or args.diff):
                write_stdout(new)
            continue
        changed.append(name)
        if args.diff:
            write_stdout("".join(difflib.unified_diff(
                text.splitlines(True), new.splitlines(True), f"{name} (original)", f"{name} (formatted)")))
        elif args.check:
            write_stdout(f"would reformat {name}\n")
        elif path == "-":
            write_stdout(new)
        else:
            try:  # in place, atomically; a plan that is a symbolic link is refused (KR703)
                write_text(new, path, "fmt")
            except KamError as err:
                print_diags(err.diagnostics, {})
                status = 1
                continue
            print(f"reformatted {name}", file=sys.stderr)
    if (args.check or args.diff) and changed:
        status = 1
    return status


def register(sub):
    from kamrules.cli import examples

    c = sub.add_parser("fmt", help="rewrite plans in the canonical layout (comments kept)",
                     **examples(
        "kamrules fmt plans/abtasty-kam.kam",
        "kamrules fmt --check plans/*.kam",
        "kamrules fmt --diff docs/examples/messy.kam"))
    c.add_argument("plans", nargs="+", help="plan files, or - for stdin to stdout")
    c.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file would change")
    c.add_argument("--diff", action="store_true", help="print a unified diff; exit 1 if a file would change")
    c.set_defaults(func=cmd_fmt)
