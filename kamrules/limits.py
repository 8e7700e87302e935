"""Every size limit kamrules enforces, in one place: plans, expressions, literals, data.

A limit exceeded is a Diagnostic (KR005 for the plan, KR408 for the data), never a
RecursionError, a MemoryError or a hang. The values are generous for real plans and CRM
exports; they exist so that a hostile or broken file fails fast and clearly.
"""
from __future__ import annotations

# ---- plan text (parser.py)
MAX_PLAN_BYTES = 2_000_000        # a real plan is a few kilobytes
MAX_PLAN_LINES = 50_000
MAX_NESTING = 60                  # brackets, `not`, unary minus, else-if chains... in one expression
MAX_NUMBER_CHARS = 40             # digits (with `_` and `.`) of one number literal in a plan

# ---- data files (data.py)
MAX_ROWS = 20_000_000             # rows in one input table (load_table(max_rows=...) overrides)
MAX_CELL_CHARS = 10_000           # characters in one cell (CSV) or string value (JSON)
MAX_NUMBER_DIGITS = 40            # characters of one numeric cell (`-123456.78` is 10)

# ---- the exact numeric range (money.py, data.py; docs/security-numbers.md)
# A Money, Rate or Number value in the data (and a number literal in a plan) has at most
# MAX_INTEGER_DIGITS digits before the point and MAX_FRACTION_DIGITS after it (leading zeros
# of the integer part and trailing zeros of the fraction do not count; Money: at most its
# currency's minor units after the point; a Rate written with `%`: two fewer after it).
# Beyond: KR414 on load. Inside: sums and products are exact or refused (KR415).
MAX_INTEGER_DIGITS = 18
MAX_FRACTION_DIGITS = 12
MAX_DIAGNOSTICS = 50              # data errors reported before stopping


def _diag(path: str, line: int, col: int, message: str, hint: str):
    from .diagnostics import Diagnostic
    from .source import Span
    return Diagnostic("KR005", message, Span(path, line, col, line, col + 1), hint)


def plan_text_problem(text: str, path: str):
    """A Diagnostic when the plan text is over a size or bracket-nesting limit, else None.

    Runs before the parser: brackets are counted outside strings and comments, so a file of
    ten thousand `(` fails here rather than deep inside a recursive walk."""
    if len(text.encode("utf-8")) > MAX_PLAN_BYTES:
        return _diag(path, 1, 1, f"the plan is {len(text.encode('utf-8'))} bytes (at most {MAX_PLAN_BYTES})",
                     "split it, or check that --plan points at a .kam file")
    lines = text.count("\n") + 1
    if lines > MAX_PLAN_LINES:
        return _diag(path, MAX_PLAN_LINES + 1, 1, f"the plan has {lines} lines (at most {MAX_PLAN_LINES})",
                     "split it, or check that --plan points at a .kam file")
    depth, line, col, in_str, in_comment = 0, 1, 0, False, False
    for ch in text:
        col += 1
        if ch == "\n":
            line, col, in_str, in_comment = line + 1, 0, False, False
        elif in_comment:
            continue
        elif in_str:
            in_str = ch != '"'
        elif ch == '"':
            in_str = True
        elif ch == "#":
            in_comment = True
        elif ch in "([":
            depth += 1
            if depth > MAX_NESTING:
                return nesting_problem(path, line, col)
        elif ch in ")]":
            depth -= 1
    return None


def nesting_problem(path: str, line: int, col: int):
    return _diag(path, line, col, f"this expression nests more than {MAX_NESTING} levels deep",
                 "name the inner parts with `let` definitions")


def tree_too_deep(tree) -> tuple | None:
    """(line, column) of a parse-tree node deeper than the nesting limit, else None.

    Iterative, so it is safe on any tree; counts the expression levels a recursive walk
    (the AST transformer, the checker, the evaluator) would descend."""
    stack = [(tree, 0)]
    limit = MAX_NESTING * 3  # a level of nesting is at most ~3 tree levels (paren -> atom -> op)
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            meta = getattr(node, "meta", None)
            return (getattr(meta, "line", 1) or 1, getattr(meta, "column", 1) or 1)
        for child in getattr(node, "children", ()):
            if hasattr(child, "children"):
                stack.append((child, depth + 1))
    return None


def number_literal_problem(text: str) -> str | None:
    digits = text.replace("_", "")
    if len(digits) > MAX_NUMBER_CHARS:
        return f"the number `{text[:20]}...` has {len(digits)} characters (at most {MAX_NUMBER_CHARS})"
    return None
