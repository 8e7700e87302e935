"""Diagnostics: every problem a user can cause, as data with a code, a span and a hint.

A stage collects its diagnostics and returns them; nothing is printed here except by the
renderers (`render_text`, `to_json`). `KamError` carries diagnostics out of a stage that
cannot continue (bad data, a runtime failure); the CLI turns it into a message and exit 1.
"""
from __future__ import annotations

import difflib
import enum
from typing import Iterable

import attrs

from kamrules.diagnostics.source import Span


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


# Code registry: code -> one-line description (used by docs and `kamrules explain-code`).
CODES = {
    "KR001": "syntax error",
    "KR002": "invalid literal or header value",
    "KR003": "duplicate definition",
    "KR004": "plan header missing or repeated",
    "KR005": "plan limit exceeded (size, nesting, literal length or range, table rows)",
    "KR006": "input file outside the data folder",
    "KR007": "too many definitions in the plan",
    "KR008": "decision table too large to check",
    "KR101": "undefined name",
    "KR102": "cycle between definitions",
    "KR103": "wrong number of arguments",
    "KR104": "unknown column or attribute",
    "KR105": "unknown type",
    "KR201": "type mismatch",
    "KR202": "currency mismatch",
    "KR203": "invalid money arithmetic",
    "KR204": "number compared with money",
    "KR205": "condition is not a boolean",
    "KR206": "invalid argument",
    "KR301": "decision table has a gap",
    "KR302": "decision table rows overlap",
    "KR303": "decision table row can never match",
    "KR304": "decision table row has the wrong number of cells",
    "KR305": "marginal curve row is not a slice",
    "KR306": "marginal curve rows leave a gap",
    "KR307": "marginal curve rows overlap",
    "KR308": "marginal curve of the wrong shape",
    "KR340": "amounts in the payee's pay currency mixed with a fixed currency",
    "KR341": "pay currency column not understood",
    "KR342": "a Money column without its currency in a plan paid per payee's currency",
    "KR343": "amounts of payees paid in different currencies added together",
    "KR401": "data file missing",
    "KR402": "data column missing",
    "KR403": "data value invalid",
    "KR404": "duplicate key in data",
    "KR405": "lookup found no row or several rows",
    "KR406": "empty value used in arithmetic",
    "KR407": "division by zero",
    "KR408": "data limit exceeded",
    "KR409": "reference to an unknown row",
    "KR410": "a `require` rule fails on a data row",
    "KR411": "input resolves outside the data folder (a link)",
    "KR412": "input is not a regular file (FIFO, device, socket)",
    "KR413": "value out of range during the computation",
    "KR414": "number outside the supported range",
    "KR415": "result needs more precision than kamrules keeps exactly",
    "KR416": "a pool's total is not one value",
    "KR417": "cannot tell which periods to compute",
    "KR418": "the data's dates span more than a century",
    "KR420": "fx_rates gives two rates for one day, or a rate not above 0",
    "KR425": "unknown or repeated input option",
    "KR426": "invalid value of an input option",
    "KR427": "input options that do not apply to the source",
    "KR428": "a cell does not fit the input's declared dialect",
    "KR429": "file is not text in the declared encoding",
    "KR430": "a `from sql` input and no database given",
    "KR431": "database URL not understood or its driver not installed",
    "KR432": "database connection or query failed",
    "KR433": "floating-point column from the database",
    "KR440": "the SQL backend does not run this plan exactly",
    "KR441": "the SQL backend needs duckdb and sqlglot",
    "KR442": "--memory-limit is not a size",
    "KR443": "--memory-limit without --engine duckdb",
    "KR444": "DuckDB ran out of memory under --memory-limit",
    "KR445": "--engine spark needs pyspark",
    "KR446": "--engine spark needs Java",
    "KR447": "Spark did not start, or stopped",
    "KR448": "--engine postgres needs a PostgreSQL database",
    "KR449": "--engine postgres needs psycopg",
    "KR450": "a payee reports to two managers on the same day",
    "KR451": "reporting lines form a cycle",
    "KR460": "a payee's pay currency is not an ISO 4217 code",
    "KR461": "a database query ran over its time limit",
    "KR462": "PostgreSQL stopped a run of --engine postgres",
    "KR501": "lint: curve is not monotonic",
    "KR502": "lint: curve is not continuous",
    "KR503": "lint: unused definition",
    "KR504": "lint: number without a unit where money or a percentage is expected",
    "KR505": "lint: component weights do not add up to 100%",
    "KR506": "lint: more than 4 measures feed the components",
    "KR507": "lint: variable share of the package outside 10%-50% (needs --data)",
    "KR601": "plan test failed",
    "KR701": "cannot write an output",
    "KR702": "output would replace an input or the plan",
    "KR703": "output path is a symbolic link",
    "KR704": "output path is a folder",
    "KR705": "output folder expected",
    "KR706": "output path is a socket or a block device",
    "KR707": "output folder holds files kamrules did not write",
    "KR708": "output FIFO has no reader",
    "KR721": "a --period with no data in it",
    "KR731": "kamrules serve cannot start",
    "KR765": "serve: a network address without --tokens",
    "KR766": "serve: a bad row in the tokens file",
    "KR767": "serve: the tokens file cannot be read",
    "KR768": "serve: a manager in a plan without teams",
    "KR741": "init: the project folder is not empty",
    "KR742": "init: unknown template or no folder given",
    "KR750": "a closed period cannot be recomputed under its recorded plan",
    "KR751": "the plan's adjustments input is not the ledger's",
    "KR760": "no PDF engine installed",
    "KR761": "the PDF engine failed",
    "KR762": "a PDF needs an output file",
    "KR801": "not a ledger folder",
    "KR802": "period closed already",
    "KR803": "an earlier period is still open",
    "KR804": "the ledger changed since it was recorded",
    "KR805": "not a closed period of the ledger",
    "KR806": "ledger option misused",
    "KR807": "ledger and plan on different calendars",
    "KR808": "no earning code for a component",
    "KR809": "a manual adjustment is malformed",
    "KR810": "a manual adjustment in a closed period",
}


@attrs.frozen
class Diagnostic:
    code: str
    message: str
    span: Span | None = None
    hint: str | None = None
    severity: Severity = Severity.ERROR
    related: tuple = ()  # ((Span, note), ...): other places, each shown with its own lines
    labels: tuple = ()   # ((Span, label), ...): other spans underlined beside the culprit

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_json(self) -> dict:
        out = {"code": self.code, "severity": self.severity.value, "message": self.message,
               "hint": self.hint}
        if self.span is not None:
            out.update(self.span.to_json())
        out["related"] = [{"note": note, **span.to_json()} for span, note in self.related]
        if self.labels:
            out["labels"] = [{"label": label, **span.to_json()} for span, label in self.labels]
        return out


class KamError(Exception):
    """A stage stopped on problems the user caused; `diagnostics` says which."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = tuple(diagnostics)
        super().__init__("; ".join(d.message for d in self.diagnostics))


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None
