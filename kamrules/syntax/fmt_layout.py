"""Line breaking for the plan formatter (`kamrules fmt`): expressions as a tree of groups.

An expression becomes a document: text, a `Seq` of documents, a `Group` (the pieces of one
construct between which a line may break: the operands of an `and` / `or` chain, of a `+` /
`-` chain, an if's condition / `then` / `else`, a `for` / `where` clause, a call's or a list's
arguments) and `Align` (the inside of brackets: a broken line inside `(`, `[` starts under the
first character after the bracket, as PEP 8's "aligned with the opening delimiter").

Rendering (`render`) fills a line piece by piece, outermost construct first:
- a whole group that fits on the current line stays on it;
- else each of its pieces in turn: kept on the current line if it fits there whole, else
  started on a new line, whole if it fits there, else broken inside (its own groups, by the
  same rule);
so a line breaks at the outermost operator first, and a parenthesised group or a call is kept
whole when it fits on a line of its own (`if A and B` / `then X else Y`, never `if A` / `and B
then ...`). One exception: `deals where ...` keeps a table's name on the line of its first
`where`. Continuation lines start at the indent of the statement's body, or under the opening
bracket. A piece with no break point left stays long. The layout depends on the tree only (not
on the written layout): fmt is idempotent.
"""
from __future__ import annotations

from kamrules.syntax import ast

WIDTH = 100
INDENT = "  "


class FmtError(Exception):
    """The formatter met a node it cannot print (a new syntax item not taught to fmt)."""


class Seq(tuple):
    """Documents printed one after the other (no break point of its own)."""


class Group(tuple):
    """(joint, document) pieces of one construct: `joint` joins a piece to the one before when
    both stay on a line (" " or ""); a line may break before any piece but the first."""


class Align(tuple):
    """One document whose broken lines start at the column where it starts (inside brackets)."""


def flat(doc) -> str:
    """The document on one line."""
    if isinstance(doc, str):
        return doc
    if isinstance(doc, Group):
        return "".join(joint + flat(d) if i else flat(d) for i, (joint, d) in enumerate(doc))
    return "".join(flat(d) for d in doc)


def _lead(doc) -> str:
    """The text a document starts with, up to its first break point."""
    if isinstance(doc, str):
        return doc
    if isinstance(doc, Group):
        return _lead(doc[0][1]) if doc else ""
    out = ""
    for d in doc:
        lead = _lead(d)
        out += lead
        if lead != flat(d):
            break
    return out


class _Lines:
    """The lines being written: `cur` is the open one."""

    def __init__(self, start: str):
        self.done: list[str] = []
        self.cur = start

    def newline(self, indent: int):
        self.done.append(self.cur.rstrip())
        self.cur = " " * indent

    def fits(self, text: str, after: int) -> bool:
        return len(self.cur) + len(text) + after <= WIDTH


def render(doc, out: _Lines, indent: int, after: int = 0):
    """Write `doc` from the end of `out.cur`; broken lines start at column `indent`; `after`
    characters must still follow on the last line (a closing bracket, a tail)."""
    if isinstance(doc, str):
        out.cur += doc
    elif out.fits(flat(doc), after):
        out.cur += flat(doc)
    elif isinstance(doc, Align):
        render(doc[0], out, len(out.cur), after)
    elif isinstance(doc, Seq):
        for i, d in enumerate(doc):
            render(d, out, indent, after + _rest(doc[i + 1:]))
    else:
        for i, (joint, d) in enumerate(doc):
            tail = after if i == len(doc) - 1 else 0
            text = flat(d)
            if i == 0:
                render(d, out, indent, tail)
            elif out.fits(joint + text, tail):
                out.cur += joint + text
            else:
                out.newline(indent)
                render(d, out, indent, tail)


def _rest(docs) -> int:
    """How much of `docs` stays on the line (up to its first break point)."""
    width = 0
    for d in docs:
        lead = _lead(d)
        width += len(lead)
        if lead != flat(d):
            break
    return width


def lines_of(start: str, doc, indent: int, tail: str = "", soft: bool = False) -> list[str]:
    """`start` then `doc` then `tail`, broken as `render` says. A `soft` tail (`else "..."`
    of a require) goes on a line of its own, indented, when it does not fit after the last
    piece; another (` =`, ` {`) stays on the last line."""
    out = _Lines(start)
    render(doc, out, indent, 0 if soft else len(tail))
    if tail and soft and not out.fits(tail, 0):
        out.newline(indent)
        tail = tail.lstrip()
    out.cur += tail
    return out.done + [out.cur]


# ---------------------------------------------------------------- expressions
def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def doc(node):
    """The document of an expression node."""
    printer = _EXPR.get(type(node))
    if printer is None:
        raise FmtError(f"fmt does not know the expression node {type(node).__name__}")
    return printer(node)


def _chain(n: ast.BinOp, ops) -> list:
    """The operands of a left-associated chain of `ops` (`a - b + c`), each with its sign."""
    if isinstance(n, ast.BinOp) and n.op in ops:
        return _chain(n.left, ops) + [(n.op + " ", n.right)]
    return [("", n)]


def _binop(n: ast.BinOp):
    for ops in (("and",), ("or",), ("+", "-")):
        if n.op in ops:
            return Group(("" if not i else " ", Seq((sign, doc(x))) if sign else doc(x))
                         for i, (sign, x) in enumerate(_chain(n, ops)))
    return Seq((doc(n.left), f" {n.op} ", doc(n.right)))


def _bracketed(open_: str, items, close: str):
    if not items:
        return open_ + close
    pieces = [doc(x) for x in items]
    pieces = [Seq((p, ",")) for p in pieces[:-1]] + [Seq((pieces[-1], close))]
    return Seq((open_, Align((Group(("" if not i else " ", p) for i, p in enumerate(pieces)),))))


def _if(n: ast.IfElse):
    """An `else if` continues the chain (one group: if, then, else if, then, ..., else)."""
    pieces = [("", Seq(("if ", doc(n.cond))))]
    while True:
        pieces.append((" ", Seq(("then ", doc(n.then)))))
        if not isinstance(n.else_, ast.IfElse):
            pieces.append((" ", Seq(("else ", doc(n.else_)))))
            return Group(pieces)
        n = n.else_
        pieces.append((" ", Seq(("else if ", doc(n.cond)))))


def _wheres(n) -> list:
    """`rows where a where b`: the source, then each `where` clause."""
    if isinstance(n, ast.Where):
        return _wheres(n.source) + [(" ", Seq(("where ", doc(n.cond))))]
    return [("", doc(n))]


def _clauses(n):
    """`x for rows where cond`: one group, a break point before `for` and before `where`."""
    if isinstance(n, ast.Each):
        (_, source), *wheres = _wheres(n.source)
        return Group([("", doc(n.expr)), (" ", Seq(("for ", source)))] + wheres)
    pieces = _wheres(n)
    if isinstance(pieces[0][1], str) and isinstance(n.source, ast.Name):
        # `deals where ...`: a table's name is no line of its own (the first clause follows it)
        pieces[:2] = [("", Seq((pieces[0][1], " ", pieces[1][1])))]
    return Group(pieces)


_EXPR = {
    ast.Number: lambda n: n.text,
    ast.MoneyLit: lambda n: f"{n.text} {n.currency}",
    ast.DateLit: lambda n: n.text,
    ast.PeriodLit: lambda n: n.text,
    ast.String: lambda n: f'"{escape(n.value)}"',
    ast.Bool: lambda n: "true" if n.value else "false",
    ast.Name: lambda n: n.id,
    ast.Attr: lambda n: Seq((doc(n.obj), "." + n.name)),
    ast.Index: lambda n: Seq((doc(n.obj), "[", Align((doc(n.key),)), "]")),
    ast.Each: _clauses,
    ast.By: lambda n: Seq(("by ", doc(n.expr))),
    ast.Call: lambda n: _bracketed(n.func + "(", n.args, ")"),
    ast.BinOp: _binop,
    ast.Not: lambda n: Seq(("not ", doc(n.expr))),
    ast.Neg: lambda n: Seq(("-", doc(n.expr))),
    ast.IfElse: _if,
    ast.Where: _clauses,
    ast.ListLit: lambda n: _bracketed("[", n.items, "]"),
    ast.Paren: lambda n: Seq(("(", Align((doc(n.expr),)), ")")),
}
KNOWN = frozenset(_EXPR)
