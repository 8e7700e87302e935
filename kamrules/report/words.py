"""Plain words for statements: amounts as a KAM reads them (12,600.00 EUR, 110%) and one
sentence per trace node (what the number is and where it comes from).

The CSV contract keeps plain amounts (report/payouts.py); these forms are for people only.
"""
from __future__ import annotations

import re

import attrs
from decimal import Decimal

from kamrules.core.numeric import Money, format_amount
from kamrules.diagnostics.textsafe import for_markdown, for_terminal, md_code, md_inline
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


# ---------------------------------------------------------------- statement as md / text
def _who(st) -> str:
    return st.payee_id + (f" ({st.payee_name})" if st.payee_name else "")


def _plan_line(st) -> str:
    return f"Plan {st.plan_name}" + (f", version {st.plan_version}" if st.plan_version else "")


def render_md(st) -> str:
    """The statement as Markdown; every text from the plan or the data is escaped (textsafe):
    no raw HTML, no link, no `|` that splits a cell, no control character."""
    md, mi = (lambda t: for_markdown(t, in_table=True)), md_inline
    out = [f"# Payout statement: {md(_who(st))}", "", f"{md(_plan_line(st))}.", ""]
    for pv in st.periods:
        out += [f"## {md(pv.period)}: total {money(pv.total)}", ""]
        if pv.not_eligible:
            out += [f"> {mi(pv.not_eligible)}", ""]
        if pv.components:
            out += ["| component | amount |", "|---|---:|"]
            out += [f"| {md(c.name)} | {money(c.amount)} |" for c in pv.components]
            out += [f"| **total** | **{money(pv.total)}** |", ""]
        out += [f"- {mi(x)}" for x in pv.absent] + ([""] if pv.absent else [])
        if pv.paid:
            out += ["Paid earlier (ledger):", ""] + [f"- {mi(x)}" for x in pv.paid] + [""]
        for c in pv.components:
            out += [f"### {md(c.name)}: {money(c.amount)}", ""]
            for cv in c.curves:
                out += [f"**{md(cv.decision)}** at {md(cv.arg_name)} = {md(cv.x)}: {md(cv.taken)} → "
                        f"{md(cv.y)}", ""]
                out += [f"- {mi(cv.next_tier)}"] if cv.next_tier else []
                out += [f"- where to put the effort: {mi(x)}" for x in cv.effort]
                out += [f"- **{mi(cv.why_not)}**"] if cv.why_not else []
                out.append("")
            out += ["How it is computed:", ""]
            for s in c.steps:
                pad = "  " * s.depth
                out.append(f"{pad}- {mi(s.sentence)}")
                for n, text in s.lines:
                    out.append(f"{pad}  {md_code(f'{n}: {text.strip()}')}")
                out += [f"{pad}  *{mi(n)}*" for n in s.notes]
                for r in s.rows:
                    out.append(f"{pad}  - {mi(row_line(r))}" + "".join(f"; because {mi(w)}" for w in r.why))
                if s.more_rows:
                    out.append(f"{pad}  - … {s.more_rows} more rows")
            out.append("")
    out += _provenance(st, "- ", md)
    return "\n".join(out) + "\n"


def render_text(st) -> str:
    """The statement as plain text; every line escaped for a terminal (textsafe.for_terminal)."""
    out = [f"Payout statement: {_who(st)}", _plan_line(st), ""]
    for pv in st.periods:
        out.append(f"{pv.period}: total {money(pv.total)}")
        if pv.not_eligible:
            out.append(f"  {pv.not_eligible}")
        width = max([len(for_terminal(c.name)) for c in pv.components] + [5])
        shown = [money(c.amount) for c in pv.components] + [money(pv.total)]
        aw = max(len(x) for x in shown)
        for c, a in zip(pv.components, shown):
            out.append(f"  {for_terminal(c.name).ljust(width)}  {a.rjust(aw)}")
        if pv.components:
            out.append(f"  {'total'.ljust(width)}  {shown[-1].rjust(aw)}")
        out += [f"  {x}" for x in pv.absent]
        out += [f"  paid earlier: {x}" for x in pv.paid]
        for c in pv.components:
            out += ["", f"  {c.name}: {money(c.amount)}"]
            for cv in c.curves:
                out.append(f"    {cv.decision} at {cv.arg_name} = {cv.x}: {cv.taken} -> {cv.y}")
                out += [f"      {cv.next_tier}"] if cv.next_tier else []
                out += [f"      where to put the effort: {x}" for x in cv.effort]
                out += [f"      {cv.why_not}"] if cv.why_not else []
            for s in c.steps:
                pad = "    " + "  " * s.depth
                out.append(f"{pad}{s.sentence}")
                out += [f"{pad}  {n:>4} | {text.strip()}" for n, text in s.lines]
                out += [f"{pad}  {n}" for n in s.notes]
                for r in s.rows:
                    out.append(f"{pad}  - {row_line(r)}")
                if s.more_rows:
                    out.append(f"{pad}  - ... {s.more_rows} more rows")
        out.append("")
    out += _provenance(st, "  ")
    return "\n".join(for_terminal(line) for line in out) + "\n"


def _provenance(st, bullet: str, esc=str) -> list:
    out = [f"Computed from (kamrules {st.kamrules_version}, sha256):",
           f"{bullet}plan {esc(st.plan_file)}: {st.plan_sha256}"]
    out += [f"{bullet}{esc(name)} {esc(file)}: {sha}" for name, file, sha in st.inputs]
    return out
