"""The registry of built-in functions: one entry per built-in, with its signature, what it
needs beyond one payee-period's rows, and what it does in a line. Every layer reads its
list of built-ins from here (the checker's names and did-you-mean, the highlighter, the
parallel runner and the session's population rule), so a new built-in is one entry here
plus one rule per layer: its typing (`checker_calls.CallChecks._call_<name>`), its
interpreter lowering (`engine.evaluator.Evaluator._call_<name>`) and its columnar lowering
(`columnar.frame.Frame._call_<name>`, `columnar.builtins.CALLS` or the aggregation layer),
with where the columnar engine takes it (`columnar`, read by its static pass,
backends/polars/support.py, which has a rule `_call_<name>` per built-in too).
tests/test_builtins.py fails when one of them is missing.
"""
from __future__ import annotations

import attrs


@attrs.frozen
class Builtin:
    name: str
    signature: str  # as a hint shows it: `write round(x, cent, half_up)`
    summary: str
    aggregate: bool = False  # reads `rows where ...` (or `expr for rows`)
    population: bool = False  # reads every payee of the period (pools, team measures)
    history: bool = False  # reads earlier periods (the ledger)
    # where the columnar engine translates a call (its static pass, backends/polars/support.py):
    # "anywhere"; "frame": once per payee-period, not inside a filter or a per-row value;
    # "payout": on the frame, and not in the eligibility rule nor a `require` rule (it reads
    # who is eligible, or what was paid); "row": only inside a filter over rows
    columnar: str = "anywhere"


REGISTRY: dict[str, Builtin] = {b.name: b for b in (
    Builtin("sum", "sum(x for rows)", "the sum of x over the rows (0 over none)", aggregate=True, columnar="frame"),
    Builtin("count", "count(rows)", "how many rows", aggregate=True, columnar="frame"),
    Builtin("min", "min(a, b) or min(x for rows)", "the smaller value, or the least over the rows (empty over none)",
            aggregate=True, columnar="frame"),
    Builtin("max", "max(a, b) or max(x for rows)", "the larger value, or the greatest over the rows (empty over none)",
            aggregate=True, columnar="frame"),
    Builtin("avg", "avg(x for rows)", "the average of x over the rows (empty over none)", aggregate=True, columnar="frame"),
    Builtin("one", "one(x for rows)", "x of the one row (an error on none or several)", aggregate=True, columnar="frame"),
    Builtin("exists", "exists(rows)", "whether any row passes", aggregate=True, columnar="frame"),
    Builtin("round", "round(x, cent, half_up)", "x rounded to a step with a named mode"),
    Builtin("money", 'money(x) or money(x, "USD")', "a number as an amount of the plan's currency"),
    Builtin("abs", "abs(x)", "the absolute value"),
    Builtin("default", "default(x, fallback)", "x, or the fallback where x is empty"),
    Builtin("present", "present(x)", "whether x is not empty"),
    Builtin("between", "between(x, low, high)", "low <= x <= high"),
    Builtin("days", "days(from_date, to_date)", "the days from one date to the other"),
    Builtin("assignee", 'assignee(account_id, "kam", close_date)',
            "who held the account in that role on that day (effective-dated assignments)", columnar="row"),
    Builtin("manager_of", "manager_of(payee_id, day)",
            "the payee's manager on the day (effective-dated reports_to), or empty"),
    Builtin("below", "below(payee_id, manager_id, day)",
            "whether the payee reports to the manager on the day, directly or through others"),
    Builtin("share", "share(total, weight) or share(total, weight, by payee.team)",
            "the payee's share of a pool (all eligible payees, or one pool per value of `by`), "
            "by weight, cents by largest remainder", population=True, columnar="payout"),
    Builtin("paid", "paid(component, period.year)",
            "what the component paid in the earlier periods of a range", history=True, columnar="payout"),
    Builtin("prorate", "prorate(start_date, end_date)",
            "the part of the period between two dates (both end days count)", columnar="frame"),
    Builtin("team_total", "team_total(x) or team_total(x, by payee.region)",
            "x summed over the payee's team (or the payees with the same `by` value) in the period",
            population=True, columnar="payout"),
    Builtin("fx", 'fx(amount, "EUR", close_date)', "an amount converted at the latest rate on or "
            "before the day"),
)}

NAMES: tuple = tuple(REGISTRY)
AGGREGATES: tuple = tuple(n for n, b in REGISTRY.items() if b.aggregate)
SIGNATURES: dict = {n: b.signature for n, b in REGISTRY.items()}
WHOLE_POPULATION: frozenset = frozenset(n for n, b in REGISTRY.items() if b.population)
HISTORY: frozenset = frozenset(n for n, b in REGISTRY.items() if b.history)
