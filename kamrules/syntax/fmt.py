"""The plan formatter: one canonical layout for `.kam` text, comments kept (`kamrules fmt`).

Layout rules (like black, for plans):
- header lines (`plan`, `version`, `currency`, ...) first, in their written order; then the
  other statements in their written order;
- a blank line between statement groups (a change of statement kind); inside a group, one
  blank line where the author left at least one, none otherwise;
- inputs: one column per line, indented two spaces; decision tables: one row per line, the
  cells padded so that the `|` line up;
- an expression stays on one line unless the line would exceed 100 characters; then it
  breaks after `=` (or `:`), and if still too long before `and` / `or`, then before `for` /
  `where` and an if's `then` / `else`, then before `+` / `-`, and last inside a call's (or list's) brackets, after `(`
  and after each `,`; continuation lines indented two spaces;
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
from kamrules.syntax.parser import BOM, parse

WIDTH = 100
INDENT = "  "


class FmtError(Exception):
    """The formatter met a node it cannot print (a new syntax item not taught to fmt)."""


class _Break:
    """A possible line break (`text`, a space or nothing, when the line fits); lower `level`
    breaks first."""

    def __init__(self, level: int, name: str, text: str = " "):
        self.level, self.name, self.text = level, name, text

    def __repr__(self):
        return self.name


LOGIC = _Break(0, "LOGIC")    # before `and` / `or`
CLAUSE = _Break(1, "CLAUSE")  # before `for` / `where` (when and/or breaks are not enough)
BRANCH = _Break(1, "BRANCH")  # before the `then` / `else` of an if (with for / where)
ARITH = _Break(2, "ARITH")    # before a top-level `+` / `-`
OPEN = _Break(3, "OPEN", "")  # after a call's `(` or a list's `[` (the last resort)
ARG = _Break(3, "ARG")        # after the `,` between a call's (or a list's) arguments


# ---------------------------------------------------------------- expressions
def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _join(parts) -> str:
    return "".join(p.text if isinstance(p, _Break) else p for p in parts)


def _segments(parts, level: int) -> list[tuple[str, str]]:
    """The pieces between the breaks of `level` or lower, each with the text that joins it to
    the piece before when both stay on one line."""
    segs, cur, sep = [], [], ""
    for p in parts:
        if isinstance(p, _Break) and p.level > level:
            cur.append(p.text)
        elif isinstance(p, _Break):
            segs.append((sep, "".join(cur)))
            cur, sep = [], p.text
        else:
            cur.append(p)
    segs.append((sep, "".join(cur)))
    return segs


def _flat(node) -> str:
    return _join(_parts(node))


def _parts(node) -> list:
    """The expression as text pieces with BREAK markers before `and` / `or`."""
    printer = _EXPR.get(type(node))
    if printer is None:
        raise FmtError(f"fmt does not know the expression node {type(node).__name__}")
    return printer(node)


def _binop(n: ast.BinOp) -> list:
    left, right = _parts(n.left), _parts(n.right)
    if n.op in ("and", "or"):
        return left + [LOGIC, n.op + " "] + right
    if n.op in ("+", "-"):
        return left + [ARITH, n.op + " "] + right
    return left + [f" {n.op} "] + right


def _bracketed(open_: str, items, close: str) -> list:
    out = [open_] + ([OPEN] if items else [])
    for i, item in enumerate(items):
        if i:
            out += [",", ARG]
        out += _parts(item)
    return out + [close]


def _call(n: ast.Call) -> list:
    return _bracketed(n.func + "(", n.args, ")")


def _list(n: ast.ListLit) -> list:
    return _bracketed("[", n.items, "]")


_EXPR = {
    ast.Number: lambda n: [n.text],
    ast.MoneyLit: lambda n: [f"{n.text} {n.currency}"],
    ast.DateLit: lambda n: [n.text],
    ast.PeriodLit: lambda n: [n.text],
    ast.String: lambda n: [f'"{_escape(n.value)}"'],
    ast.Bool: lambda n: ["true" if n.value else "false"],
    ast.Name: lambda n: [n.id],
    ast.Attr: lambda n: _parts(n.obj) + ["." + n.name],
    ast.Index: lambda n: _parts(n.obj) + ["["] + _parts(n.key) + ["]"],
    ast.Each: lambda n: _parts(n.expr) + [CLAUSE, "for "] + _parts(n.source),
    ast.By: lambda n: ["by "] + _parts(n.expr),
    ast.Call: _call,
    ast.BinOp: _binop,
    ast.Not: lambda n: ["not "] + _parts(n.expr),
    ast.Neg: lambda n: ["-"] + _parts(n.expr),
    ast.IfElse: lambda n: ["if "] + _parts(n.cond) + [BRANCH, "then "] + _parts(n.then)
    + [BRANCH, "else "] + _parts(n.else_),
    ast.Where: lambda n: _parts(n.source) + [CLAUSE, "where "] + _parts(n.cond),
    ast.ListLit: _list,
    ast.Paren: lambda n: ["("] + _parts(n.expr) + [")"],
}


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


# ---------------------------------------------------------------- line breaking
def _layout(head: str, parts: list, tail: str = "") -> list[str]:
    """`head body tail` on one line if it fits, else broken after head, then before and/or.

    If a line is still too long, `for` / `where`, then `+` / `-`, then a call's brackets
    become break points too.
    A line that cannot be broken (no break point left) stays long.
    """
    body = _join(parts)
    one = f"{head} {body}{tail}"
    if len(one) <= WIDTH:
        return [one]
    if len(INDENT + body + tail) <= WIDTH:
        return [head, INDENT + body + tail]
    for level in (LOGIC.level, CLAUSE.level, ARITH.level, ARG.level):
        lines = [head] + _fill(_segments(parts, level), tail)
        if all(len(line) <= WIDTH for line in lines):
            break
    return lines


def _fill(segs: list[tuple[str, str]], tail: str) -> list[str]:
    lines, cur = [], ""
    for sep, seg in segs:
        if cur and len(f"{INDENT}{cur}{sep}{seg}") > WIDTH:
            lines.append(INDENT + cur)
            cur = seg
        else:
            cur = f"{cur}{sep}{seg}" if cur else seg
    if tail and len(INDENT + cur + tail) > WIDTH:
        return lines + [INDENT + cur, INDENT + tail.strip()]
    return lines + [INDENT + cur + tail]


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
        return _layout(f"{word} {s.name}{typed} =", _parts(s.expr))
    return lines


def _component(s: ast.Component) -> list[str]:
    """A head too long for one line puts `when` and `hold when` on lines of their own (broken
    like an expression), `=` ending the last; the amount follows as after any head."""
    head = f"component {s.name}"
    if s.valid_from is not None or s.valid_to is not None:
        head += f" from {_flat(s.valid_from)} to {_flat(s.valid_to)}"
    clauses: list = []
    for word, cond in (("when ", s.when), ("hold when ", s.hold)):
        if cond is not None:
            clauses += ([LOGIC] if clauses else []) + [word] + _parts(cond)
    heads = _layout(head, clauses, " =") if clauses else [head + " ="]
    return heads[:-1] + _layout(heads[-1], _parts(s.expr))


def _require(s: ast.Require) -> list[str]:
    tail = f' else "{s.message}"' if s.message is not None else ""
    return _layout(f"require every {s.table}:", _parts(s.cond), tail)


_SIMPLE = {
    ast.Header: _header,
    ast.Eligible: lambda s: _layout("eligible when", _parts(s.cond)),
    ast.Require: _require,
    ast.Param: _def("param"),
    ast.Let: _def("let"),
    ast.Component: _component,
}


def _column(c: ast.Column) -> str:
    words = [f"{c.name}:"] + (["optional"] if c.optional else []) + [_type(c.type)]
    words += (["unique"] if c.unique else []) + ([f"references {c.references}"] if c.references else [])
    return INDENT + " ".join(words)


def _input_head(s: ast.Input) -> str:
    head = f"input {s.name}"
    if s.file is not None:
        head += f' from "{s.file}"'
    if s.sql is not None:
        head += f' from sql "{_escape(s.sql)}"'
    if s.options:
        head += " with " + " ".join(f'{o.name} "{_escape(o.value)}"' for o in s.options)
    if s.key is not None:
        head += f" key {s.key}"
    return head + " {"


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
    known = set(_EXPR) | set(_SIMPLE) | {ast.Input, ast.InputOption, ast.Decision, ast.Column, ast.TypeRef,
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
        head, bodies = _input_head(node), [_column(c) for c in node.columns]
    elif isinstance(node, ast.Decision):
        head, bodies = _decision_head(node), _rows(node)
    else:
        raise FmtError(f"fmt does not know the statement {type(node).__name__}")
    lines = [_with_comment(head, st.head_trailing)]
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
