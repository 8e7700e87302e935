"""Plain words for statements: amounts as a KAM reads them (12,600.00 EUR, 110%) and one
sentence per trace node (what the number is and where it comes from), in the statement's
locale.

A sentence is kept as a `Said` (a gettext message id and its fields, report/i18n.py) until
it is rendered: `say(L, said)` translates it and writes its values in the locale, with every
digit the English derivation shows (`12,600.00 EUR` in English, `12 600,00 €` in French; a
non-terminating quotient keeps its digits). English keeps the plain forms `explain` uses;
the notes the engine writes in a trace (`row 4: | >= 110% |`, `weight 0.125 of 7`, an
assignment) are read back (`engine_note`) so that they are said in the locale too.

The CSV contract keeps plain amounts (report/payouts.py); these forms are for people only.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import attrs

from kamrules.core.numeric import Money, format_amount
from kamrules.trace.tree import TraceNode, carried, show_value
from kamrules.report import i18n


def amount(value: Decimal) -> str:
    """12600 -> '12,600.00' (half up to the cent, never '-0.00')."""
    return format_amount(value, thousands=True)


def money(m: Money) -> str:
    """Money of a derivation: `12,600.00 EUR`; in a currency of other minor digits, to the cent
    with the zeros beyond its digits dropped (`6,234 JPY`, `0.5 JPY`: i18n.derivation_digits)."""
    if m.currency is None or i18n.precision(m.currency) == 2:
        return f"{amount(m.amount)} {m.currency}"
    whole, frac, negative = i18n.derivation_digits(m.amount, m.currency)
    return f"{'-' if negative else ''}{int(whole):,}{'.' + frac if frac else ''} {m.currency}"


def percent(v: Decimal) -> str:
    """0.775 -> '77.5%', 1.1 -> '110%'."""
    return show_value(v, "rate")


def value(v, unit: str | None = None, L=None) -> str:
    """A value of the derivation, exact as the English one shows it, in locale L (English
    when None)."""
    t = type(v)
    if t is Money or t is Decimal or t is dt.date or t is list:  # written once per value: they recur on a page
        key = (t, v if t is not list else len(v), unit, L)  # the text is a function of the value (1.0 and
        text = _WRITTEN.get(key)  # 1.00 write the same; rows: of how many)
        if text is None:
            if len(_WRITTEN) > 65536:
                _WRITTEN.clear()
            text = _WRITTEN[key] = _value(v, unit, L)
        return text
    return _value(v, unit, L)


_WRITTEN: dict = {}  # (type, value, unit, locale) -> value()


def _value(v, unit, L) -> str:
    if L is not None and L.lang != i18n.DEFAULT:
        return _localised(v, unit, L)
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


_AGG = re.compile(r"^(\w+)\(\.\.\. (\w+) \.\.\.\)")
_PAID = re.compile(r"^paid\((\w+), (.+)\)$")


@attrs.frozen
class Said:
    """A sentence kept until it is rendered in a locale: a catalog message id (English) and
    its fields, each a text (a name, plan code), a `Val`, a `Shown` or another `Said`."""
    msgid: str
    values: dict = attrs.Factory(dict)


@attrs.frozen
class Val:
    """A value written at rendering, exact, in the locale (`value`)."""
    v: object
    unit: str | None = None


@attrs.frozen
class Shown:
    """A value as the engine wrote it in a trace note (show_value: `12600.00 EUR`, `5%`,
    `0.125`): kept as it is in English, its signs those of the locale elsewhere."""
    text: str


def say(L, x) -> str:
    """x (a Said, Val, Shown, text, or a list of them) in locale L (English when None)."""
    t = type(x)
    if t is str:
        return x
    if t is Said:
        return (L or i18n.get(None))._(x.msgid, **{k: v if type(v) is str else say(L, v) for k, v in x.values.items()})
    if t is Val:
        return value(x.v, x.unit, L)
    if isinstance(x, str):
        return x
    if isinstance(x, Said):
        return (L or i18n.get(None))._(x.msgid, **{k: say(L, v) for k, v in x.values.items()})
    if isinstance(x, Val):
        return value(x.v, x.unit, L)
    if isinstance(x, list):  # notes joined as the engine joins them
        return (L or i18n.get(None)).semicolon().join(say(L, p) for p in x)
    if isinstance(x, Shown):
        return _shown_en(x.text) if L is None or L.lang == i18n.DEFAULT else _relaid(x.text, L)
    return str(x)


def _shown_en(text: str) -> str:
    """An engine's note in English as written, but money in a currency of other minor digits
    than two with its digits (`0.50 JPY` -> `0.5 JPY`), as money() writes it, and a carried
    quotient (a pool weight of 80 digits) to 6 decimals, marked `≈`."""
    if c := carried(text):
        return "≈" + c
    m = _MONEY_SHOWN.fullmatch(text)
    if m is None or i18n.precision(m.group(2)) == 2:
        return text
    return money(Money(Decimal(m.group(1)), m.group(2)))


_MONEY_SHOWN = re.compile(r"(-?\d+(?:\.\d+)?) ([A-Z]{3})")
_RATE_SHOWN = re.compile(r"(-?\d+(?:\.\d+)?)%")


def _relaid(text: str, L) -> str:
    if c := carried(text):
        return "≈" + L.exact(c)
    m = _MONEY_SHOWN.fullmatch(text)
    if m:
        return L.exact_money(Decimal(m.group(1)), m.group(2))
    m = _RATE_SHOWN.fullmatch(text)
    if m:
        return L.exact_percent(m.group(1))
    return L.exact(text)


def _localised(v, unit, L) -> str:
    """value() in a locale other than English: the same digits, the locale's signs."""
    if isinstance(v, Money):
        return L.exact_money(v.amount, v.currency)
    if isinstance(v, bool):
        return L._("true") if v else L._("false")
    if unit == "rate" and isinstance(v, Decimal):
        return L.exact_percent(percent(v)[:-1])
    if isinstance(v, (Decimal, int)):
        return L.exact(format(v.normalize(), "f") if isinstance(v, Decimal) else str(v))
    if isinstance(v, list):
        return L._("{n} rows", n=len(v)) if len(v) != 1 else L._("1 row")
    if isinstance(v, dt.date):
        return L.date(v)
    if v is None:
        return L._("(empty)")
    return show_value(v, unit)


_VERBS = {"sum": "the sum", "count": "the count", "avg": "the average", "min": "the smallest",
          "max": "the largest", "one": "the value", "exists": "whether there is a row"}


def call_label(text: str, units: list):
    """A decision's call as the trace names it, `payout_rate(0.91)`, with its arguments said in
    the locale by their declared units (`payout_rate(91 %)` in French); kept as it is when it
    does not split into as many plain arguments."""
    m = re.fullmatch(r"(\w+)\((.*)\)", text)
    args = m.group(2).split(", ") if m else []
    if not m or not 1 <= len(args) <= 2 or len(args) != len(units):
        return text
    shown = []
    for a, unit in zip(args, units):
        if unit == "rate" and re.fullmatch(r"-?\d+(\.\d+)?", a):
            shown.append(Val(Decimal(a), "rate"))
        elif _MONEY_SHOWN.fullmatch(a) or re.fullmatch(r"-?\d+(\.\d+)?", a):
            shown.append(Shown(a))
        else:
            return text
    if len(shown) == 1:
        return Said("{decision}({x})", dict(decision=m.group(1), x=shown[0]))
    return Said("{decision}({x}, {y})", dict(decision=m.group(1), x=shown[0], y=shown[1]))


def sentence(node: TraceNode, unit: str | None = None, label=None) -> Said:
    """One line in plain words for a trace node (no plan text, no rows: those are shown apart);
    label: how to name it, when not by its name (a decision's `call_label`)."""
    unit = unit or node.unit
    shown = Val(node.value, unit)
    if node.kind == "component":
        if node.branch and node.branch.startswith("rounded"):
            return Said("{name} pays {value} ({rounding})", dict(name=node.name, value=shown,
                                                                 rounding=_rounding(node.branch)))
        return Said("{name} pays {value}", dict(name=node.name, value=shown))
    if node.kind in ("let", "param"):
        if isinstance(node.value, list):
            if not node.value:
                return Said("{name} selects no rows", dict(name=node.name))
            return Said("{name} selects {value}", dict(name=node.name, value=shown))
        return Said("{name} is {value}", dict(name=node.name, value=shown))
    if node.kind == "aggregate":
        m = _AGG.match(node.name)
        func, table = (m.group(1), m.group(2)) if m else ("aggregate", "rows")
        n = len(node.rows)
        verb = Said(_VERBS[func]) if func in _VERBS else func
        if n == 0:
            return Said("{verb} over no rows of {table}: {value}", dict(verb=verb, table=table, value=shown))
        return Said("{verb} over {n} rows of {table}: {value}" if n != 1 else "{verb} over {n} row of {table}: {value}",
                    dict(verb=verb, n=str(n), table=table, value=shown))
    if node.kind == "decision":
        return Said("{name} reads {branch} and gives {value}", dict(
            name=label or node.name, branch=engine_note(node.branch) if node.branch else Said("the table"), value=shown))
    if node.kind == "paid":
        m = _PAID.match(node.name)
        if m:
            return Said("already paid for {component} in {period} before this period: {value}",
                        dict(component=m.group(1), period=m.group(2), value=shown))
        return Said("already paid: {value}", dict(value=shown))
    if node.kind == "share":
        return Said("share of the pool ({branch}): {value}", dict(branch=engine_note(node.branch or ""), value=shown))
    if node.kind == "team":
        n = len(node.rows)
        return Said("{name}: {value} over {n} team members" if n != 1 else "{name}: {value} over {n} team member",
                    dict(name=node.name, value=shown, n=str(n)))
    if node.kind == "condition":
        return Said("{name}: {value}", dict(name=node.name, value=Val(bool(node.value))))
    return Said("{name}: {value}", dict(name=node.name, value=shown))


def _rounding(branch: str):
    """'rounded half_up from 1234.5678' (the engine's) -> 'rounded half_up from the exact 1234.5678'."""
    m = re.fullmatch(r"rounded (\S+) from (\S+)", branch)
    if m is None:
        return branch.replace("from", "from the exact", 1)
    return Said("rounded {mode} from the exact {exact}", dict(mode=m.group(1), exact=Shown(m.group(2))))


_NOTES = (  # the notes the interpreter writes in a trace, read back to be said in a locale
    (re.compile(r"row (\d+): \| (.*) \|"), "row {row}: | {cells} |", ("row", "cells")),
    (re.compile(r"rows ([\d, ]+)"), "rows {rows}", ("rows",)),
    (re.compile(r"weight (\S+) of (\S+)"), "weight {weight} of {total}", ("*weight", "*total")),
    (re.compile(r"weight (\S+) of (\S+) in pool (.+)"), "weight {weight} of {total} in pool {pool}",
     ("*weight", "*total", "pool")),
    (re.compile(r"prorated (\d+) of (\d+) days in (\S+)"), "prorated {days} of {total} days in {period}",
     ("days", "total", "period")),
    (re.compile(r"(\w+) of (.+) on (\d{4}-\d\d-\d\d): assignments row (\d+) \((.+) from (\d{4}-\d\d-\d\d)\)"),
     "{role} of {account} on {day}: assignments row {row} ({payee} from {start})",
     ("role", "account", "@day", "row", "payee", "@start")),
    (re.compile(r"(\w+) row (\d+)"), "{decision} row {row}", ("decision", "row")),
    (re.compile(r"row (\d+): (\S+(?: [A-Z]{3})?) x (\S+) = (\S+(?: [A-Z]{3})?)"),
     "row {row}: {part} x {rate} = {earned}", ("row", "*part", "*rate", "*earned")),
    (re.compile(r"slices: none"), "slices: none", ()),
    # holds (backends/interp/holds.py) and payment periods (backends/interp/run.py)
    (re.compile(r"held: (\S+) paid later"), "held: {amount} paid later", ("*amount",)),
    (re.compile(r"released: (\S+) held in earlier periods"), "released: {amount} held in earlier periods",
     ("*amount",)),
    (re.compile(r"released: (\S+) held in earlier periods \(the fiscal year's last period pays what is held\)"),
     "released: {amount} held in earlier periods (the fiscal year's last period pays what is held)",
     ("*amount",)),
    (re.compile(r"paid for (\S+): (.+)"), "paid for {period}: {parts}, in this order", ("period", "parts")),
)


def engine_note(text: str):
    """A note of the interpreter's trace (a decision's row, a pool's weight, an assignment, a
    marginal table's slices) as a Said, to be said in a locale; other text as it is. Read
    once per text (the same notes recur on every step and row that carries them)."""
    got = _NOTED.get(text)
    if got is None:
        if len(_NOTED) > 65536:
            _NOTED.clear()
        got = _NOTED[text] = _engine_note(text)
    return text if isinstance(got, str) else got


_NOTED: dict = {}  # note -> its Said, or the text itself


def _engine_note(text: str):
    for rx, msgid, names in _NOTES:
        m = rx.fullmatch(text)
        if m:
            values = {}
            for name, got in zip(names, m.groups()):
                if name[0] == "*":
                    values[name[1:]] = Shown(got)
                elif name[0] == "@":
                    values[name[1:]] = Val(dt.date.fromisoformat(got))
                else:
                    values[name] = got
            return Said(msgid, values)
    m = re.fullmatch(r"slices: (.+)", text)
    if m:
        return Said("slices: {slices}", dict(slices=[engine_note(s) for s in m.group(1).split("; ")]))
    m = re.fullmatch(r"(\w+): (.+)", text)
    if m:
        inner = engine_note(m.group(2))
        if not isinstance(inner, str):
            return Said("{decision}: {note}", dict(decision=m.group(1), note=inner))
    return text


def row_line(ref, unit: str | None = None, L=None) -> str:
    """'dl-0001 (deals row 2): 60,000.00 EUR' in locale L (English when None)."""
    said = (L or i18n.get(None))._  # say(L, Said(...)) without building the Said
    if ref.contribution is None:
        return said("{id} ({table} row {row})", id=say(L, ref.id), table=say(L, ref.table), row=str(ref.row))
    return said("{id} ({table} row {row}): {value}", id=say(L, ref.id), table=say(L, ref.table), row=str(ref.row),
                value=value(ref.contribution, unit, L))


def why_line(L, note: str) -> str:
    """A row's why-note (an assignment, a decision row) in locale L."""
    return say(L, engine_note(note))
