"""A lean columnar run: what the frame lets go of as soon as nothing computed later reads it.

`kamrules run` needs only the payouts of a run, not every definition's column: after each
definition, `release` drops the frame columns that no definition still to compute (nor the
payouts) reads, the cached aggregates and joined rows of tables no such definition reads,
and those input tables themselves. Freed memory is reused by the next columns, so fewer
fresh pages are faulted in (the kernel clears each: system time) and the peak is lower.

Before the run, `project` keeps of each input table only the columns the plan reads (and
its `__row`), when the plan reads tables only through their columns in `where` filters and
aggregations (no `table[key]` lookup, no `one(rows)` row: those read columns by name).

What stays: the frame's own columns (`__f`, `__payee`, `__pkey`, eligibility...), the
payee's and the periods' columns (`payee.*`, `period.*`), every column of a definition
that a definition still to compute reads (directly, through a rows definition, a curve or
a decision table: `Liveness.live`), the columns their replays, error bounds and ratios
read, and the components' columns (the payouts). An aggregate is kept in the cache only
while a node of a definition to compute is that aggregate (a cache miss computes it
again: never a wrong value). Not for runs that read the frame afterwards
(`definition_values`, the trace, the what-if batches), nor for a plan whose definitions
are computed again (paid(), holds): evaluate_frames releases only when asked
(`lean=True`), and then removes the tables it lets go of from the dict of frames it is
given (a caller that keeps its tables passes a copy).
"""
from __future__ import annotations

import polars as pl

from kamrules.core import ir
from kamrules.backends.polars.ledger import _nodes

KEPT_PREFIXES = ("__", "payee.", "period.")  # the frame's own columns, the payee's, the periods'
# a definition's columns read after it is computed: d.<name>, q.<name>.<k>... (a component's
# amount before rounding, r.<name>, is read by the component alone)
OWN_PREFIXES = ("d.", "e.", "b.", "x.", "q.")
WHOLE_TABLES = ("fx_rates", "reports_to")  # read by built-ins that name no table in the plan


class Liveness:
    """For a plan: which definitions, aggregate nodes and tables the definitions still to
    compute read (computed once per plan, answered per step)."""

    def __init__(self, plan):
        self.plan = plan
        self.deps, self._uids, self._tables = {}, {}, {}  # definition -> what its nodes read
        for name, d in plan.definitions.items():
            deps, uids, tables = set(), set(), set()
            for root in _nodes(d):
                for n in ir.walk(root):
                    uids.add(n.uid)
                    tables |= _tables_read(n)
                    deps |= _definitions_read(n, plan)
            self.deps[name], self._uids[name], self._tables[name] = deps, uids, tables

    def inline(self, name: str) -> bool:
        """A definition evaluated where it is read (a param, a curve or decision table, rows
        or one row of a table), not a frame column: what it reads is read by its reader."""
        d = self.plan.definitions[name]
        return d.kind in ("param", "decision") or d.type.kind in ("rows", "row")

    def live(self, todo) -> tuple[set, set, set]:
        """(definitions whose columns are read, aggregate node uids, tables) when the
        definitions `todo` are still to compute and the components to pay: what `todo`
        reads, through the inline definitions it reads."""
        evaluated, stack = set(), list(todo)
        read = set(self.plan.components)
        while stack:
            n = stack.pop()
            if n in evaluated or n not in self.deps:
                continue
            evaluated.add(n)
            for m in self.deps[n]:
                read.add(m)
                if self.inline(m):
                    stack.append(m)
        uids = set().union(*(self._uids[n] for n in evaluated)) if evaluated else set()
        tables = set().union(*(self._tables[n] for n in evaluated)) if evaluated else set()
        return read | evaluated, uids, tables


def _definitions_read(node, plan) -> set:
    """The definitions a node reads by itself (a name, a curve or decision table called)."""
    r = getattr(node, "ref", None)
    out = {r[1]} if isinstance(r, tuple) and len(r) > 1 and r[0] == "def" else set()
    if isinstance(node, ir.Call):
        out |= {n for n in (node.decision, node.func) if n in plan.definitions}
    return out


def _tables_read(node) -> set:
    """The input tables a node reads by itself (a table named, assignee()'s assignments)."""
    if isinstance(node, ir.Name) and getattr(node, "ref", None) == ("table", node.id):
        return {node.id}
    if isinstance(node, ir.Call) and node.func == "assignee":
        return {"assignments"}
    return set()


def project(plan, frames: dict) -> None:
    """Replace each input table of `frames` by the columns the plan reads of it (and
    `__row`), when the plan reads tables only by their columns (`_projectable`); the
    payees' table, assignments (assignee() reads five columns by name) and the tables read
    by built-ins (WHOLE_TABLES) stay whole."""
    used = _columns_read(plan)
    if used is None:
        return
    whole = {plan.payees_table, "assignments", *WHOLE_TABLES}
    for name in [n for n in frames if n not in whole]:
        keep = [c for c in frames[name].columns if c in used.get(name, ()) or c == "__row"]
        if len(keep) < frames[name].width:
            frames[name] = frames[name].select(keep)


def _columns_read(plan) -> dict | None:
    """{table: the columns the plan's definitions and eligibility read}, or None when some
    node reads a table's columns by name (a lookup `table[key]`, a row of `one(rows)`, a
    row definition)."""
    if any(d.type.kind == "row" for d in plan.definitions.values()):
        return None
    used: dict = {}
    for n in ir.definition_nodes(plan):
        if isinstance(n, ir.Index) or (isinstance(n, ir.Call) and n.func == "one" and n.args
                                       and not isinstance(n.args[0], ir.Each)):
            return None
        r = getattr(n, "ref", None)
        if isinstance(r, tuple) and len(r) == 4 and r[0] == "column":
            used.setdefault(r[2], set()).add(r[3])
    return used


def release(fr, liveness: Liveness, todo) -> None:
    """Drop from the Frame `fr` what computing the definitions `todo` and paying the
    components no longer read: columns, cached aggregates, cached joins, input tables."""
    plan = fr.plan
    defs, uids, tables = liveness.live(todo)
    for key in [k for k in fr.aggs if not _cached_live(k, uids)]:
        del fr.aggs[key]
    live = columns_read(fr, {f"d.{name}" for name in defs})
    fr.drop([c for c in fr.columns if c not in live and not _kept(c, defs)])
    keep_tables = tables | {plan.payees_table} | set(WHOLE_TABLES)
    for key in [k for k in fr.joins if _joined_table(k) not in keep_tables]:
        del fr.joins[key]
    for name in [t for t in fr.frames if t not in keep_tables]:
        del fr.frames[name]


def columns_read(fr, columns: set | None = None) -> set:
    """The frame columns that the replays (operands), error bounds and ratios of the
    definitions' columns `columns` (d.<name>; None: every definition's) and the cached
    aggregates and rows read: what refers to frame columns across definitions."""
    def wanted(col):
        return columns is None or col in columns
    live = set()
    exprs = [e for col, (ex, _) in fr.replays.items() if wanted(col) for e in ex]
    exprs += [b for col, b in fr.bounds.items() if wanted(col)]
    exprs += [e for col, (num, _, dens) in fr.ratios.items() if wanted(col) for e in (num, *(d for d, _ in dens))]
    for v in fr.aggs.values():
        exprs += [e for e in (getattr(v, "expr", None), getattr(v, "err", None), getattr(v, "bound", None))
                  if isinstance(e, pl.Expr)]
        if isinstance(getattr(v, "row", None), str):  # one(rows): its row number column
            live.add(v.row)
    for e in exprs:
        live |= set(e.meta.root_names())
    return live


def _cached_live(key, uids: set) -> bool:
    """Whether a Frame.aggs entry may be read again: keyed by a node of a definition to
    compute (node uid, or (kind, uid)); the caches keyed by a name hold no frame column."""
    if isinstance(key, str):
        return True
    uid = key[1] if isinstance(key, tuple) else key
    return uid in uids


def _kept(column: str, defs: set) -> bool:
    if column.startswith(KEPT_PREFIXES):
        return True
    for p in OWN_PREFIXES:
        if column.startswith(p):
            rest = column[len(p):]
            name = rest.split(".", 1)[0] if p == "q." else rest
            return name in defs
    return False


def _joined_table(key) -> str | None:
    """The input table of a Frame.joins entry ((table, conds...) or ("keyed", table, ...))."""
    return key[1] if key and key[0] == "keyed" else key[0] if key else None
