"""`kamrules check PLAN... [--output-format F] [--strict] [--data DIR]`: parse, check and lint plans.

Findings are the checker's errors plus the lints' warnings (`lint.py`), filtered by `# noqa`
comments and the `[tool.kamrules]` table of the nearest pyproject.toml (`config.py`).
With `--data DIR`, the data is loaded too: its errors and the data lints join the findings.
Text goes to stderr (as every diagnostic of kamrules); json, github, junit and sarif go to
stdout. Exit codes: 0 no error (warnings allowed unless --strict), 1 findings, 2 usage or
internal error (a one-line message, never a traceback).
"""
from __future__ import annotations

import sys

from kamrules.cli.config import load_config
from kamrules.data.strict import load_data
from kamrules.data.sql import sourced
from kamrules.diagnostics.diagnostic import KamError
from kamrules.check.lint import filter_findings, lint, lint_data
from kamrules.files.outputs import write_stdout
from kamrules.report.findings import FORMATS, Checked, render
from kamrules.syntax.parser import plan_source
from kamrules.diagnostics.textsafe import for_terminal
from kamrules.cli.common import add_db_arg, load


def check_one(path: str, data: str | None = None, db: str | None = None) -> Checked:
    """Findings of one plan file (errors, then lints when the plan checks)."""
    source = None
    try:
        checked, diags, source = load(path)
        config = load_config(path)
        if checked is not None:
            diags = list(diags) + lint(checked)
            if data is not None:
                try:
                    checked = sourced(checked, data, db)  # `from sql` inputs: snapshots of --db
                    diags += lint_data(checked, load_data(checked, data))
                except KamError as err:
                    diags += list(err.diagnostics)
        diags = filter_findings(diags, source, config.select, config.ignore)
    except KamError as err:
        diags = list(err.diagnostics)
        source = source or plan_source(path)
    return Checked(path, source, tuple(diags))


def cmd_check(args) -> int:
    try:
        results = [check_one(path, args.data, args.db) for path in args.plans]
        text = render(args.output_format, results, args.strict)
    except Exception as err:  # a bug of kamrules, not of the plan: say so, exit 2
        print(for_terminal(f"kamrules: internal error while checking: {type(err).__name__}: {err}"),
              file=sys.stderr)
        return 2
    failing = any(d.is_error or args.strict for r in results for d in r.diagnostics)
    if args.output_format == "text":
        if failing or any(r.diagnostics for r in results) or not args.quiet:
            sys.stderr.write(text)
    else:
        write_stdout(text)
    return 1 if failing else 0


def register(sub):
    c = sub.add_parser("check", help="check and lint plans before any data is read")
    c.add_argument("plans", nargs="+")
    c.add_argument("--output-format", choices=FORMATS, default="text",
                   help="text (default, on stderr), json, github, junit or sarif (on stdout)")
    c.add_argument("--strict", action="store_true", help="warnings fail the check too (exit 1)")
    c.add_argument("--data", metavar="DIR",
                   help="also load the plan's data from DIR and run the data lints (KR507)")
    add_db_arg(c)
    c.add_argument("-q", "--quiet", action="store_true", help="print nothing when there is no finding")
    c.set_defaults(func=cmd_check)
