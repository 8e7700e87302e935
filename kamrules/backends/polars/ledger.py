"""The ledger on the columnar frame: `paid(component, within)` and the periods it reads.

`paid(c, within)` for a payee-period q is the sum of c's rounded amounts (0 where c does
not exist) in the calculation periods of `within` that come before q, as the interpreter
defines it (engine/evaluator.py `_call_paid`); it stops the run where c stops in one of
them. On the frame:

- `ledger_periods` adds to the run's calculation periods the earlier ones that paid()
  reads (April and May for a run of Q2 alone), so the frame has them; they are computed
  but not paid out.
- `paid_column` is a window over each payee's periods: a running sum of c's column within
  the group of periods that share `within`'s start (the year, the quarter, the year to
  date...), shifted by one period, when that group is exactly the periods paid() reads
  (checked per period); otherwise a join with the (period, earlier period) pairs.
- `settle` makes the values that read paid() consistent: a value of q depends on earlier
  periods only, so re-computing the definitions that read paid() until the components
  paid() reads stop changing (at most once per period of the frame, usually twice in all:
  when the plan defines a component before it is read, the first pass is already exact)
  gives the interpreter's values.
- in the periods a ledger fixed (`frame.history`, core.history), paid() reads the
  history's values instead of the frame's (`_fixed`), as the interpreter does.
"""
from __future__ import annotations

import polars as pl

from kamrules.core import ir
from kamrules.core.builtins import AGGREGATES
from kamrules.core.calendar import period_attr
from kamrules.core.numeric import Fallback
from kamrules.backends.polars.values import DEC, Col, Unsupported, dec, period_key

PERIOD_WORDS = ("year", "quarter", "month", "previous", "year_to_date")
MAX_EXTRA_PERIODS = 240  # earlier periods paid() may add to a run (20 years of months)


_walk = ir.walk


def _nodes(d):
    """The expressions of a definition (its value, and a component's window and `when`)."""
    n = d.node
    return [x for x in (getattr(n, "expr", None), getattr(n, "when", None), getattr(n, "hold", None),
                        getattr(n, "valid_from", None), getattr(n, "valid_to", None)) if x is not None] \
        if not isinstance(n, ir.Decision) else [n]


def paid_calls(plan) -> list:
    """Every paid(...) call of the plan's definitions (and of its eligibility rule)."""
    roots = [x for d in plan.definitions.values() for x in _nodes(d)]
    if plan.eligible is not None:
        roots.append(plan.eligible)
    return [n for r in roots for n in _walk(r) if isinstance(n, ir.Call) and n.func == "paid"]


def chain(plan, node) -> tuple:
    """The attributes from the calculation period to paid()'s `within` (period.quarter ->
    ("quarter",)); Unsupported for another period expression."""
    n, out = node.args[1], []
    while isinstance(n, ir.Attr) and n.name in PERIOD_WORDS:
        out.insert(0, n.name)
        n = n.obj
    if not (isinstance(n, ir.Name) and n.ref == ("period",)):
        raise Unsupported("paid() over a period other than `period` and its attributes", node)
    return tuple(out)


def _within(q, chain: tuple):
    for a in chain:
        q = period_attr(q, a)
    return q


def earlier(q, chain: tuple, kind: str) -> list:
    """The calculation periods paid() reads for period q (interpreter's order)."""
    return [p for p in _within(q, chain).subperiods(kind) if p < q]


def _graph(plan) -> tuple[dict, dict]:
    """({definition: the definitions it reads in the same period}, {definition: its
    paid() calls})."""
    deps, calls = {}, {}
    for name, d in plan.definitions.items():
        refs, own = set(), []
        for root in _nodes(d):
            for n in _walk(root):
                if isinstance(n, ir.Call) and n.func == "paid":
                    own.append(n)
                r = getattr(n, "ref", None)
                if r is not None and r[0] == "def":
                    refs.add(r[1])
                if isinstance(n, ir.Call) and n.func in plan.definitions:
                    refs.add(n.func)
        deps[name], calls[name] = refs, own
    return deps, calls


def ledger_periods(plan, calc: list) -> list:
    """The earlier calculation periods paid() reads that `calc` lacks: a component read in
    period p reads, through the definitions it needs, its own paid() calls there, and so on
    back; Unsupported past MAX_EXTRA_PERIODS (a paid() chain that never ends, which the
    interpreter stops on too)."""
    deps, calls = _graph(plan)
    needs = {}  # component -> the (component, chain) pairs of the paid() calls it reaches
    for comp in plan.components:
        seen, todo = set(), [comp]
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo.extend(deps.get(n, ()))
        needs[comp] = {(c.args[0].id, chain(plan, c)) for n in seen for c in calls.get(n, ())}
    every = {(c.args[0].id, chain(plan, c)) for n in plan.definitions for c in calls[n]}
    have, extra, done = set(calc), [], set()
    todo = [(q, r) for q in calc for r in every]
    while todo:
        q, (comp, ch) = todo.pop()
        for p in earlier(q, ch, plan.period_kind):
            if (p, comp) in done:
                continue
            done.add((p, comp))
            if p not in have:
                have.add(p)
                extra.append(p)
                if len(extra) > MAX_EXTRA_PERIODS:
                    raise Unsupported(f"paid() reading more than {MAX_EXTRA_PERIODS} periods before the run")
            todo.extend((p, r) for r in needs[comp])
    return extra


def dependent(plan) -> list:
    """The definitions whose value reads paid(), directly or through another definition
    (plan order); Unsupported when an aggregation or the eligibility rule reads one."""
    deps, calls = _graph(plan)
    hit = {n for n, c in calls.items() if c}
    grew = True
    while grew:
        more = {n for n, r in deps.items() if n not in hit and r & hit}
        grew = bool(more)
        hit |= more
    if not hit:
        return []
    for d in plan.definitions.values():
        for root in _nodes(d):
            for n in _walk(root):
                if _aggregation(n) and _reads_any(plan, n, hit):
                    raise Unsupported("an aggregation of a value that reads paid()", n)
    if plan.eligible is not None and _reads_any(plan, plan.eligible, hit):
        raise Unsupported("an eligibility rule that reads paid()", plan.eligible)
    return [n for n in plan.definitions if n in hit]


def _aggregation(n) -> bool:
    return isinstance(n, ir.Call) and n.func in AGGREGATES and not (
        n.func in ("min", "max") and len(n.args) == 2)


def _reads_any(plan, node, names: set) -> bool:
    for n in _walk(node):
        if isinstance(n, ir.Call) and (n.func == "paid" or n.func in names):
            return True
        r = getattr(n, "ref", None)
        if r is not None and r[0] == "def" and r[1] in names:
            return True
    return False


def paid_column(frame, node, ctx) -> Col:
    """paid(component, within) as a frame column (module doc)."""
    if ctx.table is not None or frame.current == "eligible":
        raise Unsupported("paid() inside a filter, a per-row value or the eligibility rule", node)
    name, ch = node.args[0].id, chain(frame.plan, node)
    kind = frame.plan.period_kind
    col = f"paid.{node.uid}"
    value, err = pl.col(f"d.{name}"), pl.col(f"e.{name}")
    if f"d.{name}" not in frame.columns:  # read before it is computed: settle() runs again
        value, err = dec(0), pl.lit(False)
    value, err = _fixed(frame, name, value, err)
    reads = {k: [period_key(p) for p in earlier(q, ch, kind)] for k, q in frame.by_key.items()}
    group = {k: _within(q, ch).start for k, q in frame.by_key.items()}
    order = sorted(frame.by_key, key=lambda k: frame.by_key[k])
    # the running sum is right where paid() reads periods of the frame only (elsewhere,
    # ledger_periods left them out because nothing there reads this value)
    window = all(reads[k] == [j for j in order if group[j] == group[k] and frame.by_key[j] < frame.by_key[k]]
                 for k in order if set(reads[k]) <= frame.by_key.keys())
    if window:
        frame.df = _running(frame.df, pl.col("__pkey").replace_strict(group, return_dtype=pl.Date),
                            value.fill_null(dec(0)), err.fill_null(False), col)
    else:
        pairs = pl.DataFrame([(k, j) for k, js in reads.items() for j in js],
                             schema={"__pkey": pl.String, "__src": pl.String}, orient="row")
        vals = frame.df.select("__payee", pl.col("__pkey").alias("__src"),
                               value.fill_null(dec(0)).alias("__v"), err.fill_null(False).alias("__e"))
        got = (frame.df.select("__f", "__payee", "__pkey").join(pairs, on="__pkey")
               .join(vals, on=["__payee", "__src"]).group_by("__f")
               .agg(pl.col("__v").sum().alias(col), pl.col("__e").any().alias(col + "!")))
        out = frame.df.select("__f").join(got, on="__f", how="left", maintain_order="left")
        frame.df = frame.df.with_columns(out[col].fill_null(dec(0)).cast(DEC),
                                         out[col + "!"].fill_null(False))
    return Col(pl.col(col), pl.col(col + "!"), "money")


def _fixed(frame, name: str, value: pl.Expr, err: pl.Expr) -> tuple:
    """(value, err) of component `name` as paid() reads it: in the periods a ledger fixed
    (frame.history, core.history), the history's value (0 where it has none), never an
    error; elsewhere the frame's."""
    fixed = [k for k, q in frame.by_key.items() if frame.history.fixed(q)]
    if not fixed:
        return value, err
    col = f"h.{name}"
    if col not in frame.columns:
        rows = [(pid, period_key(p), v) for (pid, p, c), v in frame.history.values.items()
                if c == name and period_key(p) in frame.by_key]
        h = pl.DataFrame(rows, schema={"__payee": pl.String, "__pkey": pl.String, col: DEC}, orient="row")
        frame.df = frame.df.join(h, on=["__payee", "__pkey"], how="left", maintain_order="left")
    here = pl.col("__pkey").is_in(fixed)
    return (pl.when(here).then(pl.col(col).fill_null(dec(0))).otherwise(value),
            pl.when(here).then(pl.lit(False)).otherwise(err))


def _running(df, group: pl.Expr, value: pl.Expr, err: pl.Expr, col: str):
    """df with `col`: the sum of `value` over the earlier rows of each payee's run of rows
    with one `group` (the frame is sorted by payee, then period), and `col!`: whether `err`
    holds on one of them. A running sum over the whole frame less its value where the run
    starts (no group-by); past Decimal(38, 24) for the whole frame, a window per run."""
    new = ((pl.col("__payee") != pl.col("__payee").shift(1)) | (group != group.shift(1))).fill_null(True)
    flags = err.cast(pl.Int64)
    before = flags.cum_sum() - flags
    bad = (before - pl.when(new).then(before).otherwise(None).forward_fill()) > 0
    try:
        before = value.cum_sum() - value
        total = before - pl.when(new).then(before).otherwise(None).forward_fill()
        return df.with_columns(total.cast(DEC).alias(col), bad.alias(col + "!"))
    except pl.exceptions.ComputeError:
        total = value.cum_sum().shift(1, fill_value=dec(0)).over("__payee", group)
        return df.with_columns(total.cast(DEC).alias(col), bad.alias(col + "!"))


def settle(frame, names: list, recompute) -> int:
    """Run recompute() (the definitions `names`, in order) until the components paid()
    reads no longer change; the number of passes it took."""
    read = sorted({n.args[0].id for n in paid_calls(frame.plan)})
    watched = [c for name in read for c in (f"d.{name}", f"e.{name}")]
    for n in range(len(frame.by_key) + 1):
        before = frame.df.select(watched)
        recompute(names)
        if frame.df.select(watched).equals(before):
            return n + 1
    raise Fallback("paid() values that do not settle")  # cannot happen: q reads only earlier periods
