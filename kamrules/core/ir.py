"""The lowered plan: what every backend evaluates (built once after checking, check.lower).

Expression nodes mirror the expression forms of the language, without the syntax-only ones
(parentheses are gone). Each node carries:

- `uid`: its pre-order number within the plan (definitions in dependency order, then the
  eligibility rule, then the `require` rules), the same for two lowerings of the same text,
  so caches and column names may key by it;
- `span`: where it is written (diagnostics, the derivation tree);
- `type`: its core.types.Type as the checker inferred it (None where the checker gives none:
  the words `cent`, `half_up` of round(), a decision's cells).

Names are resolved into the nodes (`ref`, the checker's resolution: ("def", name),
("column", depth, table, column), ("param", name), ("payee",), ("period",), ("table", name),
("component", name) for paid()'s first argument, ("row", depth, table) for the table word of
a qualified column `deals.amount`, ("word", text) for a bare word argument). A `where`
carries its Filter: the conjuncts that link a row to a key (`column == expr`), to a period
(`date in period`), to an assignment (`assignee(column, role, day) == payee`), and the
residual conditions evaluated per row. A call carries the registry entry of its built-in
(`builtin`, core.builtins) or the decision it calls (`decision`); share() and team_total()
written with `by EXPR` carry that expression in `by` (not among `args`), None without it.

Everything here is attrs, slotted and picklable (`run --jobs` sends the plan to spawned
processes); no node refers to the syntax tree.
"""
from __future__ import annotations

from decimal import Decimal

import attrs

from kamrules.core.types import Type
from kamrules.diagnostics.source import SourceFile, Span


def _uid():
    return attrs.field(kw_only=True)


def _span():
    return attrs.field(kw_only=True, repr=False)


def _type():
    return attrs.field(default=None, kw_only=True, repr=False)


# ---------------------------------------------------------------- expressions
@attrs.frozen
class Number:
    value: Decimal
    text: str
    percent: bool = False
    uid: int = _uid()
    span: Span = _span()
    type: Type | None = _type()


@attrs.frozen
class MoneyLit:
    value: Decimal
    text: str
    currency: str
    uid: int = _uid()
    span: Span = _span()
    type: Type | None = _type()


@attrs.frozen
class DateLit:
    text: str
    uid: int = _uid()
    span: Span = _span()
    type: Type | None = _type()


@attrs.frozen
class PeriodLit:
    text: str
    uid: int = _uid()
    span: Span = _span()
    type: Type | None = _type()


@attrs.frozen
class String:
    value: str
    uid: int = _uid()
    span: Span = _span()
    type: Type | None = _type()


@attrs.frozen
class Bool:
    value: bool
    uid: int = _uid()
    span: Span = _span()
    type: Type | None = _type()


@attrs.frozen
class Name:
    id: str  # the name as written
    ref: tuple  # what it names (module doc)
    uid: int = _uid()
    span: Span = _span()
    type: Type | None = _type()


@attrs.frozen
class Attr:
    obj: object
    name: str
    ref: tuple | None  # ("column", ...), ("field", name), ("row_id",), ("period_attr", name)
    uid: int = _uid()
    span: Span = _span()
    type: Type | None = _type()


@attrs.frozen
class Index:
    """`table[key]`: the row of `table` whose key column is `key` (obj is the table's Name)."""
    obj: Name
    key: object
    uid: int = _uid()
    span: Span = _span()
    type: Type | None = _type()


@attrs.frozen
class Each:
    """`expr for rows`: only as an argument of an aggregation."""
    expr: object
    source: object
    uid: int = _uid()
    span: Span = _span()
    type: Type | None = _type()


@attrs.frozen
class Call:
    func: str
    args: tuple
    builtin: str | None  # the core.builtins registry entry, None for a decision
    decision: str | None = None  # the decision (curve, table) called
    by: object | None = None  # share()/team_total(): the `by EXPR` naming the payee's pool
    uid: int = _uid()
    span: Span = _span()
    type: Type | None = _type()


@attrs.frozen
class BinOp:
    op: str
    left: object
    right: object
    uid: int = _uid()
    span: Span = _span()
    type: Type | None = _type()


@attrs.frozen
class Not:
    expr: object
    uid: int = _uid()
    span: Span = _span()
    type: Type | None = _type()


@attrs.frozen
class Neg:
    expr: object
    uid: int = _uid()
    span: Span = _span()
    type: Type | None = _type()


@attrs.frozen
class IfElse:
    cond: object
    then: object
    else_: object
    uid: int = _uid()
    span: Span = _span()
    type: Type | None = _type()


@attrs.frozen
class Filter:
    """A `rows where cond` split into links and residual conditions (nodes of `cond`).

    eq: ((column, expr), ...) key links `column == expr` whose expr does not read the row;
    in_period: ((column, expr), ...) period links `date_column in expr` (expr is a Period);
    assigned: ((column, role_expr, payee_expr), ...) assignment links
      `assignee(column, role, day) == payee_expr` (also in `rest`, which checks the day);
    rest: the residual conjuncts, evaluated per row.
    """
    table: str
    eq: tuple
    in_period: tuple
    rest: tuple
    assigned: tuple = ()

    @property
    def payee_links(self) -> tuple:
        """(("eq" | "assigned", column), ...): the links that tie a row to the payee itself
        (`column == payee.id`, `assignee(column, ...) == payee.id`), in that order."""
        return (tuple(("eq", c) for c, e in self.eq if is_payee_id(e))
                + tuple(("assigned", c) for c, _, e in self.assigned if isinstance(c, str) and is_payee_id(e)))


@attrs.frozen
class Where:
    source: object
    cond: object
    filter: Filter
    uid: int = _uid()
    span: Span = _span()
    type: Type | None = _type()


@attrs.frozen
class ListLit:
    items: tuple
    uid: int = _uid()
    span: Span = _span()
    type: Type | None = _type()


# ---------------------------------------------------------------- decisions
@attrs.frozen
class Cell:
    """One condition cell: kind is 'cmp' (op lo), 'range' (lo <= x op hi), 'any', 'eq';
    `shown` is how the derivation tree prints it."""
    kind: str
    op: str | None
    lo: object | None
    hi: object | None
    shown: str
    uid: int = _uid()
    span: Span = _span()
    type: Type | None = _type()


@attrs.frozen
class DecisionRow:
    cells: tuple
    output: object
    uid: int = _uid()
    span: Span = _span()
    type: Type | None = _type()


@attrs.frozen
class Decision:
    kind: str  # "curve" | "table"
    name: str
    params: tuple  # ((name, Type), ...)
    hit: str  # "unique" | "first" | "collect_sum" | "marginal" (each row: the rate of its slice of x)
    rows: tuple
    uid: int = _uid()
    span: Span = _span()
    type: Type | None = _type()


# ---------------------------------------------------------------- definitions
@attrs.frozen
class Value:
    """A `param` or a `let`: one expression."""
    name: str
    expr: object
    span: Span


@attrs.frozen
class Component:
    name: str
    valid_from: object | None
    valid_to: object | None
    when: object | None
    expr: object
    span: Span
    hold: object | None = None  # `hold when EXPR` (Bool): deferred while EXPR holds


@attrs.frozen
class Definition:
    kind: str  # "param" | "let" | "component" | "decision"
    name: str
    node: object  # Value | Component | Decision (in check.plan: the syntax node)
    type: Type
    deps: frozenset

    @property
    def span(self) -> Span:
        return self.node.span


@attrs.frozen
class Require:
    """`require every TABLE: cond [else "message"]`."""
    table: str
    cond: object
    message: str | None
    span: Span


@attrs.define
class Plan:
    """The lowered plan: the checked plan's settings, its definitions in dependency order
    with IR expressions, its inputs, components, rounding, discovery placements, rules."""
    source: SourceFile
    name: str
    version: str | None
    currency: str
    period_kind: str
    fiscal_start: int
    payees_table: str
    payee_key: str
    round_step: Decimal
    round_mode: str
    payment_kind: str | None
    eligible: object | None
    inputs: dict  # name -> check.plan.InputTable
    definitions: dict  # name -> Definition, dependency order
    components: list  # component names, plan order
    discovery: list  # check.plan.Placement
    requires: list  # [Require]
    size: int  # number of expression nodes (uids are 0 .. size - 1)
    token: object = attrs.field(factory=object, eq=False, repr=False)  # identity for caches
    cache: dict = attrs.field(factory=dict, eq=False, repr=False)  # per-plan analyses of a backend

    def type_of(self, node) -> Type | None:
        return node.type


def is_payee_id(e) -> bool:
    """Is `e` the expression `payee.id`?"""
    return isinstance(e, Attr) and e.name == "id" and isinstance(e.obj, Name) and e.obj.ref == ("payee",)


EXPRESSIONS = (Number, MoneyLit, DateLit, PeriodLit, String, Bool, Name, Attr, Index, Each, Call,
               BinOp, Not, Neg, IfElse, Where, ListLit)
NODES = EXPRESSIONS + (Cell, DecisionRow, Decision)
LITERALS = (Number, MoneyLit, DateLit, PeriodLit, String, Bool)


_CHILD_FIELDS: dict = {}  # node class -> the names of its fields that may hold nodes


def children(node) -> list:
    """The expression nodes directly under `node` (a Where's filter holds nodes of its cond)."""
    names = _CHILD_FIELDS.get(type(node))
    if names is None:
        names = _CHILD_FIELDS[type(node)] = tuple(
            f.name for f in attrs.fields(type(node)) if f.name not in ("span", "type", "filter", "ref", "uid"))
    out = []
    for name in names:
        v = getattr(node, name)
        if isinstance(v, tuple):
            for x in v:
                if isinstance(x, tuple):
                    out.extend(y for y in x if isinstance(y, NODES))
                elif isinstance(x, NODES):
                    out.append(x)
        elif isinstance(v, NODES):
            out.append(v)
    return out


def walk(node):
    """`node` and every expression node under it, pre-order."""
    stack = [node]
    while stack:
        x = stack.pop()
        if x is None:
            continue
        yield x
        stack.extend(reversed(children(x)))


def roots(plan: Plan) -> list:
    """The top expression nodes of the plan, in uid order."""
    out = []
    for d in plan.definitions.values():
        n = d.node
        if isinstance(n, Value):
            out.append(n.expr)
        elif isinstance(n, Component):
            out += [x for x in (n.valid_from, n.valid_to, n.when, n.hold, n.expr) if x is not None]
        else:
            out.append(n)
    if plan.eligible is not None:
        out.append(plan.eligible)
    out += [r.cond for r in plan.requires]
    return out


def nodes(plan: Plan):
    """Every expression node of the plan, pre-order, where it stands (a node written once
    is met once; a Where's filter is not walked: its nodes are those of the condition)."""
    for r in roots(plan):
        yield from walk(r)


def definition_nodes(plan: Plan):
    """Every node of the plan's definitions and eligibility (not its `require` rules), once each."""
    top = roots(plan)
    seen = set()
    for x in (n for r in top[:len(top) - len(plan.requires)] for n in walk(r)):
        if x.uid not in seen:
            seen.add(x.uid)
            yield x
