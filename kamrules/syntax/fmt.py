"""The plan formatter: one canonical layout for `.kam` text, comments kept (`kamrules fmt`).

Layout rules (like black, for plans):
- header lines (`plan`, `version`, `currency`, ...) first, in their written order; then the
  other statements in their written order;
- a blank line between statement groups (a change of statement kind); inside a group, one
  blank line where the author left at least one, none otherwise;
- inputs: one column per line, indented two spaces; a head too long for a line puts `with`
  (its options) and `key` on lines of their own, indented four; decision tables: one row per
  line, the cells padded so that the `|` line up;
- an expression stays on one line unless the line would exceed 100 characters; then it
  breaks after `=` (or `:`), then at the outermost construct first (fmt_layout): before the
  `and` / `or` of a chain, the `+` / `-` of a sum, the `then` / `else` of an if, the `for` /
  `where` of a clause, after the `,` of a call's arguments; a piece that fits on the line
  stays on it, one that fits on a line of its own (a parenthesised group, a call) is kept
  whole there; continuation lines are indented two spaces, or aligned after the opening
  bracket inside brackets;
- literals are printed as written (`Number.text`, `MoneyLit.text`), and so are the
  parentheses the author wrote (`ast.Paren`); nothing else is added or removed.

Comments (`Plan.comments`, one per line) stay attached: a comment on the last line of a
statement, input column or table row trails it; any other comment leads the statement (or
column, row) that follows it. A node kind the formatter does not know raises `FmtError`
(an internal error, not a user one): the round-trip test over `plans/` catches new syntax.
A plan that starts with a UTF-8 BOM keeps it (`format_text`).
"""
from __future__ import annotations

import attrs

from kamrules.syntax import ast
from kamrules.syntax.fmt_layout import (INDENT, KNOWN, WIDTH, Align, FmtError, Group, Seq, doc, escape, flat,
                                        lines_of)
from kamrules.syntax.parser import BOM, parse

__all__ = ["FmtError", "WIDTH", "canonical_order", "format_plan", "format_text"]

def _flat(node) -> str:
    return flat(doc(node))


def _type(t: ast.TypeRef | None) -> str:
    if t is None:
        return ""
    return f"{t.name}[{t.currency}]" if t.currency else t.name


def _cell(c) -> str:
    if not isinstance(c, ast.Cell):
        return _flat(c)
    if c.kind == "any":
        return "any"
    if c.kind == "cmp":
        return f"{c.op} {_flat(c.lo)}"
    if c.kind == "range":
        return f"{_flat(c.lo)} to {c.op} {_flat(c.hi)}"
    if c.kind == "eq":
        return _flat(c.lo)
    raise FmtError(f"fmt does not know the table cell kind {c.kind!r}")


def _layout(head: str, body, tail: str = "", soft: bool = False) -> list[str]:
    """`head body tail` on one line if it fits, else the body (then the tail) from the next
    line, indented, broken as fmt_layout says."""
    one = f"{head} {flat(body)}{tail}"
    if len(one) <= WIDTH:
        return [one]
    return [head] + lines_of(INDENT, body, len(INDENT), tail, soft)


# ---------------------------------------------------------------- statements
_HEADER_FORMS = {
    "plan": lambda v: f'plan "{v[0]}"',
    "version": lambda v: f'version "{v[0]}"',
    "round": lambda v: f"round components to {v[0]} {v[1]}",
    "fiscal": lambda v: f"fiscal year starts {v[0]}",
}


def _header(s: ast.Header) -> list[str]:
    form = _HEADER_FORMS.get(s.key)
    return [form(s.values) if form else " ".join((s.key,) + tuple(s.values))]


def _def(word: str):
    def lines(s) -> list[str]:
        typed = f": {_type(s.type)}" if s.type is not None else ""
        return _layout(f"{word} {s.name}{typed} =", doc(s.expr))
    return lines


def _component(s: ast.Component) -> list[str]:
    """A head too long for one line puts `when` and `hold when` on lines of their own (broken
    like an expression), `=` ending the last; the amount follows as after any head."""
    head = f"component {s.name}"
    if s.valid_from is not None or s.valid_to is not None:
        head += f" from {_flat(s.valid_from)} to {_flat(s.valid_to)}"
    clauses = [(" " if i else "", Seq((word, doc(cond))))
               for i, (word, cond) in enumerate((w, c) for w, c in (("when ", s.when), ("hold when ", s.hold))
                                                if c is not None)]
    heads = _layout(head, Group(clauses), " =") if clauses else [head + " ="]
    return heads[:-1] + _layout(heads[-1], doc(s.expr))


def _require(s: ast.Require) -> list[str]:
    tail = f' else "{s.message}"' if s.message is not None else ""
    return _layout(f"require every {s.table}:", doc(s.cond), tail, soft=True)


_SIMPLE = {
    ast.Header: _header,
    ast.Eligible: lambda s: _layout("eligible when", doc(s.cond)),
    ast.Require: _require,
    ast.Param: _def("param"),
    ast.Let: _def("let"),
    ast.Component: _component,
}


def _column(c: ast.Column) -> str:
    words = [f"{c.name}:"] + (["optional"] if c.optional else []) + [_type(c.type)]
    words += (["unique"] if c.unique else []) + ([f"references {c.references}"] if c.references else [])
    return INDENT + " ".join(words)


def _input_head(s: ast.Input) -> list[str]:
    """`input NAME from "file" with OPTIONS key K {` on one line if it fits, else `with` and
    `key` each start a line, indented twice (the columns are indented once); options that do
    not fit on the `with` line go on under the first one."""
    first = f"input {s.name}"
    if s.file is not None:
        first += f' from "{s.file}"'  # as written (the parser keeps a path's backslashes)
    if s.sql is not None:
        first += f' from sql "{escape(s.sql)}"'
    clauses = []
    if s.options:
        options = Group((" " if i else "", f'{o.name} "{escape(o.value)}"') for i, o in enumerate(s.options))
        clauses.append(Seq(("with ", Align((options,)))))
    if s.key is not None:
        clauses.append(f"key {s.key}")
    one = " ".join([first] + [flat(c) for c in clauses]) + " {"
    if len(one) <= WIDTH:
        return [one]
    lines = [first]
    for clause in clauses:
        lines += lines_of(2 * INDENT, clause, 2 * len(INDENT))
    return lines[:-1] + [lines[-1] + " {"]


def _decision_head(s: ast.Decision) -> str:
    params = ", ".join(f"{name}: {_type(t)}" for name, t in s.params)
    head = f"{s.kind} {s.name}({params})"
    if s.result is not None:
        head += f" -> {_type(s.result)}"
    if s.hit == "marginal":
        head += " marginal"
    elif s.hit != "unique":
        head += f" hit {s.hit}"
    return head + " {"


def _rows(s: ast.Decision) -> list[str]:
    # the output cell is an expression (a Cell when written `any`, `< x`: the checker says no)
    table = [[_cell(c) for c in row.cells + (row.output,)] for row in s.rows]
    widths: dict[int, int] = {}
    for cells in table:
        for i, text in enumerate(cells):
            widths[i] = max(widths.get(i, 0), len(text))
    return [INDENT + "| " + " | ".join(t.ljust(widths[i]) for i, t in enumerate(cells)) + " |"
            for cells in table]


# ---------------------------------------------------------------- comments and blocks
@attrs.define
class _Item:
    """One printed unit (statement, column, row) with its comments."""
    node: object
    first: int
    last: int
    leading: list = attrs.Factory(list)   # [(line, text)]
    trailing: str | None = None


@attrs.define
class _Stmt(_Item):
    inner: list = attrs.Factory(list)     # _Item for columns / rows
    head_trailing: str | None = None      # comment on the `{` line
    close_leading: list = attrs.Factory(list)  # comments before `}`


def _inner_nodes(node) -> tuple:
    if isinstance(node, ast.Input):
        return node.columns
    if isinstance(node, ast.Decision):
        return node.rows
    return ()


def _check_known(node, path="plan"):
    """Walk the attrs fields: every node must be one fmt knows how to print."""
    known = set(KNOWN) | set(_SIMPLE) | {ast.Input, ast.InputOption, ast.Decision, ast.Column, ast.TypeRef,
                                          ast.Cell, ast.DecisionRow, ast.Plan}
    if attrs.has(type(node)) and type(node).__module__ == ast.__name__:
        if type(node) not in known:
            raise FmtError(f"fmt does not know the node {type(node).__name__} (in {path})")
        for f in attrs.fields(type(node)):
            _check_known(getattr(node, f.name), f"{path}.{f.name}")
    elif isinstance(node, tuple):
        for x in node:
            _check_known(x, path)


def _attach(stmts: list[_Stmt], comments) -> list:
    """Give every comment to an item; returns the comments after the last statement."""
    end_comments = []
    for line, text in comments:
        owner = None
        for st in stmts:
            if st.first <= line <= st.last:
                owner = st
        if owner is None:
            nxt = [st for st in stmts if st.first > line]
            if nxt:
                min(nxt, key=lambda s: s.first).leading.append((line, text))
            else:
                end_comments.append((line, text))
            continue
        if owner.inner or isinstance(owner.node, (ast.Input, ast.Decision)):
            inner = [it for it in owner.inner if it.first <= line <= it.last]
            if inner:
                it = inner[-1]
                if line == it.last:
                    it.trailing = text
                else:
                    it.leading.append((line, text))
            elif line == owner.first:
                owner.head_trailing = text
            elif line == owner.last:
                owner.trailing = text
            else:
                nxt = [it for it in owner.inner if it.first > line]
                if nxt:
                    nxt[0].leading.append((line, text))
                else:
                    owner.close_leading.append((line, text))
        elif line == owner.last:
            owner.trailing = text
        else:
            owner.leading.append((line, text))
    return end_comments


def _with_comment(line: str, comment: str | None) -> str:
    return f"{line}  {comment}" if comment else line


def _group(node) -> str:
    return type(node).__name__


def canonical_order(statements) -> tuple:
    """Headers first (in written order), then the other statements in written order."""
    heads = [s for s in statements if isinstance(s, ast.Header)]
    return tuple(heads) + tuple(s for s in statements if not isinstance(s, ast.Header))


def format_plan(plan: ast.Plan, text: str) -> str:
    """Canonical text of a parsed plan; `text` is its source (for blank lines and comments)."""
    _check_known(plan)
    src_lines = text.split("\n")

    def blank_above(line: int) -> bool:
        return 2 <= line <= len(src_lines) + 1 and src_lines[line - 2].strip() == ""

    stmts = []
    for s in canonical_order(plan.statements):
        st = _Stmt(s, s.span.line, s.span.end_line)
        st.inner = [_Item(x, x.span.line, x.span.end_line) for x in _inner_nodes(s)]
        stmts.append(st)
    end_comments = _attach(sorted(stmts, key=lambda s: s.first), plan.comments)

    out: list[str] = []
    # the comments above the first statement (the file's preamble) stay at the top
    first = min((st.first for st in stmts), default=None)
    preamble = []
    for st in stmts:
        if st.first == first:
            preamble = [c for c in st.leading if c[0] < first]
            st.leading = [c for c in st.leading if c[0] >= first]

    def emit(line: str, src_line: int | None, force_blank: bool = False):
        if out and (force_blank or (src_line is not None and blank_above(src_line))):
            if out[-1] != "":
                out.append("")
        out.append(line)

    for line, text in preamble:
        emit(text, line)
    prev_group = None
    for st in stmts:
        group = _group(st.node)
        force = prev_group is not None and group != prev_group
        prev_group = group
        for line, text in sorted(st.leading):
            emit(text, line, force)
            force = False
        lines = _statement_lines(st)
        # the first statement printed sits where the first written one was (after the preamble)
        emit(lines[0], first if st is stmts[0] and not st.leading else st.first, force)
        out.extend(lines[1:])
    for line, text in end_comments:
        emit(text, line)
    return "\n".join(out) + "\n" if out else ""


def _statement_lines(st: _Stmt) -> list[str]:
    node = st.node
    simple = _SIMPLE.get(type(node))
    if simple is not None:
        lines = simple(node)
        lines[-1] = _with_comment(lines[-1], st.trailing)
        return lines
    if isinstance(node, ast.Input):
        heads, bodies = _input_head(node), [_column(c) for c in node.columns]
    elif isinstance(node, ast.Decision):
        heads, bodies = [_decision_head(node)], _rows(node)
    else:
        raise FmtError(f"fmt does not know the statement {type(node).__name__}")
    lines = heads[:-1] + [_with_comment(heads[-1], st.head_trailing)]
    for item, body in zip(st.inner, bodies):
        lines += [INDENT + text for _, text in sorted(item.leading)]
        lines.append(_with_comment(body, item.trailing))
    lines += [INDENT + text for _, text in sorted(st.close_leading)]
    lines.append(_with_comment("}", st.trailing))
    return lines


def format_text(text: str, path: str = "<plan>") -> str:
    """Parse and format plan text; raises KamError (KR001) on a syntax error. A leading UTF-8
    BOM is kept, once: fmt changes the layout, not the encoding (an editor that writes the BOM
    and fmt agree)."""
    bom = BOM if text.startswith(BOM) else ""
    text = text.removeprefix(BOM)
    return bom + format_plan(parse(text, path), text)
