"""`kamrules test [PATH...]`: run the example cases written beside plans (see plantest.py).

Prints one line per case (PASS / FAIL / ERROR), a table of the differing rows for each
failure (payee, period, component, expected, actual, difference), the diagnostics of each
error, and a pytest-like summary; exit 1 when a case fails. `--junit-xml FILE` writes a
JUnit report for CI. `--db URL` (or $KAMRULES_DB): the database of the plan's `from sql`
inputs, queried once per case, as `run --db`.
"""
from __future__ import annotations

import os
import sys
import time
import xml.etree.ElementTree as ET

from kamrules.files import outputs
from kamrules.diagnostics.render import render_text
from kamrules.core.numeric import format_amount
from kamrules.syntax.parser import plan_source
from kamrules.run.plantest import CaseResult, discover, run_tests
from kamrules.diagnostics.textsafe import for_terminal
from kamrules.run.session import add_engine_arg
from kamrules.cli.common import add_db_arg, guard_outputs

MARK = {"pass": "PASS", "fail": "FAIL", "error": "ERROR"}


def mismatch_table(result: CaseResult) -> str:
    header = ("payee", "period", "component", "expected", "actual", "difference", "note")
    rows = [(m.payee_id, m.period, m.component,
             format_amount(m.expected) if m.expected is not None else "(not listed) 0.00",
             format_amount(m.actual) if m.actual is not None else "(none) 0.00",
             ("+" if m.difference > 0 else "") + format_amount(m.difference), m.note)
            for m in result.mismatches]
    rows = [tuple(for_terminal(c) for c in r) for r in rows]  # ids from the case files
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    numeric = {3, 4, 5}
    lines = []
    for r in [header] + rows:
        lines.append("  ".join(r[i].rjust(widths[i]) if i in numeric else r[i].ljust(widths[i])
                               for i in range(len(header))).rstrip())
    return "\n".join(lines)


def _diag_text(result: CaseResult) -> str:
    sources = {}
    for d in result.diagnostics:
        f = d.span.file if d.span is not None else None
        if f and f.endswith(".kam") and f not in sources:
            source = plan_source(f)
            if source is not None:
                sources[f] = source
    return "\n".join(render_text(d, sources) for d in result.diagnostics)


def summary_text(results: list[CaseResult], untested: list[str], seconds: float) -> str:
    out = []  # names, descriptions and messages from the case files: escaped (textsafe)
    width = max((len(for_terminal(r.id)) for r in results), default=0)
    for r in results:
        desc = r.description.splitlines()[0] if r.description else ""
        desc = "  " + (desc if len(desc) <= 72 else desc[:71] + "...") if desc else ""
        out.append(for_terminal(f"{MARK[r.status]:<5} {for_terminal(r.id):<{width}}{desc}".rstrip()))
    for plan in untested:
        out.append(for_terminal(f"NONE  {plan}: no tests (add case folders under "
                   f"{os.path.join(os.path.dirname(plan) or '.', 'tests', os.path.splitext(os.path.basename(plan))[0])}/)"))
    bad = [r for r in results if r.status != "pass"]
    if bad:
        out.append("")
    for r in bad:
        out.append(for_terminal(f"___ {r.id} ({r.case.folder}) ___"))
        if r.message:
            out.append(for_terminal(r.message))
            if r.diagnostics:
                out.append(_diag_text(r))
        elif r.status == "fail":
            out.append(f"{len(r.mismatches)} of the rows differ:")
            out.append(mismatch_table(r))
        else:
            out.append(_diag_text(r))
        out.append("")
    counts = {s: sum(1 for r in results if r.status == s) for s in ("fail", "error", "pass")}
    parts = [f"{counts['fail']} failed"] if counts["fail"] else []
    parts += [f"{counts['pass']} passed"]
    if counts["error"]:
        parts.append(f"{counts['error']} error{'s' if counts['error'] > 1 else ''}")
    if untested:
        parts.append(f"{len(untested)} plan{'s' if len(untested) > 1 else ''} without tests")
    out.append(f"===== {', '.join(parts)} in {seconds:.2f}s =====")
    return "\n".join(out) + "\n"


def junit_xml(results: list[CaseResult], seconds: float) -> str:
    suite = ET.Element("testsuite", name="kamrules", tests=str(len(results)),
                       failures=str(sum(r.status == "fail" for r in results)),
                       errors=str(sum(r.status == "error" for r in results)), time=f"{seconds:.3f}")
    for r in results:
        case = ET.SubElement(suite, "testcase",  # folder names may hold controls XML cannot carry
                             classname=for_terminal(os.path.splitext(os.path.basename(r.case.plan))[0]),
                             name=for_terminal(r.case.name), file=for_terminal(r.case.folder),
                             time=f"{r.seconds:.3f}")
        if r.status == "fail":
            el = ET.SubElement(case, "failure",
                               message=for_terminal(r.message or f"{len(r.mismatches)} payout rows differ"))
            el.text = _diag_text(r) if r.message else mismatch_table(r)
        elif r.status == "error":
            el = ET.SubElement(case, "error", message=for_terminal(
                "; ".join(f"{d.code} {d.message}" for d in r.diagnostics)))
            el.text = _diag_text(r)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def cmd_test(args) -> int:
    started = time.perf_counter()
    paths = args.paths or ["plans"]
    if args.junit_xml:
        plans, cases, _ = discover(paths)
        for case in cases:
            outputs.protect_tree(case.folder, "a file of test case")
        guard_outputs(args, [(p, None) for p in plans])
    results, untested, problems = run_tests(paths, args.engine, args.db, args.db_timeout)
    seconds = time.perf_counter() - started
    for d in problems:
        print(render_text(d), file=sys.stderr)
    if args.junit_xml:
        outputs.write_text(junit_xml(results, seconds), args.junit_xml, "--junit-xml")
    if results or untested or not problems:  # nothing ran because of the paths: the errors alone
        outputs.write_stdout(summary_text(results, untested, seconds))
    failed = problems or any(r.status != "pass" for r in results) or (args.strict and untested)
    return 1 if failed else 0


def register(sub):
    from kamrules.cli import examples

    t = sub.add_parser("test", help="run the example cases written beside plans (plans/tests/<plan>/<case>/)",
                     **examples(
        "kamrules test",
        "kamrules test plans/abtasty-kam.kam",
        "kamrules test my-plan --strict --junit-xml report.xml"))
    t.add_argument("paths", nargs="*", help="plans, folders of plans, or case folders (default: plans)")
    t.add_argument("--junit-xml", metavar="FILE", help="also write a JUnit XML report")
    t.add_argument("--strict", action="store_true", help="fail when a plan has no tests")
    add_engine_arg(t)
    add_db_arg(t)
    t.set_defaults(func=cmd_test)
