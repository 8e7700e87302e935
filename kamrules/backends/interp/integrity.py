"""Data integrity rules the plan declares, checked on the loaded tables before any payout:
`references TABLE` columns (every value is a key of that table: kamrules.data.references)
and `require every TABLE: cond` rules (e.g. the split lines of each deal total 100%). Each failure names the file, the
row and the value.
"""
from __future__ import annotations

from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.check.plan import CheckedPlan
from kamrules.core import ir
from kamrules.data.references import MAX_REPORTED, check_references
from kamrules.backends.interp.arith import Problem
from kamrules.backends.interp.evaluator import Evaluator
from kamrules.trace.tree import show_value


def check_integrity(plan: CheckedPlan | ir.Plan, tables: dict) -> None:
    diags = check_references(plan, tables)
    if diags:  # first, as the fast loader does: a rule reading a broken reference cannot be computed
        raise KamError(diags)
    check_rules(plan, tables)


def check_rules(plan: CheckedPlan | ir.Plan, tables: dict, diags: list | None = None) -> None:
    """The `require` rules on every row of their tables, in order: KR410 per row whose
    condition is false or empty (added to `diags`, raised at MAX_REPORTED or at the end), or
    the diagnostic of the first row where the condition cannot be computed."""
    own = diags is None  # else the caller raises what was added
    diags = [] if own else diags
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
                    what = (rule.message or "the rule on line %d is false" % rule.span.line) \
                        + _compared(ev, plan, rule.cond, row)
                    diags.append(Diagnostic(
                        "KR410", f"{rule.table} {row.id} (row {row.number} of {table.path}): {what}",
                        rule.span, "fix the data, or the rule if the data is right"))
                    if len(diags) >= MAX_REPORTED:
                        raise KamError(diags)
    if own and diags:
        raise KamError(diags)



def _compared(ev, plan, cond, row) -> str:
    """For a rule that compares (`sum(share ...) == 100%`, `role in ["ae", "se"]`), the values of
    its sides that are not written constants, on this row: ` (`sum(share ...)` is 99.99%)`;
    '' for any other rule."""
    if not (isinstance(cond, ir.BinOp) and cond.op in ("==", "!=", "<", "<=", ">", ">=", "in", "not in")):
        return ""
    shown = []
    for side in (cond.left, cond.right):
        if isinstance(side, (ir.Number, ir.MoneyLit, ir.String, ir.ListLit)):
            continue
        try:
            value = ev.ev(side, None, (row,))
        except Problem:
            return ""
        sp = side.span
        text = plan.source.line_text(sp.line)[sp.column - 1:sp.end_column - 1 if sp.end_line == sp.line else None]
        text = text.strip() if len(text) <= 60 and sp.end_line == sp.line else text.strip()[:57] + "..."
        shown.append(f"`{text}` is {show_value(value, side.type.kind if side.type is not None else None)}")
    return f" ({', '.join(shown)})" if shown else ""
