"""The checked plan: what the checker hands the engine (and reports, lints, fmt).

Names are bound (`resolution`), every expression node has a type (`types`), definitions are
in dependency order, and each `where` filter is split into index keys the aggregation layer
can use (`filters`). AST nodes are kept as the expression form; maps are keyed by `id(node)`:
the checks (lints, discovery) read them; the backends read the lowered plan (`ir`,
check.lower), where types, names and filters are fields of the nodes.
"""
from __future__ import annotations

import attrs

from kamrules.syntax import ast
from kamrules.diagnostics.source import SourceFile, Span
from kamrules.core.ir import Definition  # node: the syntax node here (ast.Param, Let, Component, Decision)
from kamrules.core.types import Type


@attrs.frozen
class ColumnSpec:
    name: str
    type: Type
    optional: bool
    unique: bool
    span: Span
    references: str | None = None


@attrs.frozen
class Dialect:
    """A spreadsheet dialect declared on an input (`with delimiter ";" decimal "," ...`):
    kamrules.data.dialect reads the file's cells through it into canonical cells."""
    delimiter: str = ","
    decimal: str = "."
    thousands: str = ""  # "" when numbers have no thousands separator
    date: str = "YYYY-MM-DD"
    encoding: str = "utf-8"


@attrs.frozen
class InputTable:
    name: str
    file: str
    key: str | None
    columns: dict  # name -> ColumnSpec, in declaration order
    span: Span
    dialect: Dialect | None = None  # None: the canonical CSV contract
    sql: str | None = None  # `from sql "..."`: the query the session runs on --db


@attrs.frozen
class Filter:
    """A `rows where cond` split for the aggregation layer.

    eq: ((column, expr), ...) conjuncts `column == expr` whose expr does not read the row;
    in_period: ((column, expr), ...) conjuncts `date_column in expr` (expr is a Period);
    rest: the remaining conjuncts, evaluated per row;
    assigned: ((column, role_expr, payee_expr), ...) for conjuncts
      `assignee(column, role, day) == payee_expr` (kept in `rest` too): the rows whose
      account was ever assigned to that payee in that role are the only candidates.
    """
    table: str
    eq: tuple
    in_period: tuple
    rest: tuple
    assigned: tuple = ()


@attrs.frozen
class Placement:
    """A filter that places rows of `table` in periods (kamrules/check/discovery.py): the rows
    whose `column` satisfies `column <op> <chain of attributes on period>`; how "unknown"
    is a filter whose placement the checker cannot follow (span: that conjunct)."""
    table: str
    column: str | None
    how: str  # "date" | "period" | "unknown"
    op: str = "in"  # in | == | < | <= | > | >=  (the column on the left)
    chain: tuple = ()  # e.g. ("year_to_date",), ("start",), ("previous", "end")
    span: Span | None = None


@attrs.define
class CheckedPlan:
    source: SourceFile
    plan: ast.Plan
    name: str
    version: str | None
    currency: str
    period_kind: str
    fiscal_start: int
    payees_table: str
    payee_key: str
    round_step: object  # Decimal
    round_mode: str
    eligible: object | None
    inputs: dict  # name -> InputTable
    definitions: dict  # name -> Definition, dependency order
    components: list  # component names, plan order
    types: dict  # id(node) -> Type
    resolution: dict  # id(Name/Attr node) -> tuple
    filters: dict  # id(Where node) -> Filter
    discovery: list  # [Placement]: the filters that place rows in periods
    requires: list = attrs.Factory(list)  # ast.Require rules checked on the data before a run
    payment_kind: str | None = None  # payment frequency when it differs from `period`
    ir: object = attrs.field(default=None, init=False, eq=False, repr=False)  # core.ir.Plan (check.lower.ir_of);
    # not an init argument, so attrs.evolve(checked, ...) lowers the changed plan afresh

    def type_of(self, node) -> Type:
        return self.types[id(node)]
