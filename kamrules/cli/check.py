"""`kamrules check PLAN... [--output-format F] [--strict] [--data DIR] [--engines]`: parse, check
and lint plans.

Findings are the checker's errors plus the lints' warnings (`lint.py`), filtered by `# noqa`
comments and the `[tool.kamrules]` table of the nearest pyproject.toml (`config.py`).
With `--data DIR`, the data is loaded too: its errors and the data lints join the findings.
`--fix` first applies the safe fixes in place (diagnostics/fixes.py, then syntax/fmt.py).
`--engines` prints on stdout, per plan that checks, which engines run it (run/engines.py).
Text goes to stderr (as every diagnostic of kamrules); json, github, junit and sarif go to
stdout. Exit codes: 0 no error (warnings allowed unless --strict), 1 findings, 2 usage or
internal error (a one-line message, never a traceback).
"""
from __future__ import annotations

import sys

from kamrules.cli.config import load_config
from kamrules.diagnostics.diagnostic import KamError
from kamrules.check.lint import filter_findings, lint, lint_data
from kamrules.files.outputs import write_stdout, write_text
from kamrules.report.findings import FORMATS, Checked, render
from kamrules.syntax.parser import plan_source
from kamrules.diagnostics.render import color_wanted
from kamrules.diagnostics.textsafe import for_terminal
from kamrules.cli.common import add_db_arg, load


def check_one(path: str, data: str | None = None, db: str | None = None, db_timeout: float | None = None) -> Checked:
    """Findings of one plan file (errors, then lints when the plan checks)."""
    source = None
    try:
        checked, diags, source = load(path)
        config = load_config(path)
        if checked is not None:
            diags = list(diags) + lint(checked)
            if data is not None:
                from kamrules.data.sql import sourced  # the data layer, only with --data
                from kamrules.data.strict import load_data

                try:
                    checked = sourced(checked, data, db, db_timeout)  # `from sql` inputs: snapshots of --db
                    diags += lint_data(checked, load_data(checked, data))
                except KamError as err:
                    diags += list(err.diagnostics)
        diags = filter_findings(diags, source, config.select, config.ignore)
    except KamError as err:
        diags = list(err.diagnostics)
        source = source or plan_source(path)
    return Checked(path, source, tuple(diags))


def fix_one(path: str) -> str | None:
    """Apply the safe fixes of one plan in place (did-you-mean renames, then the canonical
    layout when the plan parses); a line saying what changed, or None. The file is
    replaced atomically (files/outputs.py), never left half written."""
    from kamrules.diagnostics.fixes import apply_edits, safe_edits
    from kamrules.syntax.fmt import format_text
    from kamrules.syntax.parser import BOM, read_plan_text

    try:
        raw = read_plan_text(path, newline="", keep_bom=True)
    except KamError:
        return None  # unreadable: the check says why
    found = check_one(path)
    edits = [e for d in found.diagnostics for e in safe_edits(d, found.source)]
    bom = BOM if raw.startswith(BOM) else ""
    text = bom + apply_edits(raw.removeprefix(BOM), edits)
    try:
        text = format_text(text, path)
    except KamError:
        pass  # does not parse yet: the renames only
    if text == raw:
        return None
    write_text(text, path, "check --fix")
    return f"fixed {path}: {len(edits)} rename(s)" + ("" if len(edits) else ", layout")


def cmd_check(args) -> int:
    for path in args.plans if args.fix else ():  # an output refused (KR70x) is main's to print
        said = fix_one(path)
        if said:
            print(for_terminal(said), file=sys.stderr)
    try:
        results = [check_one(path, args.data, args.db, args.db_timeout) for path in args.plans]
        text = render(args.output_format, results, args.strict, color=color_wanted(sys.stderr))
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
    if args.engines:
        write_stdout(engines_report(results))
    return 1 if failing else 0


def engines_report(results) -> str:
    """`--engines`: per plan that checks, the engines that run it (run/engines.py, a static
    pass, no data read), then one line per engine that does not: the construct and its line."""
    from kamrules.cli.common import load
    from kamrules.run.engines import ENGINES, engines_for

    lines = []
    for r in results:
        if any(d.is_error for d in r.diagnostics):
            continue
        found = engines_for(load(r.path)[0])
        lines.append(f"{r.path}: runs on {', '.join(e for e in ENGINES if found[e] is None)}")
        lines += [f"  {e}: not run: {found[e]}" for e in ENGINES if found[e] is not None]
    return "".join(for_terminal(line) + "\n" for line in lines)


def register(sub):
    from kamrules.cli import examples

    c = sub.add_parser("check", help="check and lint plans before any data is read", **examples(
        "kamrules check plans/abtasty-kam.kam",
        "kamrules check --strict --output-format github plans/*.kam",
        "kamrules check plans/abtasty-kam.kam --data examples/01-abtasty-nrr-upsell"))
    c.add_argument("plans", nargs="+")
    c.add_argument("--output-format", choices=FORMATS, default="text",
                   help="text (default, on stderr), json, github, junit or sarif (on stdout)")
    c.add_argument("--strict", action="store_true", help="warnings fail the check too (exit 1)")
    c.add_argument("--data", metavar="DIR",
                   help="also load the plan's data from DIR and run the data lints (KR507)")
    c.add_argument("--fix", action="store_true",
                   help="apply the safe fixes in place (did-you-mean renames, the `fmt` layout), "
                        "then report what is left")
    c.add_argument("--engines", action="store_true",
                   help="also print, per plan, which engines run it (columnar, duckdb, spark, interpreter) and, "
                        "for one that does not, the construct and its line; no data is read")
    add_db_arg(c)
    c.add_argument("-q", "--quiet", action="store_true", help="print nothing when there is no finding")
    c.set_defaults(func=cmd_check)
