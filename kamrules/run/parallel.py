"""Parallel evaluation over payees: `kamrules run --jobs N`.

The sorted payees are cut into N contiguous slices; N processes each evaluate one slice
with the ordinary engine (`run.evaluate(payee_ids=slice)`) and send back their payouts;
the parent joins them in slice order, so the output is the one of `--jobs 1`, byte for
byte. Errors are the serial ones too: the first slice (in payee order) that failed gives
its diagnostics, and each slice stops at its first failing payee as the serial loop does.

The processes are spawned, never forked: polars may have started its threads in the parent
(a fork would copy its locks in whatever state they are). Their inputs are picklable: the
lowered plan (core.ir: types and names are fields of its nodes, so no process parses or
checks the plan again), the loaded tables and the periods.

Plans whose value for one payee needs every payee (`share(...)` pools, `team_total(...)`)
run in one process: the pool would otherwise be recomputed in every slice. So do runs with
fewer payees than two slices.
"""
from __future__ import annotations

import os

from kamrules.check.lower import ir_of
from kamrules.core import ir
from kamrules.core.builtins import WHOLE_POPULATION
from kamrules.core.history import NONE, History
from kamrules.diagnostics.diagnostic import KamError
from kamrules.check.plan import CheckedPlan
from kamrules.trace.tree import Payout
from kamrules.backends.interp.run import evaluate

WHOLE_POPULATION_CALLS = WHOLE_POPULATION  # share(), team_total(): every payee of the period

_JOB: dict = {}  # set in each spawned process by _start; read by _work


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def needs_all_payees(plan: "CheckedPlan | ir.Plan") -> bool:
    """Does any definition (or eligibility) call share() or team_total()?"""
    return any(getattr(x, "func", None) in WHOLE_POPULATION_CALLS for x in plan_nodes(plan))


def plan_nodes(plan: "CheckedPlan | ir.Plan"):
    """Every IR node of the plan's definitions and eligibility, once each."""
    return ir.definition_nodes(ir_of(plan))


def slices(ids: list, n: int) -> list[list]:
    """`ids` cut into at most n contiguous, nearly equal, non-empty slices."""
    n = max(1, min(n, len(ids)))
    size, extra = divmod(len(ids), n)
    out, start = [], 0
    for k in range(n):
        end = start + size + (1 if k < extra else 0)
        out.append(ids[start:end])
        start = end
    return [s for s in out if s]


def evaluate_payees(plan: CheckedPlan, tables: dict, periods: list, trace: bool = False,
                    payee_ids: set | None = None, jobs: int = 1, progress=None,
                    history: History = NONE) -> list[Payout]:
    """Payouts as `run.evaluate` gives them, computed by `jobs` processes.

    progress: an object with update(done) and `total` (kamrules.run.progress.Progress) or None.
    """
    ids = sorted(r.id for r in tables[plan.payees_table].rows
                 if payee_ids is None or r.id in payee_ids)
    parts = slices(ids, jobs)
    if len(parts) < 2 or needs_all_payees(plan):
        done = [0]

        def tick():
            done[0] += 1
            if progress is not None:
                progress.update(done[0])
        return evaluate(plan, tables, periods, trace, payee_ids, on_payee=tick, history=history)
    import multiprocessing as mp  # here: only --jobs N spawns workers

    ctx = mp.get_context("spawn")
    counter = ctx.Value("q", 0)
    bare = {name: type(t)(t.spec, t.path, t.rows) for name, t in tables.items()}  # no built indexes
    job = (ir_of(plan), bare, periods, trace, history)
    with ctx.Pool(len(parts), initializer=_start, initargs=(job, counter)) as pool:
        pending = pool.map_async(_work, parts, chunksize=1)
        while not pending.ready():
            pending.wait(0.1)
            if progress is not None:
                progress.update(counter.value)
        results = pending.get()
    if progress is not None:
        progress.update(counter.value)
    out: list[Payout] = []
    for kind, value in results:
        if kind == "error":
            raise KamError(value)
        out.extend(_revive(value, periods, trace))
    return out


def _start(job, counter):
    """In each spawned process: the job kept (the lowered plan arrives unpickled)."""
    plan, tables, periods, trace, *history = job  # history: core.history, when a ledger fixes periods
    history = history[0] if history else NONE
    _JOB.update(plan=plan, tables=tables, periods=periods, trace=trace, history=history, counter=counter)


def _work(part: list):
    job = _JOB
    counter = job["counter"]

    def tick():
        with counter.get_lock():
            counter.value += 1
    try:
        payouts = evaluate(job["plan"], job["tables"], job["periods"], job["trace"], set(part),
                           on_payee=tick, history=job["history"])
    except KamError as err:
        return "error", err.diagnostics
    if job["trace"]:
        return "payouts", payouts
    index = {p: k for k, p in enumerate(job["periods"])}
    return "rows", [(p.payee_id, index[p.period], p.component, p.amount, p.currency)
                    for p in payouts]


def _revive(value, periods, trace):
    if trace:
        return value
    return [Payout(pid, periods[k], name, amount, cur, None) for pid, k, name, amount, cur in value]
