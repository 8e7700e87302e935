"""Payout tables: rows per payee, period and component plus a `total` row per payee-period,
as CSV (the data contract), JSON or aligned text.

The text table shows ids escaped for a terminal (textsafe.for_terminal: an ESC as `\x1b`);
CSV keeps the exact text, JSON escapes what json.dumps leaves raw (textsafe.json_safe).

Text cells that a spreadsheet would run as a formula (=, +, -, @, tab, CR) are prefixed
with a quote in CSV output so an export cannot carry a formula injection.

JSON output is an object: `meta` (kamrules version, plan name and version, sha256 of the plan
file and of each input file: see `run_meta`), `payouts` (the rows, totals included) and,
with --trace, `traces` (and, with --payee, `not_eligible`: the periods in which a payee
asked is not eligible, with the trace of `eligible when`). Nothing in it depends on the
time, the machine or the row order of the inputs, so the same plan and data give
byte-identical output.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from decimal import Decimal

from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.core.numeric import format_amount
from kamrules.files.inputs import NotRegular, open_regular
from kamrules.diagnostics.textsafe import for_terminal, json_safe
from kamrules.trace.tree import Payout

COLUMNS = ("payee_id", "period", "component", "amount", "currency")
# `run --ledger` (and the ledger's records): `adjusts` names the closed period an adjustment
# corrects. Only with a ledger: without one the CSV contract above does not change.
LEDGER_COLUMNS = ("payee_id", "period", "component", "adjusts", "amount", "currency")


def with_totals(payouts: list[Payout]) -> list[tuple]:
    """(payee_id, period, component, amount, currency) rows, a total after each payee-period."""
    rows, current, acc = [], None, Decimal(0)
    currency = None
    for p in payouts:
        key = (p.payee_id, p.period)
        if key != current:
            if current is not None:
                rows.append((*current, "total", acc, currency))
            current, acc = key, Decimal(0)
        rows.append((p.payee_id, p.period, p.component, p.amount, p.currency))
        acc += p.amount
        currency = p.currency
    if current is not None:
        rows.append((*current, "total", acc, currency))
    return rows


def safe_cell(text: str) -> str:
    if text and text[0] in "=+-@\t\r" and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
        return True
    except Exception:
        return False


class CsvWriter:
    """csv.writer with LF line ends that also quotes a cell holding a CR: Python's writer
    quotes only the line terminator's characters, and an unquoted CR splits the row for any
    reader (an id from the data may hold one)."""

    def __init__(self, buf):
        self.buf, self.plain = buf, csv.writer(buf, lineterminator="\n")

    def writerow(self, row):
        if not any(isinstance(c, str) and "\r" in c for c in row):
            return self.plain.writerow(row)
        self.buf.write(",".join(_quoted(str(c)) for c in row) + "\n")


def _quoted(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"' if any(ch in cell for ch in ',"\r\n') else cell


def to_csv(payouts: list[Payout], suffix: str = "") -> str:
    buf = io.StringIO()
    w = CsvWriter(buf)
    w.writerow(COLUMNS)
    for payee, period, comp, amount, cur in with_totals(payouts):
        w.writerow([safe_cell(payee), str(period), safe_cell(comp + suffix), format_amount(amount), cur])
    return buf.getvalue()


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open_regular(path) as fh:  # never blocks: a file swapped for a FIFO is an OSError
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run_meta(plan_path: str, plan_name: str, plan_version: str | None, tables: dict,
             version: str) -> dict:
    """What a run was computed from: the tool version and the sha256 of every file read.

    `tables` maps input name -> data.Table (its `path`); file names are given relative to
    the data folder (base names), so the record does not depend on where the files sit. An
    input without a path (`--engine postgres` read its query in place) records its query.
    """
    inputs = {}
    for name in sorted(tables):
        path = tables[name].path
        if path is None:  # a `from sql` input read in place (--engine postgres): no file, its query
            inputs[name] = {"query": tables[name].query}
            continue
        try:
            digest = sha256_file(path)
        except OSError as err:  # replaced since it was loaded
            code = "KR412" if isinstance(err, NotRegular) else "KR401"
            raise KamError([Diagnostic(code, f"input `{name}`: {path} changed while kamrules read it "
                                       f"({err.strerror or err})", hint="run again on a data folder "
                                       "nobody is writing to")]) from None
        inputs[name] = {"file": os.path.basename(path), "sha256": digest}
    return {"kamrules_version": version, "plan": {"name": plan_name, "version": plan_version,
                                                   "file": os.path.basename(plan_path),
                                                   "sha256": sha256_file(plan_path)},
            "inputs": inputs}


def to_json(payouts: list[Payout], with_trace: bool = False, meta: dict | None = None,
            not_eligible: list | None = None) -> str:
    """The JSON document of a run; with_trace: `traces` too, and, when `not_eligible` is
    given (`run --trace --payee`: see `not_eligible_of`), the periods in which a payee asked
    has no payout because the plan's `eligible when` is false, each with that condition's
    trace (what `explain` shows)."""
    out = []
    for payee, period, comp, amount, cur in with_totals(payouts):
        out.append({"payee_id": payee, "period": str(period), "component": comp,
                    "amount": format_amount(amount), "currency": cur})
    doc = {"meta": meta, "payouts": out}
    if with_trace:
        doc["traces"] = [{"payee_id": p.payee_id, "period": str(p.period), "component": p.component,
                          "trace": p.trace.to_json() if p.trace else None} for p in payouts]
        if not_eligible is not None:
            doc["not_eligible"] = [{"payee_id": payee, "period": str(period),
                                    "trace": node.to_json() if node is not None else None}
                                   for payee, period, node in not_eligible]
    if meta is None:
        del doc["meta"]
    return json_safe(json.dumps(doc, indent=2, ensure_ascii=False)) + "\n"


def not_eligible_of(payee_ids, eligibility) -> list:
    """(payee id, calculation period, trace of `eligible when`) of every period in which one of
    `payee_ids` is not eligible, by payee id then period; `eligibility(payee_id)` gives
    [(period, eligible, trace)] (run.session.Session.eligibility, as `explain` reads it)."""
    return [(payee, period, node) for payee in sorted(payee_ids or ())
            for period, eligible, node in eligibility(payee) if eligible is False]


def to_text(payouts: list[Payout]) -> str:
    rows = [(for_terminal(p), str(per), for_terminal(c), format_amount(a), cur)
            for p, per, c, a, cur in with_totals(payouts)]
    header = ("payee", "period", "component", "amount", "currency")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(5)]
    lines = []
    for r in [header] + rows:
        lines.append("  ".join(r[i].rjust(widths[i]) if i == 3 else r[i].ljust(widths[i])
                               for i in range(5)).rstrip())
    return "\n".join(lines) + "\n"


def ledger_to_csv(rows: list[tuple]) -> str:
    """`run --ledger` as CSV: rows (payee_id, period, component, adjusts, amount, currency),
    totals included (kamrules.ledger.settle.with_totals)."""
    buf = io.StringIO()
    w = CsvWriter(buf)
    w.writerow(LEDGER_COLUMNS)
    for payee, period, comp, adjusts, amount, cur in rows:
        w.writerow([safe_cell(payee), str(period), safe_cell(comp), adjusts, format_amount(amount), cur])
    return buf.getvalue()


def ledger_to_text(rows: list[tuple]) -> str:
    """`run --ledger --format table`: the same rows aligned."""
    shown = [(for_terminal(p), str(per), for_terminal(c), a, format_amount(x), cur)
             for p, per, c, a, x, cur in rows]
    header = ("payee", "period", "component", "adjusts", "amount", "currency")
    widths = [max(len(r[i]) for r in shown + [header]) for i in range(6)]
    return "\n".join("  ".join(r[i].rjust(widths[i]) if i == 4 else r[i].ljust(widths[i])
                                for i in range(6)).rstrip() for r in [header] + shown) + "\n"


def ledger_to_json(rows: list[tuple]) -> str:
    out = [{"payee_id": p, "period": str(per), "component": c, "adjusts": a or None,
            "amount": format_amount(x), "currency": cur} for p, per, c, a, x, cur in rows]
    return json_safe(json.dumps({"payouts": out}, indent=2, ensure_ascii=False)) + "\n"
