"""The derivation trace: for every amount, the rule that made it and the rows behind it.

A trace is a tree of `TraceNode`s (attrs records, not log lines): each node holds a name,
its value, the span of the plan line, the branch taken (if-arm, curve/table row) and, for
aggregations, the input rows used with each row's contribution. `to_json` makes it data for
reports, statements and CI artifacts.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import attrs

from kamrules.core.calendar import Period
from kamrules.core.numeric import Money, format_amount
from kamrules.diagnostics.source import Span


@attrs.frozen
class RowRef:
    table: str
    row: int
    id: str
    contribution: object = None  # the row's value in a sum/avg/min/max; None for filters
    why: tuple = ()  # why this row counts for this payee: assignment, split line, table row

    def to_json(self) -> dict:
        out = {"table": self.table, "row": self.row, "id": self.id}
        if self.contribution is not None:
            out["contribution"] = value_json(self.contribution)
        if self.why:
            out["why"] = list(self.why)
        return out


@attrs.define(eq=False)
class TraceNode:
    name: str
    # component | let | param | decision | aggregate | paid | share | team | condition (a `when`,
    # a test of `eligible when`) | eligible | operand (a value a test reads: payee.start_date)
    kind: str
    span: Span | None
    value: object = None
    branch: str | None = None
    rows: list = attrs.Factory(list)
    children: list = attrs.Factory(list)
    unit: str | None = None  # the type kind of the value ("rate" prints as a percentage)

    def to_json(self, seen=None) -> dict:
        out = {"name": self.name, "kind": self.kind, "value": value_json(self.value)}
        if self.span is not None:  # the plan file's name, as meta gives it: not where it was run from
            out["span"] = dict(self.span.to_json(), file=_file_name(self.span.file))
        if self.branch:
            out["branch"] = self.branch
        if self.rows:
            out["rows"] = [r.to_json() for r in self.rows]
        if self.children:
            out["children"] = [c.to_json() for c in self.children]
        return out

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()


def _file_name(path: str) -> str:
    """The name of the file at `path` (either separator)."""
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def owned_nodes(trace: TraceNode):
    """(node, owner) of every node of a payout's derivation once, depth first in trace order,
    earlier periods' `paid(...)` subtrees left out; owner: the let the node is read under (the
    nearest let above it), None at the component's own level."""
    seen, stack = set(), [(trace, None)]
    while stack:
        node, owner = stack.pop()
        if id(node) in seen or node.kind == "paid":
            continue
        seen.add(id(node))
        yield node, owner
        here = node.name if node.kind == "let" else owner
        stack.extend((c, here) for c in reversed(node.children))


def calculation_parts(node: TraceNode) -> list:
    """The subtrees of one payout's tree, one per calculation period: a payout that adds up
    several (`payment quarter` on a monthly plan) has the component of each month as its
    children (backends/interp/run.py); any other payout is its own single part. A value read in
    one part (a let, the rows of a sum) is that month's, not the payment period's."""
    if node.kind == "component" and len(node.children) > 1 and \
            all(c.kind == "component" and c.name == node.name for c in node.children):
        return list(node.children)
    return [node]


def span_text(source, span) -> str:
    """The plan's text under `span` (a condition, an operand), its lines joined by one space;
    '' when the span is not in the source (a built-in, another file)."""
    lines = source.text.splitlines() if source is not None else []
    if span is None or not (1 <= span.line <= span.end_line <= len(lines)):
        return ""
    if span.line == span.end_line:
        return lines[span.line - 1][span.column - 1:span.end_column - 1].strip()
    parts = [lines[span.line - 1][span.column - 1:], *lines[span.line:span.end_line - 1],
             lines[span.end_line - 1][:span.end_column - 1]]
    return " ".join(p.strip() for p in parts if p.strip())


def value_json(v):
    if isinstance(v, Money):
        return {"amount": str(v.amount), "currency": v.currency}
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, (dt.date, Period)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return f"{len(v)} rows"
    if v is None or isinstance(v, (bool, str, int)):
        return v
    if hasattr(v, "ref"):
        return v.ref()
    return str(v)


def show_value(v, unit: str | None = None) -> str:
    """A value as a KAM would read it: 12600.00 EUR, 110%, 2025-03-31."""
    if unit == "rate" and isinstance(v, Decimal):
        pct = (v * 100).normalize()
        text = format(pct, "f")
        if "." in text and len(text.split(".")[1]) > 4:
            text = format(pct.quantize(Decimal("0.0001")), "f").rstrip("0").rstrip(".")
        return text + "%"
    if isinstance(v, Money):
        return f"{format_amount(v.amount)} {v.currency}"
    if isinstance(v, Decimal):
        return format(v.normalize(), "f") if v == v.to_integral_value() or abs(v) >= 10 else _pct_or_num(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "(empty)"
    return str(value_json(v))


def exact_value(v, unit: str | None = None) -> str:
    """A value with every digit it has (explain --exact): 3333.333333333333333333333333 EUR."""
    if isinstance(v, Money):
        return f"{_digits(v.amount, 2)} {v.currency}"
    if unit == "rate" and isinstance(v, Decimal):
        return _digits(v * 100, 0) + "%"
    if isinstance(v, Decimal):
        return _digits(v, 0)
    return show_value(v, unit)


def reading_value(v, unit: str | None = None) -> tuple[str, str | None]:
    """(the value as read: amounts to the cent, other numbers to 4 decimals, rates to 4
    decimals of a percent; the exact value when that reading rounds it, else None)."""
    if isinstance(v, Money):
        shown, amount = f"{format_amount(v.amount)} {v.currency}", v.amount
        rounded = Decimal(format_amount(v.amount))
    elif isinstance(v, Decimal) and not isinstance(v, bool):
        amount = v * 100 if unit == "rate" else v
        rounded = amount.quantize(READING) if amount.as_tuple().exponent < -4 else amount
        shown = _digits(rounded, 0) + ("%" if unit == "rate" else "")
    else:
        return show_value(v, unit), None
    return shown, (None if rounded == amount else exact_value(v, unit))


READING = Decimal("0.0001")
CARRIED_DIGITS = 20  # a number with more digits than this in a note is a carried quotient
_NUMBER = re.compile(r"-?\d+\.\d+")


def carried(text: str) -> str | None:
    """`text` rounded to 6 decimals when it is a plain number of more than 20 digits (a quotient
    carried approximately, a pool weight of 69/90: 0.7666...67 with 80 digits), else None."""
    if _NUMBER.fullmatch(text) is None or len(text) - 1 - (text[0] == "-") <= CARRIED_DIGITS:
        return None
    return _digits(Decimal(text).quantize(Decimal("0.000001")), 0)


def readable_note(text: str) -> str:
    """A trace note for reading: each carried quotient in it rounded to 6 decimals and marked
    `≈` (`weight ≈0.766667 of ≈2.266667`); explain --exact prints the note as it is."""
    return _NUMBER.sub(lambda m: "≈" + c if (c := carried(m.group())) else m.group(), text)


def _digits(v: Decimal, places: int) -> str:
    """Plain digits, no exponent, trailing zeros dropped down to `places` decimals."""
    text = format(v.normalize(), "f") if v else "0"
    whole, _, frac = text.partition(".")
    frac = frac.ljust(places, "0")
    return whole + ("." + frac if frac else "")


def _pct_or_num(v: Decimal) -> str:
    s = format(v.normalize(), "f")
    return s


@attrs.frozen
class Payout:
    payee_id: str
    period: Period
    component: str
    amount: Decimal
    currency: str
    trace: TraceNode | None = attrs.field(default=None, eq=False)
