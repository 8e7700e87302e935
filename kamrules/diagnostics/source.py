"""Source text and positions: `SourceFile` holds a plan's text, `Span` points into it.

Spans are 1-based (line, column) pairs, end exclusive, and never take part in node
equality: two AST nodes that differ only by position compare equal.
"""
from __future__ import annotations

import attrs


@attrs.frozen
class Span:
    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def to_json(self) -> dict:
        return {"file": self.file, "line": self.line, "column": self.column,
                "end_line": self.end_line, "end_column": self.end_column}


NO_SPAN = Span("<builtin>", 0, 0, 0, 0)


@attrs.frozen
class SourceFile:
    path: str
    text: str

    def line_text(self, line: int) -> str:
        lines = self.text.split("\n")
        if 1 <= line <= len(lines):
            return lines[line - 1].rstrip("\r")
        return ""
