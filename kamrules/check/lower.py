"""Lowering: the checked plan (syntax tree + the checker's side tables) to the IR (core.ir).

`lower(checked)` is run once per checked plan (the session calls it right after checking;
`ir_of` lowers on first use and keeps the result on the checked plan): every expression
node becomes its IR node with its type and its resolution folded in, parentheses are
dropped, each `where` takes its Filter with the same IR nodes as its condition, and uids are
given in pre-order over definitions (dependency order), the eligibility rule and the
`require` rules, so two lowerings of the same text number their nodes the same way.
"""
from __future__ import annotations

from kamrules.check.plan import CheckedPlan
from kamrules.check.tables import describe
from kamrules.core import ir
from kamrules.core.builtins import REGISTRY
from kamrules.core.types import TYPE_NAMES, Type
from kamrules.syntax import ast


def ir_of(plan) -> ir.Plan:
    """The IR of a plan: `plan` itself when lowered already, else its (cached) lowering."""
    if isinstance(plan, ir.Plan):
        return plan
    if plan.ir is None:
        plan.ir = lower(plan)
    return plan.ir


def cell_text(node) -> str:
    """How a decision cell's bound is printed in the derivation tree."""
    return getattr(node, "text", None) or getattr(node, "id", None) or "(expr)"


class _Lowering:
    def __init__(self, checked: CheckedPlan):
        self.ck = checked
        self.types = checked.types
        self.res = checked.resolution
        self.filters = checked.filters
        self.memo: dict = {}  # id(syntax node) -> IR node (a node shared stays shared)
        self.uid = 0
        self.decisions = {n for n, d in checked.definitions.items() if d.kind == "decision"}

    def next(self) -> int:
        self.uid += 1
        return self.uid - 1

    def opt(self, node, parent_ref=None):
        return None if node is None else self.expr(node, parent_ref)

    def expr(self, node, parent_ref=None):
        key = id(node)
        hit = self.memo.get(key)
        if hit is not None:
            return hit
        while isinstance(node, ast.Paren):
            node = node.expr
        hit = self.memo.get(id(node))
        if hit is None:
            hit = self.memo[id(node)] = self._lower(node, parent_ref)
        self.memo[key] = hit
        return hit

    def _lower(self, node, parent_ref):
        uid = self.next()
        common = {"uid": uid, "span": node.span, "type": self.types.get(id(node))}
        t = type(node)
        if t is ast.Number:
            return ir.Number(node.value, node.text, node.percent, **common)
        if t is ast.MoneyLit:
            return ir.MoneyLit(node.value, node.text, node.currency, **common)
        if t is ast.DateLit:
            return ir.DateLit(node.text, **common)
        if t is ast.PeriodLit:
            return ir.PeriodLit(node.text, **common)
        if t is ast.String:
            return ir.String(node.value, **common)
        if t is ast.Bool:
            return ir.Bool(node.value, **common)
        if t is ast.Name:
            ref = self.res.get(id(node))
            if ref is None:
                ref = (("row",) + tuple(parent_ref[1:3]) if parent_ref and parent_ref[0] == "column"
                       else ("word", node.id))
            return ir.Name(node.id, ref, **common)
        if t is ast.Attr:
            ref = self.res.get(id(node))
            return ir.Attr(self.expr(node.obj, ref), node.name, ref, **common)
        if t is ast.Index:
            return ir.Index(self.expr(node.obj), self.expr(node.key), **common)
        if t is ast.Each:
            return ir.Each(self.expr(node.expr), self.expr(node.source), **common)
        if t is ast.Call:
            decision = node.func if node.func in self.decisions else None
            builtin = node.func if decision is None and node.func in REGISTRY else None
            args, by = node.args, None
            if args and isinstance(args[-1], ast.By):
                args, by = args[:-1], args[-1].expr
            args = tuple(self.expr(a) for a in args)
            return ir.Call(node.func, args, builtin, decision, self.opt(by), **common)
        if t is ast.BinOp:
            return ir.BinOp(node.op, self.expr(node.left), self.expr(node.right), **common)
        if t is ast.Not:
            return ir.Not(self.expr(node.expr), **common)
        if t is ast.Neg:
            return ir.Neg(self.expr(node.expr), **common)
        if t is ast.IfElse:
            return ir.IfElse(self.expr(node.cond), self.expr(node.then), self.expr(node.else_), **common)
        if t is ast.Where:
            source, cond = self.expr(node.source), self.expr(node.cond)
            return ir.Where(source, cond, self.filter(self.filters[id(node)]), **common)
        if t is ast.ListLit:
            return ir.ListLit(tuple(self.expr(x) for x in node.items), **common)
        if t is ast.Cell:
            return ir.Cell(node.kind, node.op, self.opt(node.lo), self.opt(node.hi),
                           describe(node, cell_text), **common)
        if t is ast.DecisionRow:
            return ir.DecisionRow(tuple(self.expr(c) for c in node.cells), self.expr(node.output), **common)
        if t is ast.Decision:
            params = tuple((n, self.param_type(tref)) for n, tref in node.params)
            return ir.Decision(node.kind, node.name, params, node.hit,
                               tuple(self.expr(r) for r in node.rows), **common)
        raise TypeError(f"no IR for {t.__name__}")

    def param_type(self, tref) -> Type:
        kind = TYPE_NAMES.get(tref.name, "unknown")
        return Type(kind, (tref.currency or self.ck.currency) if kind == "money" else None)

    def filter(self, f) -> ir.Filter:
        return ir.Filter(f.table,
                         tuple((c, self.expr(e)) for c, e in f.eq),
                         tuple((c, self.expr(e)) for c, e in f.in_period),
                         tuple(self.expr(e) for e in f.rest),
                         tuple((c, self.expr(r), self.expr(w)) for c, r, w in f.assigned))

    def definition(self, d) -> ir.Definition:
        n = d.node
        if d.kind == "decision":
            node = self.expr(n)
            node = ir.Decision(node.kind, node.name, node.params, node.hit, node.rows, uid=node.uid,
                               span=node.span, type=d.type)
        elif d.kind == "component":
            lo, hi, when = self.opt(n.valid_from), self.opt(n.valid_to), self.opt(n.when)
            hold = self.opt(n.hold)  # before the value: nodes are lowered in source order
            node = ir.Component(n.name, lo, hi, when, self.expr(n.expr), n.span, hold)
        else:
            node = ir.Value(n.name, self.expr(n.expr), n.span)
        return ir.Definition(d.kind, d.name, node, d.type, d.deps)


def lower(checked: CheckedPlan) -> ir.Plan:
    """The IR of a checked plan (module doc)."""
    lo = _Lowering(checked)
    defs = {name: lo.definition(d) for name, d in checked.definitions.items()}
    eligible = lo.opt(checked.eligible)
    requires = [ir.Require(r.table, lo.expr(r.cond), r.message, r.span) for r in checked.requires]
    c = checked
    return ir.Plan(c.source, c.name, c.version, c.currency, c.period_kind, c.fiscal_start,
                   c.payees_table, c.payee_key, c.round_step, c.round_mode, c.payment_kind,
                   eligible, c.inputs, defs, list(c.components), list(c.discovery), requires, lo.uid)
