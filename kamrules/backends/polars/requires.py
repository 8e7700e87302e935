"""`require every TABLE: cond` rules on frames: the condition evaluated for every row of the
table at once, before any payout (the interpreter checks them first too, engine.integrity).

A rule is translated by the frame machinery on a frame whose rows are the table's rows
instead of payee-periods: the rule's own row plays the payee (its columns are read as
`payee.<column>` columns), and the rows of an aggregation inside the rule are the rows
being filtered (one level down), so `sum(share for splits where splits.deal_id ==
deals.deal_id)` is a keyed group-by joined to the table on deal_id, like any aggregation.
Rows whose condition is false, empty or fails raise `RuleBroken` (a `Fallback`) naming
them: the interpreter then gives its diagnostic (KR410 naming the row, or the failing
value's) from those rows alone (run/session.py), the same as it always did. What the frame does not translate raises `Unsupported`.
"""
from __future__ import annotations

import datetime as dt

import attrs
import polars as pl

from kamrules.check.lower import ir_of
from kamrules.core.calendar import Period
from kamrules.core.numeric import Fallback
from kamrules.backends.polars.values import Col, Ctx, Unsupported
from kamrules.backends.polars.frame import Frame


class RuleFrame(Frame):
    """A Frame with one row per row of the rule's table (`outer` columns: that row)."""

    def ref(self, node):
        """The node's ref with the rule's row as `outer` and every deeper row one level up."""
        r = getattr(node, "ref", None)
        if r is not None and r[0] == "column":
            return ("outer", r[3]) if r[1] == 0 else ("column", r[1] - 1) + tuple(r[2:])
        return r

    def _Name(self, node, ctx):
        r = self.ref(node)
        if r[0] == "outer":
            return self._outer(r[1], node, ctx)
        if r[0] in ("payee", "period"):
            raise Unsupported("the payee or the period in a `require` rule", node)
        return super()._Name(node, ctx)

    def _Attr(self, node, ctx):
        r = self.ref(node)
        if r is not None and r[0] == "outer":
            return self._outer(r[1], node, ctx)
        return super()._Attr(node, ctx)

    def _outer(self, column, node, ctx):
        spec = self.plan.inputs[self.plan.payees_table].columns[column]
        if spec.type.kind == "period" or spec.type.kind == "money" and \
                spec.type.currency not in (None, self.plan.currency):
            raise Unsupported("this column in a `require` rule", node)
        return Col(pl.col(f"payee.{column}"), None, spec.type.kind, spec.optional)


class RuleBroken(Fallback):
    """Some rows break a rule, or cannot be checked on the columns: `rows` maps each rule's
    table to the line numbers (`__row`) of those rows (and of rows sharing their id), every
    rule checked, so that the interpreter words them from these rows alone."""

    def __init__(self, rows: dict):
        super().__init__("a row breaks a `require` rule (the interpreter reports it)")
        self.rows = rows


def check_requires(plan, frames: dict) -> None:
    """Raise RuleBroken when some row breaks a rule (or cannot be checked), Unsupported when
    a rule is not translated; return when every row passes."""
    plan = ir_of(plan)
    broken: dict = {}
    for rule in plan.requires:
        rows_plan = attrs.evolve(plan, payees_table=rule.table)
        period = Period(dt.date(2025, 1, 1), plan.period_kind, plan.fiscal_start)
        try:
            fr = RuleFrame(rows_plan, frames, [period])
            v = fr.ev(rule.cond, Ctx())
            if not isinstance(v, Col) or v.kind != "bool":
                raise Unsupported("a `require` condition that is not a condition", rule)
            fails = ~v.expr.fill_null(False)
            if v.err is not None:
                fails = fails | v.err.fill_null(True)
            bad = fr.df.filter(fails)["__payee"]
        except pl.exceptions.ColumnNotFoundError as err:
            raise Unsupported(f"this `require` rule ({err})", rule) from None
        if len(bad):
            rows = frames[rule.table].filter(pl.col("__id").is_in(bad.unique().implode()))["__row"]
            broken.setdefault(rule.table, set()).update(rows.to_list())
    if broken:
        raise RuleBroken(broken)


__all__ = ["check_requires", "RuleBroken", "RuleFrame"]
