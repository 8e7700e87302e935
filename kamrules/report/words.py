"""Plain words for statements: amounts as a KAM reads them (12,600.00 EUR, 110%) and one
sentence per trace node (what the number is and where it comes from).

The CSV contract keeps plain amounts (report/payouts.py); these forms are for people only.
"""
from __future__ import annotations

import re

import attrs
from decimal import Decimal

from kamrules.core.numeric import Money, format_amount
from kamrules.trace.tree import TraceNode, show_value


def amount(value: Decimal) -> str:
    """12600 -> '12,600.00' (half up to the cent, never '-0.00')."""
    return format_amount(value, thousands=True)


def money(m: Money) -> str:
    return f"{amount(m.amount)} {m.currency}"


def percent(v: Decimal) -> str:
    """0.775 -> '77.5%', 1.1 -> '110%'."""
    return show_value(v, "rate")


def value(v, unit: str | None = None) -> str:
    if isinstance(v, Money):
        return money(v)
    if unit == "rate" and isinstance(v, Decimal):
        return percent(v)
    if isinstance(v, Decimal) and abs(v) >= 1000:
        text = format(v.normalize(), ",f")
        return text
    if isinstance(v, list):
        return f"{len(v)} row{'s' * (len(v) != 1)}"
    return show_value(v, unit)


def points(delta: Decimal) -> str:
    """A difference of rates in percentage points: 0.09 -> '9 points'."""
    p = (delta * 100).normalize()
    text = format(p, "f")
    return f"{text} point{'s' * (p != 1)}"


def find_nodes(expr, pred) -> list:
    """AST nodes under `expr` (included) for which pred(node) holds, in source order."""
    out = []

    def walk(n):
        if pred(n):
            out.append(n)
        if attrs.has(type(n)):
            for f in attrs.fields(type(n)):
                v = getattr(n, f.name)
                for x in (v if isinstance(v, tuple) else (v,)):
                    if attrs.has(type(x)):
                        walk(x)
    walk(expr)
    return out


def span_text(source, span) -> str:
    lines = source.text.splitlines()
    if span is None or not (1 <= span.line <= len(lines)):
        return ""
    if span.line == span.end_line:
        return lines[span.line - 1][span.column - 1:span.end_column - 1]
    parts = [lines[span.line - 1][span.column - 1:]]
    parts += lines[span.line:span.end_line - 1]
    parts.append(lines[span.end_line - 1][:span.end_column - 1] if span.end_line <= len(lines) else "")
    return " ".join(p.strip() for p in parts)


_AGG = re.compile(r"^(\w+)\(\.\.\. (\w+) \.\.\.\)")
_PAID = re.compile(r"^paid\((\w+), (.+)\)$")


def sentence(node: TraceNode, unit: str | None = None) -> str:
    """One line in plain words for a trace node (no plan text, no rows: those are shown apart)."""
    unit = unit or node.unit
    shown = value(node.value, unit)
    if node.kind == "component":
        s = f"{node.name} pays {shown}"
        if node.branch and node.branch.startswith("rounded"):
            s += f" ({node.branch.replace('from', 'from the exact', 1)})"
        return s
    if node.kind in ("let", "param"):
        if isinstance(node.value, list):
            return f"{node.name} selects {shown}"
        return f"{node.name} is {shown}"
    if node.kind == "aggregate":
        m = _AGG.match(node.name)
        func, table = (m.group(1), m.group(2)) if m else ("aggregate", "rows")
        n = len(node.rows)
        verb = {"sum": "the sum", "count": "the count", "avg": "the average", "min": "the smallest",
                "max": "the largest", "one": "the value", "exists": "whether there is a row"}.get(func, func)
        return f"{verb} over {n} row{'s' * (n != 1)} of {table}: {shown}"
    if node.kind == "decision":
        return f"{node.name} reads {node.branch or 'the table'} and gives {shown}"
    if node.kind == "paid":
        m = _PAID.match(node.name)
        if m:
            return f"already paid for {m.group(1)} in {m.group(2)} before this period: {shown}"
        return f"already paid: {shown}"
    if node.kind == "share":
        return f"share of the pool ({node.branch}): {shown}"
    if node.kind == "team":
        return f"{node.name}: {shown} over {len(node.rows)} team member{'s' * (len(node.rows) != 1)}"
    if node.kind == "condition":
        return f"{node.name}: {'true' if node.value else 'false'}"
    return f"{node.name}: {shown}"


def row_line(ref, unit: str | None = None) -> str:
    """'dl-0001 (deals row 2): 60,000.00 EUR'."""
    text = f"{ref.id} ({ref.table} row {ref.row})"
    if ref.contribution is not None:
        text += f": {value(ref.contribution, unit)}"
    return text
