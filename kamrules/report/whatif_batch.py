"""The what-ifs of many statements re-run together through the columnar engine.

`statement --all` asks, for every payee, period, component and measure, what more business
would pay (report/whatif.py `search`: a generator asking for re-runs of the plan with X more
on the measure's largest credited row). Re-running the interpreter for one payee at a time
costs a run per question; here each round changes one row per payee in the input frames
(at most one question per payee, and never a row another payee of the round is credited
with) and runs the whole plan once through the columnar engine
(backends/polars/engine.py `evaluate_frames`): every payee's answer is read from that run,
each component's amount and the value of each let the search watches. The questions and
the answers are the ones the interpreter path gives (the same search); a payee the
columnar engine hands over in a round is answered by `fallback` (the interpreter's re-run).

Plans whose payouts read other payees' rows (`share`, `team_total`: plan.requires) are not
batched (`usable` is False): changing one row per payee at once would move everyone's pool.
"""
from __future__ import annotations

from decimal import Decimal

import polars as pl

from kamrules.backends.polars.engine import evaluate_frames
from kamrules.backends.polars.values import Fallback, Unsupported, period_key
from kamrules.check.lower import ir_of
from kamrules.report.whatif import Outcome, pooled, search, target_row, values, watched


class _Task:
    __slots__ = ("gen", "period", "m", "sink", "names")

    def __init__(self, gen, period, m, sink, names):
        self.gen, self.period, self.m, self.sink, self.names = gen, period, m, sink, names

    def finish(self, found):
        self.sink += [e for e in (found or []) if e.gain > 0]


class Batch:
    """Questions of many payees, answered by rounds of columnar runs (`run`)."""

    def __init__(self, plan, frames: dict, periods: list, fallback=None):
        """fallback(payee id, period, measure, delta, names) -> Outcome | None: the answer of
        the interpreter, for the payees the columnar engine hands over."""
        self.plan, self.frames, self.periods, self.fallback = plan, frames, periods, fallback
        self.usable = not pooled(plan)
        self.tasks: dict = {}  # payee id -> [_Task] in the order asked
        self.owners: dict = {}  # (table, row) -> payee ids credited with it
        self.rounds = 0
        self.names: set = set()

    def add(self, payee_id, period, payout, m, tiers, sink: list):
        """Ask what more of measure `m` pays `payout`'s component; the effects that pay
        more are appended to `sink` when `run` is done."""
        names = watched(payout, tiers)
        gen = search(payout, m, list(tiers), names, values(payout, names))
        self.tasks.setdefault(payee_id, []).append(_Task(gen, period, m, sink, names))
        self.names |= names  # every answer carries them all (answers are shared by their question)
        for r in m.rows:
            self.owners.setdefault((r.table, r.row), set()).add(payee_id)

    def run(self):
        queues = {pid: list(ts) for pid, ts in self.tasks.items()}
        asking: dict = {}  # payee id -> (task, delta)
        cache: dict = {}

        def step(pid, outcome=None, started=False):
            """Send `outcome` to the payee's current task (or start the next one) until it asks
            a question not answered yet; None when all its tasks are done."""
            while True:
                if not started:
                    if not queues[pid]:
                        asking.pop(pid, None)
                        return
                    task = queues[pid].pop(0)
                    try:
                        delta = next(task.gen)
                    except StopIteration as done:
                        task.finish(done.value)
                        continue
                else:
                    task = asking[pid][0]
                    try:
                        delta = task.gen.send(outcome)
                    except StopIteration as done:
                        task.finish(done.value)
                        started = False
                        continue
                key = self._key(pid, task, delta)
                if key in cache:
                    asking[pid], outcome, started = (task, delta), cache[key], True
                    continue
                asking[pid] = (task, delta)
                return

        for pid in queues:
            step(pid)
        while asking:
            chosen, blocked, taken = [], set(), set()
            for pid in sorted(asking):
                task, delta = asking[pid]
                ref = target_row(task.m)
                owners = self.owners.get((ref.table, ref.row), {pid})
                if pid in blocked or not owners.isdisjoint(taken):
                    continue
                chosen.append((pid, task, delta))
                taken.add(pid)
                blocked |= owners
            answers = self._round(chosen)
            for pid, task, delta in chosen:
                cache[self._key(pid, task, delta)] = answers[pid]
                step(pid, answers[pid], started=True)

    @staticmethod
    def _key(pid, task, delta):
        ref = target_row(task.m)
        return (pid, period_key(task.period), ref.table, ref.row, task.m.column, delta)

    def _round(self, chosen: list) -> dict:
        """payee id -> Outcome of one columnar run with every chosen change applied."""
        self.rounds += 1
        frames = dict(self.frames)
        changes: dict = {}
        for pid, task, delta in chosen:
            ref = target_row(task.m)
            changes.setdefault((task.m.table, task.m.column), {})[ref.row] = delta
        for (table, column), by_row in changes.items():
            f = frames[table]
            dtype = f.schema[column]
            add = pl.col("__row").replace_strict(by_row, default=0, return_dtype=dtype)
            frames[table] = f.with_columns((pl.col(column) + add).cast(dtype).alias(column))
        ids = sorted({pid for pid, _, _ in chosen})
        try:
            table, fr = evaluate_frames(self.plan, frames, self.periods, handover=True)
        except (Fallback, Unsupported):
            return {pid: self._fallback(pid, task, delta) for pid, task, delta in chosen}
        comps = list(ir_of(self.plan).components)
        amounts: dict = {}
        for pid, pkey, c, amount in table.filter(pl.col("payee_id").is_in(ids)).select(
                "payee_id", "period", "__c", "amount").iter_rows():
            amounts.setdefault((pid, pkey), {})[comps[c]] = amount
        names = sorted(n for n in self.names if f"d.{n}" in fr.df.columns)
        got: dict = {}
        for row in fr.df.filter(pl.col("__payee").is_in(ids)).select(
                "__payee", "__pkey", *[f"d.{n}" for n in names]).iter_rows():
            got[(row[0], row[1])] = dict(zip(names, row[2:]))
        handed = set(fr.handed_over or ())
        out = {}
        for pid, task, delta in chosen:
            key = (pid, period_key(task.period))
            if pid in handed:
                out[pid] = self._fallback(pid, task, delta)
            else:
                out[pid] = Outcome(amounts.get(key, {}), {n: _number(v) for n, v in got.get(key, {}).items()})
        return out

    def _fallback(self, pid, task, delta):
        if self.fallback is None:
            return None
        return self.fallback(pid, task.period, task.m, delta, task.names)


def _number(v):
    return v if v is None or isinstance(v, Decimal) else Decimal(str(v)) if isinstance(v, (int, float)) else None
