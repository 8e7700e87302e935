"""The derivation tree as indented text: why a payee got an amount in a period.

Every line goes through textsafe.for_terminal: ids, text values and plan lines from the
data or the plan show their control characters escaped."""
from __future__ import annotations

from kamrules.trace.tree import Payout, TraceNode, exact_value, readable_note, reading_value
from kamrules.core.numeric import format_amount
from kamrules.diagnostics.textsafe import for_terminal

SHOWN_DIGITS = 20  # of an exact value quoted beside its rounded reading


def shown(v, unit: str | None = None, exact: bool = False) -> str:
    """A value for reading (amounts to the cent, numbers to 4 decimals), saying so when that
    rounds it; with exact, every digit."""
    if exact:
        return exact_value(v, unit)
    text, full = reading_value(v, unit)
    if full is None:
        return text
    if len(full) > SHOWN_DIGITS:
        full = full[:SHOWN_DIGITS].rstrip(".") + "..." + (" " + full.split(" ")[1] if " " in full else
                                                            "%" if full.endswith("%") else "")
    return f"≈ {text} (rounded for reading; --exact shows {full})"


def explain_text(payouts: list[Payout], source_lines: dict | None = None, max_rows: int = 20,
                 exact: bool = False) -> str:
    out = []
    by_key: dict = {}
    for p in payouts:
        by_key.setdefault((p.payee_id, p.period), []).append(p)
    for (payee, period), items in by_key.items():
        total = sum((p.amount for p in items), start=items[0].amount * 0)
        out.append(f"{payee} {period}: total {format_amount(total)} {items[0].currency}")
        for p in items:
            if p.trace is not None:
                _node(p.trace, 1, out, source_lines or {}, max_rows, set(), exact)
        out.append("")
    return "\n".join(for_terminal(line) for line in out)


def not_eligible_text(payee: str, periods: list, source, fmt: str = "text", exact: bool = False) -> str:
    """Why a payee has no payout: for each calculation period `(period, False, trace)` where the
    plan's `eligible when` is false, that condition's derivation (text), or as JSON."""
    if fmt == "json":
        import json
        return json.dumps([{"payee_id": payee, "period": str(p), "eligible": False,
                            "trace": node.to_json() if node is not None else None} for p, _, node in periods],
                          indent=2) + "\n"
    src = {i: line for i, line in enumerate(source.text.splitlines(), 1)}
    out = []
    for period, _, node in periods:
        out.append(f"{payee} {period}: no payout: not eligible (the plan's `eligible when` is false)")
        if node is not None:
            _node(node, 1, out, src, 20, set(), exact)
        out.append("")
    return "\n".join(for_terminal(line) for line in out)


def _node(n: TraceNode, depth: int, out: list, src: dict, max_rows: int, seen: set, exact: bool):
    pad = "  " * depth
    where = f"  [line {n.span.line}]" if n.span is not None and n.span.line else ""
    out.append(f"{pad}{n.name} = {shown(n.value, n.unit, exact)}{where}")
    if n.span is not None and n.span.line and n.kind in ("component", "let", "param", "eligible") and src:
        out.extend(f"{pad}  | {text}" for text in _quoted_lines(n, src))
    if n.branch:
        out.append(f"{pad}  branch: {n.branch if exact else readable_note(n.branch)}")
    if id(n) in seen:
        return
    seen.add(id(n))
    for r in n.rows[:max_rows]:
        c = f" -> {shown(r.contribution, None, exact)}" if r.contribution is not None else ""
        out.append(f"{pad}  row {r.row} of {r.table} ({r.id}){c}")
        for why in r.why:
            out.append(f"{pad}    because {why}")
    if len(n.rows) > max_rows:
        out.append(f"{pad}  ... {len(n.rows) - max_rows} more rows")
    for c in n.children:
        _node(c, depth + 1, out, src, max_rows, seen, exact)


def _quoted_lines(n: TraceNode, src: dict) -> list:
    """The plan lines a node quotes: its first line, or, for `eligible when` written over
    several lines, every line of the condition as written (their common indent removed,
    blank lines left out)."""
    last = n.span.end_line if n.kind == "eligible" and n.span.end_line > n.span.line else n.span.line
    lines = [src.get(i, "").rstrip() for i in range(n.span.line, last + 1)]
    lines = [x for x in lines if x.strip()]
    if not lines:
        return []
    indent = min(len(x) - len(x.lstrip()) for x in lines)
    return [x[indent:] for x in lines]
