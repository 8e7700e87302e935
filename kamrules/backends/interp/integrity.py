"""Data integrity rules the plan declares, checked on the loaded tables before any payout:
`references TABLE` columns (every value is a key of that table) and `require every TABLE:
cond` rules (e.g. the split lines of each deal total 100%). Each failure names the file, the
row and the value.
"""
from __future__ import annotations

from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.check.plan import CheckedPlan
from kamrules.core import ir
from kamrules.diagnostics.source import Span
from kamrules.files.inputs import open_regular
from kamrules.backends.interp.arith import Problem
from kamrules.backends.interp.evaluator import Evaluator

MAX_REPORTED = 20


def check_integrity(plan: CheckedPlan | ir.Plan, tables: dict) -> None:
    diags: list[Diagnostic] = []
    for name, spec in plan.inputs.items():
        table = tables[name]
        columns = _header(table.path) or list(spec.columns)
        for col in spec.columns.values():
            if col.references is None:
                continue
            target = tables[col.references]
            tkey = target.spec.key or ("payee_id" if "payee_id" in target.spec.columns else None)
            known = {r.values[tkey] for r in target.rows}
            for row in table.rows:
                v = row.values[col.name]
                if v is not None and v not in known:
                    pos = columns.index(col.name) + 1 if col.name in columns else 1
                    diags.append(Diagnostic(
                        "KR409", f"`{col.name}` = {v!r} in {table.path} row {row.number} is not a "
                        f"{tkey} of `{col.references}`",
                        Span(table.path, row.number, pos, row.number, pos + 1),
                        f"add {v!r} to {target.path}, or fix the value"))
                    if len(diags) >= MAX_REPORTED:
                        raise KamError(diags)
    if plan.requires:
        ev = Evaluator(plan, tables, trace=False)
        for rule in ev.plan.requires:
            table = tables[rule.table]
            for row in table.rows:
                try:
                    ok = ev.ev(rule.cond, None, (row,))
                except Problem as p:
                    raise KamError([Diagnostic(p.code, f"{p.message} (checking row {row.number} of "
                                               f"{table.path}, {row.id})", p.span, p.hint)]) from None
                if not ok:
                    what = rule.message or "the rule on line %d is false" % rule.span.line
                    diags.append(Diagnostic(
                        "KR410", f"{rule.table} {row.id} (row {row.number} of {table.path}): {what}",
                        rule.span, "fix the data, or the rule if the data is right"))
                    if len(diags) >= MAX_REPORTED:
                        raise KamError(diags)
    if diags:
        raise KamError(diags)


def _header(path: str) -> list:
    """Column names of a CSV file (to point at the right column); empty if unreadable."""
    import csv
    try:
        with open_regular(path, False, "utf-8-sig", "") as fh:  # an input already loaded: inside the folder
            return [h.strip() for h in next(csv.reader(fh), [])]
    except (OSError, UnicodeDecodeError, csv.Error):
        return []
