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

from kamrules.diagnostics.source import Span, SourceFile
from kamrules.diagnostics.textsafe import for_terminal


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
    "KR501": "lint: curve is not monotonic",
    "KR502": "lint: curve is not continuous",
    "KR503": "lint: unused definition",
    "KR504": "lint: number without a unit where money is expected",
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
}


@attrs.frozen
class Diagnostic:
    code: str
    message: str
    span: Span | None = None
    hint: str | None = None
    severity: Severity = Severity.ERROR
    related: tuple = ()  # ((Span, note), ...)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_json(self) -> dict:
        out = {"code": self.code, "severity": self.severity.value, "message": self.message,
               "hint": self.hint}
        if self.span is not None:
            out.update(self.span.to_json())
        out["related"] = [{"note": note, **span.to_json()} for span, note in self.related]
        return out


class KamError(Exception):
    """A stage stopped on problems the user caused; `diagnostics` says which."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = tuple(diagnostics)
        super().__init__("; ".join(d.message for d in self.diagnostics))


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


def _shown(text: str) -> str:
    """A quoted source line as shown: a tab as four spaces, controls escaped (textsafe)."""
    return for_terminal(text.replace("\t", "    "))


def _caret_block(source: SourceFile | None, span: Span) -> list[str]:
    if source is None or span.line <= 0:
        return []
    text = source.line_text(span.line)
    if not text and span.line > len(source.text.split("\n")):
        return []
    width = (span.end_column - span.column) if span.end_line == span.line else len(text) - span.column + 1
    width = max(1, width)
    start = span.column - 1
    # the caret sits under the escaped text: count shown characters, not source characters
    pad, width = len(_shown(text[:start])), max(1, len(_shown(text[start:start + width])))
    gutter = f"{span.line:>4} | "
    return [gutter + _shown(text), " " * (len(gutter) + pad) + "^" * width]


def render_text(diag: Diagnostic, sources: dict[str, SourceFile] | None = None) -> str:
    """The diagnostic for a terminal: every part from a plan or data (file names, messages
    quoting cells, source lines) goes through `textsafe.for_terminal`, so no control
    character of theirs reaches the terminal; the caret still points under the escaped text."""
    sources = sources or {}
    where = f"{diag.span}: " if diag.span is not None else ""
    lines = [for_terminal(f"{where}{diag.severity.value}[{diag.code}]: {diag.message}")]
    if diag.span is not None:
        lines += _caret_block(sources.get(diag.span.file), diag.span)
    for span, note in diag.related:
        lines.append(for_terminal(f"  note: {span}: {note}"))
        lines += ["  " + line for line in _caret_block(sources.get(span.file), span)]
    if diag.hint:
        lines.append(for_terminal(f"  hint: {diag.hint}"))
    return "\n".join(lines)
