"""The what-ifs of many statements re-run together through the columnar engine.

`statement --all` asks, for every payee, period, component and measure, what more business
would pay (report/whatif.py `search`: a generator asking for re-runs of the plan with X more
on the measure's largest credited row). Re-running the interpreter for one payee at a time
costs a run per question; here each round changes one row per payee in the input frames
(at most one question per unit: a payee, or a payee and period when no period reads another's
payouts; never a row another unit of the round is credited with) and runs the whole plan once through the columnar engine
(backends/polars/engine.py `evaluate_frames`): every payee's answer is read from that run,
each component's amount and the value of each let the search watches. The questions and
the answers are the ones the interpreter path gives (the same search); a payee the
columnar engine hands over in a round is answered by `fallback` (the interpreter's re-run).
When the plan allows it (report/whatif_clones.py), every question of a round is asked at
once instead, each of a clone of its payee (`_run_cloned`): the rounds are then the longest
single search.

A count's question (report/whatif_count.py) adds rows instead of changing one: on clones,
the copies are added to the clone's rows (whatif_clones.py); in the rounds of changed rows,
it is answered by `fallback`.

Plans whose payouts read other payees' rows (`share`, `team_total`: plan.requires) are not
batched (`usable` is False): changing one row per payee at once would move everyone's pool.
"""
from __future__ import annotations

from decimal import Decimal

import polars as pl

from kamrules.backends.polars.engine import evaluate_frames
from kamrules.backends.polars.holds import held
from kamrules.backends.polars.ledger import dependent
from kamrules.backends.polars.values import Unsupported, period_key
from kamrules.core.numeric import Fallback
from kamrules.check.lower import ir_of
from kamrules.core import ir
from kamrules.report.words import find_nodes
from kamrules.report.whatif_clones import SEP, Clones
from kamrules.report.whatif import Outcome, changes_of, pooled, search, target_row, values, watched


class _Task:
    __slots__ = ("gen", "period", "m", "sink", "names", "ref", "pkey", "comp")

    def __init__(self, gen, period, m, sink, names, comp):
        self.gen, self.period, self.m, self.sink, self.names = gen, period, m, sink, names
        self.ref, self.pkey = target_row(m), period_key(period)  # asked for at every question
        self.comp = comp

    def finish(self, found):
        self.sink += [e for e in (found or []) if e.gain > 0]


class Batch:
    """Questions of many payees, answered by rounds of columnar runs (`run`)."""

    def __init__(self, plan, frames: dict, periods: list, fallback=None):
        """fallback(payee id, period, measure, delta, names) -> Outcome | None: the answer of
        the interpreter, for the payees the columnar engine hands over."""
        self.plan, self.frames, self.periods, self.fallback = plan, frames, periods, fallback
        self.usable = not pooled(plan)
        # a run's grid can hold only the payees asking when no definition reads the payees
        # table as rows (`people where ...`): their payouts read no other payee then
        lowered = ir_of(plan)
        self.payees_alone = not any(find_nodes(d.node, lambda n: isinstance(n, ir.Name) and n.ref == (
            "table", plan.payees_table)) for d in lowered.definitions.values())
        # a payee's periods are asked in the same run when no period reads another's payouts
        # (paid(), `hold when`): each (payee, period) is then a unit of its own
        try:
            self.by_period = not dependent(ir_of(plan)) and not held(ir_of(plan))
        except Unsupported:
            self.by_period = False
        self.tasks: dict = {}  # unit -> [_Task] in the order asked
        self.owners: dict = {}  # (table, row) -> the units credited with it
        self.rounds = 0
        self.names: set = set()
        self._watched = None  # (payout, tiers, the names watched, their values) of the last add

    def add(self, payee_id, period, payout, m, tiers, sink: list):
        """Ask what more of measure `m` pays `payout`'s component; the effects that pay
        more are appended to `sink` when `run` is done."""
        last = self._watched
        if last is None or last[0] is not payout or last[1] is not tiers:  # a component's measures share them
            names = watched(payout, tiers)
            last = self._watched = (payout, tiers, names, values(payout, names))
        self.ask(payee_id, period, payout, m, search(payout, m, list(tiers), last[2], last[3]), sink, last[2])

    def ask(self, payee_id, period, payout, m, gen, sink: list, names=frozenset()):
        """Ask the questions of a search generator `gen` (whatif.py's protocol: it yields the
        amount added to `m`'s column on its target row, and is sent each Outcome): a measure's
        what-if (`add`), or a row's next tier (report/whatif_rows.py `ask`)."""
        unit = (payee_id, period_key(period)) if self.by_period else (payee_id, None)
        self.tasks.setdefault(unit, []).append(_Task(gen, period, m, sink, names, payout.component))
        self.names |= names  # every answer carries them all (answers are shared by their question)
        for r in m.rows:
            self.owners.setdefault((r.table, r.row), set()).add(unit)

    def run(self):
        if self.payees_alone and self.tasks and self._run_cloned():
            return
        queues = {unit: list(ts) for unit, ts in self.tasks.items()}
        asking: dict = {}  # unit (payee id, period key or None) -> (task, delta)
        cache: dict = {}

        def step(unit, outcome=None, started=False):
            """Send `outcome` to the unit's current task (or start the next one) until it asks
            a question not answered yet; None when all its tasks are done."""
            while True:
                if not started:
                    if not queues[unit]:
                        asking.pop(unit, None)
                        return
                    task = queues[unit].pop(0)
                    try:
                        delta = next(task.gen)
                    except StopIteration as done:
                        task.finish(done.value)
                        continue
                else:
                    task = asking[unit][0]
                    try:
                        delta = task.gen.send(outcome)
                    except StopIteration as done:
                        task.finish(done.value)
                        started = False
                        continue
                key = self._key(unit, task, delta)
                if key in cache:
                    asking[unit], outcome, started = (task, delta), cache[key], True
                    continue
                asking[unit] = (task, delta)
                return

        for unit in queues:
            step(unit)
        while asking:
            chosen, blocked, taken = [], set(), set()
            for unit in sorted(asking):
                task, delta = asking[unit]
                ref = task.ref
                owners = self.owners.get((ref.table, ref.row), {unit})
                if unit in blocked or not owners.isdisjoint(taken):
                    continue
                chosen.append((unit, task, delta))
                taken.add(unit)
                blocked |= owners
            answers = self._round(chosen)
            for unit, task, delta in chosen:
                cache[self._key(unit, task, delta)] = answers[unit]
                step(unit, answers[unit], started=True)

    def _run_cloned(self) -> bool:
        """Every question of a round asked at once, each of a clone of its payee
        (report/whatif_clones.py); False (nothing asked yet) when the plan is not cloned or
        its unchanged clones do not give what their payees get in a columnar run."""
        try:
            clones = Clones.build(self.plan, self.frames)
        except pl.exceptions.PolarsError:
            clones = None
        if clones is None or any(t.m.added is not None and t.m.table not in clones.links
                                 for ts in self.tasks.values() for t in ts):  # a count's rows added to no clone
            return False
        units = list(self.tasks)
        ids = sorted({u[0] for u in units})
        frames = dict(self.frames)
        frames[self.plan.payees_table] = frames[self.plan.payees_table].filter(pl.col("__id").is_in(ids))
        questions = [(f"{pid}{SEP}{i}", pid, None, None, None, None, None) for i, pid in enumerate(ids)]
        self.rounds += 1
        try:  # the payees and their unchanged clones, in one run (each clone reads only its own rows)
            got, handed = self._outcomes(_together(frames, clones.frames(questions)), ids + [q[0] for q in questions])
        except (Fallback, Unsupported, pl.exceptions.PolarsError):  # the rounds of changed rows then
            return False
        clone_of = {q[1]: q[0] for q in questions}
        for (pid, pkey), o in got.items():
            if SEP not in pid and got.get((clone_of[pid], pkey)) != o:
                return False
        if handed:  # a payee the engine hands over: its clone's check is the interpreter's
            return False
        asking: dict = {}  # index of a task -> the amount it asks about
        todo = [(unit, t) for unit in units for t in self.tasks[unit]]
        # a task's question without its amount (its key is that and the amount), made once
        stems = [(unit[0], t.pkey, t.ref.table, t.ref.row, changes_of(t.m)) for unit, t in todo]

        found: dict = {}  # index of a task -> its effects, handed to the sinks in the order asked

        def ask(i, outcome=None, started=False):
            task = todo[i][1]
            try:
                asking[i] = task.gen.send(outcome) if started else next(task.gen)
            except StopIteration as done:
                found[i] = done.value
                asking.pop(i, None)
        for i in range(len(todo)):
            ask(i)
        while asking:
            self.rounds += 1
            keys: dict = {}
            questions = []
            asked = []  # (index of a task, the number of its question)
            for i, delta in list(asking.items()):
                added = todo[i][1].m.added
                if added is not None and not added.fits(delta):
                    ask(i, None, started=True)  # more rows than a what-if adds: as the interpreter's None
                    continue
                key = (*stems[i], delta)  # = self._key(unit, task, delta)
                got = keys.get(key)
                if got is None:
                    unit, task = todo[i]
                    got = keys[key] = (len(questions), task, set(task.names))
                    ref = task.ref
                    questions.append((f"{unit[0]}{SEP}{len(questions)}", unit[0], ref.table, ref.row,
                                      task.m.column, delta, task.m.added))
                else:
                    got[2].update(todo[i][1].names)
                asked.append((i, got[0]))
            answers = self._cloned_answers(clones, questions, keys) if questions else []
            for i, n in asked:
                ask(i, answers[n], started=True)
        for i, (_, task) in enumerate(todo):
            task.finish(found[i])
        return True

    def _cloned_answers(self, clones, questions: list, keys: dict) -> list:
        """The Outcome of each question (its task's period), by one run on their clones."""
        firsts = {n: (task, names) for n, task, names in keys.values()}
        try:
            got, handed = self._outcomes(clones.frames(questions), [q[0] for q in questions],
                                         [firsts[n][0].pkey for n in range(len(questions))],
                                         [firsts[n][1] for n in range(len(questions))])
        except (Fallback, Unsupported, pl.exceptions.PolarsError):  # each the interpreter's then
            got, handed = None, ()
        out = []
        for n, q in enumerate(questions):
            task = firsts[n][0]
            if got is None or q[0] in handed:
                out.append(self._fallback(q[1], task, q[5]))
            else:
                out.append(got.get((q[0], task.pkey), Outcome({}, {})))
        return out

    def _outcomes(self, frames: dict, ids: list, pkeys: list | None = None, names_of: list | None = None) -> tuple:
        """({(payee id, period key): Outcome}, the payees handed over) of one columnar run;
        pkeys, when given: only the period pkeys[i] of payee ids[i] is read, and only the
        lets names_of[i] of it (a value is read into Python at some 3 us: 30,000 questions)."""
        table, fr = evaluate_frames(self.plan, frames, self.periods, handover=True)
        comps = list(ir_of(self.plan).components)
        names = sorted(n for n in self.names if f"d.{n}" in fr.df.columns)
        values = [pl.col(f"d.{n}") for n in names]
        if pkeys is None:
            def only(df, who, when):
                return df.filter(pl.col(who).is_in(ids))
        else:
            wanted = pl.DataFrame({"__w": ids, "__k": pkeys, **{f"__m.{n}": [n in w for w in names_of] for n in names}},
                                  schema={"__w": pl.String, "__k": pl.String, **{f"__m.{n}": pl.Boolean for n in names}})
            values = [pl.when(pl.col(f"__m.{n}")).then(v) for n, v in zip(names, values)]

            def only(df, who, when):
                return df.join(wanted, left_on=[who, when], right_on=["__w", "__k"], how="inner")
        amounts: dict = {}
        for pid, pkey, c, amount in zip(*_columns(only(table, "payee_id", "period").select(
                "payee_id", "period", "__c", "amount"))):
            amounts.setdefault((pid, pkey), {})[comps[c]] = amount
        out: dict = {}
        got = _columns(only(fr.df, "__payee", "__pkey").select("__payee", "__pkey", *values))
        lets = [(n, column) for n, column in zip(names, got[2:]) if column.count(None) < len(column)]
        for i, key in enumerate(zip(got[0], got[1])):  # read by column: a value is read at some 3 us
            said = {}
            for n, column in lets:
                v = column[i]
                if v is not None:
                    said[n] = _number(v)
            out[key] = Outcome(amounts.get(key, {}), said)
        return out, set(fr.handed_over or ())

    @staticmethod
    def _key(unit, task, delta):
        ref = task.ref
        return (unit[0], task.pkey, ref.table, ref.row, changes_of(task.m), delta)

    def _round(self, chosen: list) -> dict:
        """unit -> Outcome of one columnar run with every chosen change applied."""
        self.rounds += 1
        frames = dict(self.frames)
        changes: dict = {}
        added = [(unit, task, delta) for unit, task, delta in chosen if task.m.added is not None]
        chosen = [c for c in chosen if c[1].m.added is None]  # a count's rows added: the interpreter's
        for _, task, delta in chosen:
            changes.setdefault((task.m.table, task.m.column), {})[task.ref.row] = delta
        for (table, column), by_row in changes.items():
            f = frames[table]
            dtype = f.schema[column]
            add = pl.col("__row").replace_strict(by_row, default=0, return_dtype=dtype)
            frames[table] = f.with_columns((pl.col(column) + add).cast(dtype).alias(column))
        ids = sorted({unit[0] for unit, _, _ in chosen})
        if self.payees_alone:  # the grid of payees x periods is the askers' only
            people = frames[self.plan.payees_table]
            frames[self.plan.payees_table] = people.filter(pl.col("__id").is_in(ids))
        out = {unit: self._fallback(unit[0], task, delta) for unit, task, delta in added}
        if not chosen:
            return out
        try:
            got, handed = self._outcomes(frames, ids)
        except (Fallback, Unsupported):
            return {**out, **{unit: self._fallback(unit[0], task, delta) for unit, task, delta in chosen}}
        for unit, task, delta in chosen:
            if unit[0] in handed:
                out[unit] = self._fallback(unit[0], task, delta)
            else:
                out[unit] = got.get((unit[0], task.pkey), Outcome({}, {}))
        return out

    def _fallback(self, pid, task, delta):
        if self.fallback is None:
            return None
        return self.fallback(pid, task.period, task.m, delta, task.names)


def _together(own: dict, copies: dict) -> dict:
    """The input frames of one run on the payees' own rows and on their clones' copies: each
    table the copies changed holds its own rows, then the copies, numbered after them (a row
    number names one row). A clone's id and its accounts' are no payee's (whatif_clones.SEP)."""
    out = dict(own)
    for table, f in copies.items():
        base = own[table]
        if f is not base:
            start = base.get_column("__row").max() or 0 if base.height else 0
            out[table] = pl.concat([base, f.with_columns(pl.col("__row") + start)], how="vertical")
    return out


def _columns(df: pl.DataFrame) -> list:
    """The frame's columns as Python lists (faster to read than its rows one by one)."""
    return [df.get_column(c).to_list() for c in df.columns]


def _number(v):
    return v if v is None or isinstance(v, Decimal) else Decimal(str(v)) if isinstance(v, (int, float)) else None
