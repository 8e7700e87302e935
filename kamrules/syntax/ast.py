"""The surface syntax tree of a plan: frozen attrs nodes, one per construct, with spans.

Spans are excluded from equality, so the same plan formatted differently gives equal trees
(the formatter's round-trip test relies on it).
"""
from __future__ import annotations

from decimal import Decimal

import attrs

from kamrules.diagnostics.source import Span, NO_SPAN


def _span():
    return attrs.field(default=NO_SPAN, eq=False, repr=False, kw_only=True)


# ---------------------------------------------------------------- expressions
@attrs.frozen
class Number:
    value: Decimal
    text: str
    percent: bool = False
    span: Span = _span()


@attrs.frozen
class MoneyLit:
    value: Decimal
    text: str
    currency: str
    span: Span = _span()


@attrs.frozen
class DateLit:
    text: str
    span: Span = _span()


@attrs.frozen
class PeriodLit:
    text: str
    span: Span = _span()


@attrs.frozen
class String:
    value: str
    span: Span = _span()


@attrs.frozen
class Bool:
    value: bool
    span: Span = _span()


@attrs.frozen
class Name:
    id: str
    span: Span = _span()


@attrs.frozen
class Attr:
    obj: object
    name: str
    span: Span = _span()


@attrs.frozen
class Index:
    obj: object
    key: object
    span: Span = _span()


@attrs.frozen
class Each:
    """`expr for rows`: only as an argument of an aggregation."""
    expr: object
    source: object
    span: Span = _span()


@attrs.frozen
class By:
    """`by EXPR`: only as the last argument of share() and team_total() (one pool per value)."""
    expr: object
    span: Span = _span()


@attrs.frozen
class Call:
    func: str
    args: tuple
    span: Span = _span()


@attrs.frozen
class BinOp:
    op: str
    left: object
    right: object
    span: Span = _span()


@attrs.frozen
class Not:
    expr: object
    span: Span = _span()


@attrs.frozen
class Neg:
    expr: object
    span: Span = _span()


@attrs.frozen
class IfElse:
    cond: object
    then: object
    else_: object
    span: Span = _span()


@attrs.frozen
class Where:
    source: object
    cond: object
    span: Span = _span()


@attrs.frozen
class ListLit:
    items: tuple
    span: Span = _span()


@attrs.frozen
class Paren:
    """Kept so the formatter prints the parentheses the author wrote."""
    expr: object
    span: Span = _span()


# ---------------------------------------------------------------- statements
@attrs.frozen
class TypeRef:
    name: str
    currency: str | None = None
    span: Span = _span()


@attrs.frozen
class Header:
    """`plan "X"`, `currency EUR`, `period quarter`, ...: key and its word(s)."""
    key: str
    values: tuple
    span: Span = _span()


@attrs.frozen
class Eligible:
    cond: object
    span: Span = _span()


@attrs.frozen
class Require:
    """`require every TABLE: cond [else "message"]`: a rule every data row must satisfy."""
    table: str
    cond: object
    message: str | None = None
    span: Span = _span()


@attrs.frozen
class Column:
    name: str
    type: TypeRef
    optional: bool = False
    unique: bool = False
    references: str | None = None
    span: Span = _span()


@attrs.frozen
class InputOption:
    """One `NAME "value"` after `with` in an input's head (a spreadsheet dialect option)."""
    name: str
    value: str
    span: Span = _span()


@attrs.frozen
class Input:
    name: str
    file: str | None
    key: str | None
    columns: tuple
    options: tuple = ()  # InputOption, as written after `with` (checked by the checker)
    sql: str | None = None  # `from sql "SELECT ..."`: the query (escapes read), run on --db
    span: Span = _span()


@attrs.frozen
class Param:
    name: str
    type: TypeRef | None
    expr: object
    span: Span = _span()


@attrs.frozen
class Let:
    name: str
    type: TypeRef | None
    expr: object
    span: Span = _span()


@attrs.frozen
class Component:
    name: str
    valid_from: object | None
    valid_to: object | None
    when: object | None
    expr: object
    span: Span = _span()
    hold: object | None = None  # `hold when EXPR`: paid in the first period where EXPR is false


@attrs.frozen
class Cell:
    """One condition cell: kind is 'cmp' (op lo), 'range' (lo <= x op hi), 'any', 'eq'."""
    kind: str
    op: str | None = None
    lo: object | None = None
    hi: object | None = None
    span: Span = _span()


@attrs.frozen
class DecisionRow:
    cells: tuple
    output: object
    span: Span = _span()


@attrs.frozen
class Decision:
    kind: str  # "curve" | "table"
    name: str
    params: tuple  # ((name, TypeRef), ...)
    result: TypeRef | None
    hit: str  # "unique" | "first" | "collect_sum", or "marginal" (written `marginal`, not `hit ...`)
    rows: tuple
    span: Span = _span()


@attrs.frozen
class Plan:
    statements: tuple
    comments: tuple = attrs.field(default=(), eq=False)  # ((line, text), ...)
    path: str = attrs.field(default="<plan>", eq=False)
