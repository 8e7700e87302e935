"""Diagnostics for a terminal, as rustc and Elm show them: the header, the quoted source lines
with a caret under the culprit and a labelled underline under each other span of the same
file (`^` the culprit, `-` the others), then the notes and the hint.

Every diagnostic ends with a `= help:` line saying where its explanation is, in plain text
too: `kamrules rule KRnnn` (works offline, on every machine), or the code's section of the
published docs when $KAMRULES_DOCS_URL is set (`help_pointer`).

Colour only when asked (`Style(color=True)`, decided by `color_wanted`: NO_COLOR wins, then
FORCE_COLOR, then whether the stream is a terminal). With colour and $KAMRULES_DOCS_URL, the
code also links to its section of the docs (an OSC 8 hyperlink). Every part that comes
from a plan or data goes through `textsafe.for_terminal` before the colours are added, so no
control character of theirs reaches the terminal, and the carets count shown characters.
"""
from __future__ import annotations

import os
import attrs

from kamrules.diagnostics.rules import docs_url
from kamrules.diagnostics.source import SourceFile, Span
from kamrules.diagnostics.textsafe import for_terminal

_RESET = "\x1b[0m"
_COLORS = {"error": "\x1b[1;31m", "warning": "\x1b[1;33m", "primary_error": "\x1b[1;31m",
           "primary_warning": "\x1b[1;33m", "secondary": "\x1b[1;34m", "gutter": "\x1b[1;34m",
           "bold": "\x1b[1m", "hint": "\x1b[1;36m", "note": "\x1b[1;32m"}


def color_wanted(stream) -> bool:
    """Colour for `stream`? NO_COLOR (any value) says no, FORCE_COLOR (any value but 0) says
    yes, otherwise only a terminal that is not `dumb` gets colour (never a pipe or a file)."""
    if os.environ.get("NO_COLOR"):
        return False
    force = os.environ.get("FORCE_COLOR")
    if force and force != "0":
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"
    except ValueError:  # a closed stream
        return False


@attrs.frozen
class Style:
    color: bool = False

    def paint(self, kind: str, text: str) -> str:
        return f"{_COLORS[kind]}{text}{_RESET}" if self.color and text else text

    def link(self, url: str, text: str) -> str:
        return f"\x1b]8;;{url}\x1b\\{text}\x1b]8;;\x1b\\" if self.color else text


PLAIN = Style()


def help_pointer(code: str) -> str:
    """Where to read about `code`: its section of the docs published at $KAMRULES_DOCS_URL,
    otherwise the command that prints it (`kamrules rule KRnnn`), which needs no network."""
    return docs_url(code) if os.environ.get("KAMRULES_DOCS_URL") else f"kamrules rule {code}"


def _shown(text: str) -> str:
    """A quoted source line as shown: a tab as four spaces, controls escaped (textsafe)."""
    return for_terminal(text.replace("\t", "    "))


def _underline(text: str, span: Span) -> tuple[int, int]:
    """(pad, width) of the underline of `span` on its first line, in shown characters."""
    width = (span.end_column - span.column) if span.end_line == span.line else len(text) - span.column + 1
    start = span.column - 1
    return len(_shown(text[:start])), max(1, len(_shown(text[start:start + max(1, width)])))


def caret_block(source: SourceFile | None, marks, style: Style = PLAIN, severity: str = "error") -> list[str]:
    """The quoted lines of `marks` ((span, label or None, primary?), ...), all of one file:
    each line once, in order, and under it one underline per mark on it."""
    if source is None:
        return []
    n_lines = len(source.text.split("\n"))
    marks = [m for m in marks if 0 < m[0].line <= n_lines or (m[0].line > 0 and source.line_text(m[0].line))]
    if not marks:
        return []
    width = len(str(max(m[0].line for m in marks)))
    gutter_w = max(4, width)
    out, last = [], None
    for line in sorted({m[0].line for m in marks}):
        text = source.line_text(line)
        if last is not None and line > last + 1:
            out.append(style.paint("gutter", " " * (gutter_w - 3) + "..."))
        last = line
        gutter = f"{line:>{gutter_w}} | "
        out.append(style.paint("gutter", gutter) + _shown(text))
        on_line = sorted((m for m in marks if m[0].line == line), key=lambda m: (not m[2], m[0].column))
        for span, label, primary in on_line:
            pad, w = _underline(text, span)
            char, kind = ("^", f"primary_{severity}") if primary else ("-", "secondary")
            under = char * w + (f" {for_terminal(label)}" if label else "")
            out.append(" " * (len(gutter) + pad) + style.paint(kind, under))
    return out


def render_text(diag, sources: dict[str, SourceFile] | None = None, style: Style = PLAIN) -> str:
    """The diagnostic for a terminal (see the module's docstring)."""
    sources = sources or {}
    severity = diag.severity.value
    where = for_terminal(f"{diag.span}: ") if diag.span is not None else ""
    code = style.paint(severity, diag.code)
    if os.environ.get("KAMRULES_DOCS_URL"):
        code = style.link(docs_url(diag.code), code)
    head = style.paint(severity, f"{severity}[") + code + style.paint(severity, "]")
    lines = [f"{where}{head}: " + style.paint("bold", for_terminal(diag.message))]
    labels = diag.labels
    if diag.span is not None:
        marks = [(diag.span, None, True)]
        marks += [(s, text, False) for s, text in labels if s.file == diag.span.file]
        lines += caret_block(sources.get(diag.span.file), marks, style, severity)
    for span, text in labels:
        if diag.span is None or span.file != diag.span.file:
            lines.append(f"  {style.paint('note', 'note:')} " + for_terminal(f"{span}: {text}"))
            lines += ["  " + line for line in caret_block(sources.get(span.file), [(span, None, False)], style)]
    for span, note in diag.related:  # a note's own place: its caret is a primary one
        lines.append(f"  {style.paint('note', 'note:')} " + for_terminal(f"{span}: {note}"))
        lines += ["  " + line for line in caret_block(sources.get(span.file), [(span, None, True)], style, severity)]
    if diag.hint:
        lines.append(f"  {style.paint('hint', 'hint:')} " + for_terminal(diag.hint))
    lines.append(f"  = {style.paint('note', 'help:')} {help_pointer(diag.code)}")
    return "\n".join(lines)
