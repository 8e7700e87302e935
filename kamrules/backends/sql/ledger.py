"""`paid(component, within)` on the SQL backend: what a payee was paid before this period.

paid(c, within) for a payee-period q is the sum of c's rounded amounts (0 where c does not
exist) in the calculation periods of `within` before q, and stops the run where c stops in
one of them (the interpreter's `_call_paid`; the columnar engine's backends/polars/ledger.py,
whose period rules this module reuses). On the SQL frame:

- the frame holds, besides the run's calculation periods, the earlier ones paid() reads
  (`extra_periods`: April and May for a run of Q2 alone); they are computed, not paid out;
- a table "~pp.<chain>" per `within` (`pair_tables`) lists, for each period key of the
  frame, the earlier period keys paid() reads there, and whether a ledger fixed that period
  (core.history: its value is then the history's, "~hist", never computed);
- `paid` is a column of the frame: a sum over those pairs of c's columns `x.c` (exists) and
  `d.c` (amount), its error mask where c exists with an error (`e.c`) in one of them;
- `settle` runs the definitions that read paid() again until the components paid() reads
  stop changing: the value of period q reads earlier periods only, so pass k has the first
  k periods right, and the loop ends after at most one pass per period of the frame (usually
  two: when the plan defines a component before it is read, the first pass is already exact).
  Before the first pass those components are columns of zeros (`placeholders`).
"""
from __future__ import annotations

from decimal import Decimal

from kamrules.backends.polars import ledger as columnar
from kamrules.backends.polars.values import Unsupported, period_key
from kamrules.backends.sql.exact import cast
from kamrules.backends.sql.values import Refused, Val, q, string

HISTORY = "~hist"


def step_scale(plan) -> int:
    """The places of a rounded component (the plan's `round components to` step)."""
    exp = plan.round_step.as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 2


def chain_name(chain: tuple) -> str:
    return "~pp." + (".".join(chain) or "period")


def paid(tr, node, ctx) -> Val:
    """paid(c, within) as a column of the frame (module doc)."""
    if ctx.rows or tr.elig is None:
        raise Refused("paid() inside a row or the eligibility", node)
    try:
        chain = columnar.chain(tr.plan, node)
    except Unsupported as why:
        raise Refused(str(why), node) from None
    name = node.args[0].id
    tr.paid_reads.add(name)
    tr.paid_chains.add(chain)
    s = max(step_scale(tr.plan), tr.scales.get((HISTORY, "amount"), 0))
    x, d, e = (f"g.{q(k + '.' + name)}" for k in ("x", "d", "e"))
    src = (f"FROM {q(chain_name(chain))} pp JOIN f g ON g.__pkey = pp.__src "
           f"LEFT JOIN {q(HISTORY)} h ON h.__payee = g.__payee AND h.__pkey = g.__pkey AND h.component = {string(name)} "
           f"WHERE pp.__pkey = f.__pkey AND g.__payee = f.__payee")
    # every branch cast to the one scale (a CASE of two DECIMAL(38, s) would let DuckDB pick one)
    amount = f"CASE WHEN pp.__fixed THEN {cast('coalesce(h.amount, 0)', s)} WHEN {x} THEN {cast(d, s)} ELSE {cast('0', s)} END"
    value = cast(f"(SELECT coalesce(sum({amount}), {cast('0', s)}) {src})", s)
    err = f"EXISTS (SELECT 1 {src} AND NOT pp.__fixed AND {x} AND {e})"
    return tr.column_of(Val(value, "money", s, err), "money")


def dependent(plan) -> list:
    """The definitions that read paid(), directly or through another (plan order)."""
    try:
        return columnar.dependent(plan)
    except Unsupported as why:
        raise Refused(str(why), getattr(why, "node", None)) from None


def extra_periods(plan, calc: list) -> list:
    """The earlier calculation periods paid() reads that `calc` lacks (columnar.ledger_periods);
    None past its bound (a chain the interpreter stops on too)."""
    try:
        return columnar.ledger_periods(plan, calc)
    except Unsupported:
        return None


def placeholders(plan, reads) -> list[str]:
    """The columns `x.c`, `d.c`, `e.c` of the components paid() reads, before they are
    computed (a component read before the plan defines it: 0 on the first pass)."""
    s = step_scale(plan)
    return [f"FALSE AS {q('x.' + c)}, {cast('0', s)} AS {q('d.' + c)}, FALSE AS {q('e.' + c)}" for c in sorted(reads)]


def pair_tables(plan, chains, calc: list, history) -> list[str]:
    """The statements creating "~pp.<chain>" (period key, earlier period key read, fixed by
    the ledger) for every chain, and "~hist" (the history's amounts)."""
    keys = {period_key(p) for p in calc}
    out = []
    for ch in sorted(chains):
        rows = [f"({string(period_key(p))}, {string(period_key(e))}, {'TRUE' if history.fixed(e) else 'FALSE'})"
                for p in calc for e in columnar.earlier(p, ch, plan.period_kind) if period_key(e) in keys]
        out.append(_table(chain_name(ch), [("__pkey", "VARCHAR"), ("__src", "VARCHAR"), ("__fixed", "BOOLEAN")], rows))
    s = history_scale(history)
    values = [f"({string(str(pid))}, {string(period_key(p))}, {string(c)}, {cast(string(str(v)), s)})"
              for (pid, p, c), v in history.values.items() if period_key(p) in keys]
    out.append(_table(HISTORY, [("__payee", "VARCHAR"), ("__pkey", "VARCHAR"), ("component", "VARCHAR"),
                                ("amount", f"DECIMAL(38, {s})")], values))
    return out


def _table(name: str, types: list, rows: list) -> str:
    """The statement creating table `name` of the typed columns `types` holding the VALUES
    `rows` (a CREATE TABLE ... AS SELECT: on Spark a view, which has no INSERT)."""
    typed = ", ".join(f"CAST(v.{c} AS {t}) AS {c}" for c, t in types)
    if rows:
        return (f"CREATE OR REPLACE TABLE {q(name)} AS SELECT {typed} FROM (VALUES {', '.join(rows)}) "
                f"v({', '.join(c for c, _ in types)})")
    return f"CREATE OR REPLACE TABLE {q(name)} AS SELECT {', '.join(f'CAST(NULL AS {t}) AS {c}' for c, t in types)} WHERE FALSE"


def history_scale(history) -> int:
    """The most places of a history amount (so none is cut by its cast)."""
    places = [-v.as_tuple().exponent for v in history.values.values()
              if isinstance(v, Decimal) and isinstance(v.as_tuple().exponent, int)]
    return max([0, *places])


def prepare(run, plan, info: dict, calc: list, history) -> set | None:
    """Before the steps of compile_plan (`info`: its "reads" and "chains") run on the frame:
    the pair tables and the placeholders, by run(sql); the set of the frame's columns a step
    computed again replaces (engine._add), None for a plan without paid()."""
    if not info["reads"]:
        return None
    for sql in pair_tables(plan, info["chains"], calc, history):
        run(sql)
    run(f"CREATE OR REPLACE TABLE f AS SELECT f.*, {', '.join(placeholders(plan, info['reads']))} FROM f")
    return {q(f"{k}.{c}") for c in info["reads"] for k in ("x", "d", "e")}


def settle(con, plan, info: dict, steps: list, step, passes: int, fallback) -> int:
    """The steps of the definitions that read paid() run again (step(column, value)) until
    the components paid() reads stop changing; the passes it took; fallback past `passes`
    (cannot happen: module doc)."""
    if not info["reads"]:
        return 0
    again = set(dependent(plan))
    watched = [f"{k}.{c}" for c in sorted(info["reads"]) for k in ("x", "d", "e")]
    cols = ", ".join(q(c) for c in watched)
    diff = " OR ".join(f"f.{q(c)} IS DISTINCT FROM w.{q(c)}" for c in watched)
    for n in range(passes):
        con.execute(f"CREATE OR REPLACE TABLE {q('~watch')} AS SELECT __payee, __pkey, {cols} FROM f")
        for (column, v), owner in zip(steps, info["owners"]):
            if owner in again:
                step(column, v)
        changed = con.execute(f"SELECT count(*) FROM f JOIN {q('~watch')} w ON f.__payee = w.__payee "
                              f"AND f.__pkey = w.__pkey WHERE {diff}")[0][0]
        if not changed:
            return n + 1
    raise fallback("paid() values that do not settle")
