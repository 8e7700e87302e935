"""Safe fixes: the edits a diagnostic implies with no judgement left to make, for
`check --fix`, SARIF's `fixes` and the editor's code actions.

Today one kind: a did-you-mean whose culprit is one word. When the hint is exactly
"did you mean `X`?", the diagnostic's span ends with a word the message quotes (`payout_rat`,
`compnent`, the column of `payee.annual_variabl`), and X is a plain name, the edit replaces
that word with X. Anything else (several candidates, a phrase, a type to change) is left to
the author. Formatting, the other safe fix of `check --fix`, is syntax/fmt.py's.
"""
from __future__ import annotations

import re

import attrs

from kamrules.diagnostics.source import SourceFile, Span

_HINT = re.compile(r"did you mean `([A-Za-z_][A-Za-z0-9_]*)`\?")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@attrs.frozen
class Edit:
    span: Span
    new_text: str
    title: str


def safe_edits(diag, source: SourceFile | None) -> list[Edit]:
    """The edits that fix `diag` safely (maybe none)."""
    span = diag.span
    m = _HINT.fullmatch(diag.hint or "")
    if m is None or source is None or span is None or span.line <= 0 or span.line != span.end_line:
        return []
    text = source.line_text(span.line)[span.column - 1:span.end_column - 1]
    quoted = set(re.findall(r"`([^`]+)`", diag.message))
    words = list(_WORD.finditer(text))
    if not words or words[-1].end() != len(text) or words[-1].group() not in quoted:
        return []
    word = words[-1]
    start = span.column + word.start()
    fix = Span(span.file, span.line, start, span.line, start + len(word.group()))
    return [Edit(fix, m.group(1), f"replace `{word.group()}` with `{m.group(1)}`")]


def apply_edits(text: str, edits) -> str:
    """`text` with `edits` applied (line/column spans on its lines; overlapping ones skipped)."""
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    placed = []
    for e in edits:
        s = e.span
        if not (1 <= s.line <= len(lines) and 1 <= s.end_line <= len(lines)):
            continue
        placed.append((offsets[s.line - 1] + s.column - 1, offsets[s.end_line - 1] + s.end_column - 1, e.new_text))
    out, end = [], len(text)
    for start, stop, new in sorted(placed, reverse=True):
        if stop > end:
            continue  # overlaps an edit already placed
        out.append(new + text[stop:end])
        end = start
    return text[:end] + "".join(reversed(out))
