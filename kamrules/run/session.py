"""The session owns the pipeline every data command runs: parse -> check -> lower -> load ->
periods -> execute -> trace.

Each stage is a method returning its result (computed once, then kept) and raising KamError
with its diagnostics, as the commands did before; warnings of the check are kept in
`diagnostics`. The engine is chosen once, for every command (`--engine auto|columnar|
interpreter`): `execute` runs the columnar engine when it can (auto: when the static pass of
run/engines.py says it runs the plan), else the interpreter,
so `run`, `team`, `simulate`, `diff` and `test` print the same amounts; `--engine duckdb`
(or `spark`, at `--spark-master URL`) runs the SQL backend (run/sqlrun.py), which refuses a plan it cannot run exactly (KR440). `trace` builds the
derivation trees (the interpreter) of the payees asked, for `explain` and `statement`, on
the same tables and periods.

Two sessions on the same data (`diff`) load it once when both plans declare the same inputs
(`Session(..., share=other)`).
"""
from __future__ import annotations

import argparse
from types import SimpleNamespace

import attrs

from kamrules.check.checker import check as check_plan
from kamrules.check.lower import ir_of
from kamrules.core.calendar import year_to_date_periods
from kamrules.core.currencies import codes, payee_column
from kamrules.core.history import NONE, History
from kamrules.data.strict import load_data
from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.backends.interp.integrity import check_integrity
from kamrules.run.parallel import evaluate_payees
from kamrules.backends.interp.run import evaluate, plan_periods, select_payees
from kamrules.check.plan import CheckedPlan
from kamrules.syntax.parser import parse, read_plan_text
from kamrules.diagnostics.source import SourceFile
from kamrules.run.engines import engines_for
from kamrules.run.progress import Progress
from kamrules.files.inputs import resolve
from kamrules.run.results import ColumnarRun, DefinitionValues, LazyPayouts, Run

ENGINES = ("auto", "columnar", "interpreter", "duckdb", "spark", "postgres")
SQL_ENGINES = ("duckdb", "spark", "postgres")  # the SQL backend's dialects (backends/sql/dialects.py)
_CHECKED: dict = {}  # (plan path, text) -> (checked plan, diagnostics): plans are not mutated


def add_engine_arg(parser) -> None:
    parser.add_argument("--engine", choices=ENGINES, default="auto",
                        help="auto (default): the columnar engine (polars) when it runs the plan, "
                             "else the interpreter; both give the same amounts; duckdb, spark, postgres: the SQL "
                             "backend (extras `duckdb`, `spark`, `postgres`; postgres runs in the database of "
                             "--db), which refuses a plan it cannot run exactly")
    parser.add_argument("--spark-master", metavar="URL", action=_SparkMaster,
                        help="--engine spark: the cluster to run on (spark://host:7077, yarn; default local[2], "
                             "this machine)")


class _SparkMaster(argparse.Action):
    """--spark-master: the process's one SparkSession starts there (dialects.MASTER)."""

    def __call__(self, parser, namespace, value, option_string=None):
        from kamrules.backends.sql.dialects import MASTER
        MASTER["url"] = value
        setattr(namespace, self.dest, value)


class Session:
    """One plan on one data folder (or on tables already loaded: `kamrules test`)."""

    def __init__(self, plan_path: str | None = None, data: str | None = None, period=None,
                 engine: str = "auto", *, plan: CheckedPlan | None = None, tables: dict | None = None,
                 share: "Session | None" = None, db: str | None = None, db_timeout: float | None = None):
        if engine not in ENGINES:
            raise KamError([Diagnostic("KR002", f"--engine {engine!r}: choose one of {', '.join(ENGINES)}")])
        self.plan_path, self.data, self.period_arg, self.engine = plan_path, data, period, engine
        self.diagnostics: list = []
        self._parsed = None
        self._checked = plan
        self._tables = tables
        self._frames = None
        self._frame = None  # the last columnar run's Frame: every definition as a column (definition_values)
        self.keep_values = False  # keep that Frame after the run (else dropped: `run` needs only its payouts)
        # False: a columnar run hands the input frames over to the engine, which lets go of
        # each table once no definition reads it (`run`, which reads nothing else after)
        self.keep_frames = True
        self._lean = None  # frames without the numbers only a run reads (_reachable: explain)
        self._kept = None  # (payee ids, _tables_for's answer): the tables of the payees last traced
        self._cells = None  # raw cells kept by the fast loader when only some rows are interpreted
        self._periods = None
        self._fixed_periods = None  # recompute(): exactly these periods
        self._share = share
        # --db URL: the database of the `from sql` inputs (tables given: already read)
        self.db, self.db_timeout, self._sourced = db, db_timeout, tables is not None
        self.handed_over = None  # why the columnar engine handed the run to the interpreter
        self.interpreted_payees: list = []  # the payees it handed over alone (_splice)
        self.history = NONE  # what paid() reads in the periods a ledger fixed (recompute)

    # ------------------------------------------------------------------ stages
    def parse(self):
        """(ast plan, source)."""
        if self._parsed is None:
            text = read_plan_text(self.plan_path)
            self._parsed = parse(text, self.plan_path), SourceFile(self.plan_path, text)
        return self._parsed

    def check(self) -> CheckedPlan:
        """The checked plan; raises KamError with every check error (warnings are kept).
        A plan checked before in this process with the same path and text is reused (`diff`
        of a plan with itself, commands run in-process one after the other)."""
        if self._checked is None:
            text = read_plan_text(self.plan_path)
            known = _CHECKED.get((self.plan_path, text))
            if known is None:
                plan, source = self.parse()
                checked, diags = check_plan(plan, source)
                errors = [d for d in diags if d.is_error]
                if errors:
                    raise KamError(errors)
                if len(_CHECKED) >= 16:
                    _CHECKED.pop(next(iter(_CHECKED)))
                known = _CHECKED[(self.plan_path, text)] = (checked, list(diags))
            self._checked, self.diagnostics = known[0], list(known[1])
            self.lower()
        return self._checked

    def lower(self):
        """The plan lowered for the backends (core.ir), built once right after checking and
        kept on the checked plan (`checked.ir`), so every engine reads the same IR."""
        return ir_of(self.check())

    def source(self):
        return self.check().source

    def sourced(self) -> CheckedPlan:
        """The checked plan, its `from sql` inputs read from snapshots of their queries on
        --db (kamrules.data.sql), done once, before any data is read."""
        if not self._sourced:
            from kamrules.data.sql import sourced
            other = self._share
            known = other.check() if other is not None and other._sourced and other.data == self.data else None
            self._checked = sourced(self.check(), self.data, self.db, self.db_timeout, known)
            self._sourced = True
        return self._checked

    def load(self) -> dict:
        """Every input as a data.Table (the strict loader), loaded once (shared when the
        session given as `share` loaded the same inputs)."""
        if self._tables is None:
            other = self._share
            if other is not None and other._tables is not None and same_inputs(self.sourced(), other.check()):
                self._tables = other._tables
            else:
                self._tables = load_data(self.sourced(), self.data)  # (`from sql`: their snapshots)
        return self._tables

    def frames(self) -> dict:
        """Every input as a polars frame (the columnar loader), loaded once (or shared)."""
        if self._frames is None:
            from kamrules.data.fast import frames_from_tables
            from kamrules.run.columnar import load as load_frames
            other = self._share
            plan = self.sourced()
            shared = other is not None and same_inputs(plan, other.check())
            if shared and other._frames is not None:
                self._frames = other._frames
                return self._frames
            if shared and self._tables is None:
                self._tables = other._tables
            if self._tables is not None:
                check_integrity(plan, self._tables)
                self._frames = frames_from_tables(plan, self._tables)
            else:
                self._frames = load_frames(plan, self.data, self._cells)
            self._pay_codes(plan)
        return self._frames

    def _loaded_frames(self) -> dict | None:
        """The frames loaded so far: whole, else lean (ids, links and periods are in both)."""
        return self._frames if self._frames is not None else self._lean

    def _pay_codes(self, plan) -> None:
        """KR460 at its row of the payees file (as the interpreter says it), before an engine
        that reads frames checks the codes without the file's path."""
        column = payee_column(plan.currency)
        if column is not None and self.data is not None:
            df = self._frames[plan.payees_table]
            codes(plan, zip(df[plan.payee_key].to_list(), df[column].to_list(), df["__row"].to_list()),
                  resolve(plan.inputs[plan.payees_table], self.data))

    def column(self, table: str, column: str) -> list:
        """The values of one input column (from the frames when the run loaded frames)."""
        if self._tables is None and self._frames is not None:
            return self._frames[table][column].to_list()
        return [r.values[column] for r in self.load()[table].rows]

    def periods(self) -> list:
        """The report periods (--period, else every period the data reaches)."""
        if self._fixed_periods is not None:
            return self._fixed_periods
        if self._periods is None:
            plan, frames = self.check(), self._loaded_frames()
            if self._tables is None and frames is not None:
                from kamrules.run.columnar import frame_periods
                self._periods = frame_periods(plan, frames, self.period_arg)
            else:
                self._periods = plan_periods(plan, self.load(), self.period_arg)
        return self._periods

    def execute(self, payee_ids=None, jobs: int = 1, quiet: bool = True, trace_dir: str | None = None,
                trace: bool = False) -> Run:
        """The payouts of the run, on the session's engine (auto: columnar when it can);
        trace=True: with the interpreter's derivation trees (`run --trace`)."""
        if self.engine in SQL_ENGINES and not trace and not trace_dir:  # (paid() reads self.history there too)
            from kamrules.run.sqlrun import run_sql
            done = run_sql(self, payee_ids, self.engine)
            if done is not None:
                return done
        elif self.engine != "interpreter" and not trace:
            done = self._columnar(payee_ids, quiet, trace_dir)
            if done is not None:
                return done
        if trace_dir:
            raise KamError([Diagnostic("KR002", "--trace-dir is the columnar engine's trace",
                                       hint="drop --engine interpreter / --trace, or use --trace (JSON trees)")])
        if trace and payee_ids:  # the trees of a few payees: only the rows they reach (as explain)
            payouts = self._interpret(payee_ids, trace=True)
            return Run(payouts, self.periods(), "interpreter", self._tables_for(payee_ids)[1])
        plan, tables = self.check(), self.load()
        periods = self.periods()
        ids = self.payees(payee_ids)
        total = sum(1 for r in tables[plan.payees_table].rows if ids is None or r.id in ids)
        progress = Progress(total, enabled=False if quiet else None)
        try:
            payouts = evaluate_payees(plan, tables, periods, trace=trace, payee_ids=ids, jobs=jobs,
                                      progress=progress, history=self.history)
        finally:
            progress.close()
        return Run(payouts, periods, "interpreter", tables)

    def loads_frames(self) -> bool:
        """Can the columnar engine run this plan on this data as far as can be known before it
        runs: the static pass (run/engines.py) says it translates the plan, and the fast loader
        accepts the data (the frames are then loaded, for the run and the periods). A command
        that reads only the payees' own columns after a columnar run asks this before loading
        anything with the strict loader."""
        if self._tables is not None or self.data is None or self.engine in ("interpreter",) + SQL_ENGINES:
            return False
        from kamrules.core.numeric import Fallback
        if engines_for(self.check(), ("columnar",))["columnar"] is not None:
            return False
        try:
            self.frames()
        except Fallback:
            return False
        return True

    def definition_values(self, names) -> "DefinitionValues | None":
        """The values of the named definitions (lets and components) of every payee in every
        calculation period of the last run, read from the columnar engine's frame (what
        `run --trace-dir` writes as values.parquet), with each value's error and the payee's
        eligibility; None when the last run was not the columnar engine's (the interpreter's
        values are then evaluated: Evaluator.definition), or ran without `keep_values` set."""
        import polars as pl
        frame = self._frame
        if frame is None:
            return None
        plan, cols = self.check(), frame.df.columns
        out = [pl.col("__payee").alias("payee_id"), pl.col("__pkey").alias("period"),
               pl.col("__elig").fill_null(False).alias("eligible"), pl.col("__elig!").fill_null(False).alias("eligible!")]
        for name in dict.fromkeys(names):
            if f"d.{name}" not in cols:
                continue
            out.append(pl.col(f"d.{name}").alias(name))
            out.append((pl.col(f"e.{name}").fill_null(False) if f"e.{name}" in cols else pl.lit(False)).alias(f"{name}!"))
            if plan.definitions[name].kind == "component":
                out.append(pl.col(f"x.{name}").fill_null(False).alias(f"applies.{name}"))
        return DefinitionValues(frame.df.select(out), dict(frame.by_key), dict(frame.pay_codes or {}),
                                list(frame.handed_over or ()))

    def payee_tables(self) -> dict:
        """The inputs as strict Tables holding only what a page of payees reads (ids, names,
        team, the reports_to input): the payees input and reports_to whole, every other input
        without rows. After a columnar run this converts only those rows (data.fast.kept_tables)
        instead of loading every file (load()); the tables already loaded when there are."""
        if self._tables is not None:
            return self._tables
        frames = self._loaded_frames()
        if frames is None:
            return self.load()
        from kamrules.data.fast import kept_tables
        from kamrules.data.strict import Table
        plan = self.sourced()
        whole = {n: s for n, s in plan.inputs.items() if n in (plan.payees_table, "reports_to") and n in frames}
        keep = {name: set(frames[name]["__row"].to_list()) for name in whole}
        tables = kept_tables(attrs.evolve(plan, inputs=whole), self.data, keep, self._cells)
        return {name: tables[name] if name in tables else Table(spec, resolve(spec, self.data), [])
                for name, spec in plan.inputs.items()}

    def recompute(self, periods: list, quiet: bool = True, history: History = NONE) -> Run:
        """The payouts of exactly these periods (calendar Periods), with no check that the
        data reaches them: the ledger (kamrules/ledger) recomputes closed periods on today's
        data and pays their differences in the next open period, which the data may not
        reach yet. paid() reads `history` in the periods it fixes (core.history: the closed
        periods under the plan recorded for them), elsewhere the values computed."""
        self.fix_periods(periods)
        self.history = history
        return self.execute(quiet=quiet)

    def fix_periods(self, periods: list) -> None:
        """Compute exactly these periods from now on, with no check that the data reaches them."""
        self._fixed_periods = sorted(set(periods))

    def with_year_to_date(self) -> list:
        """The report periods, returned; with --period, the earlier periods of their (fiscal)
        years are computed from now on too (`--period 2025-Q3`: 2025-Q1 and Q2), not shown: a
        year to date adds them up."""
        shown = self.periods()
        if self.period_arg:
            self.fix_periods(year_to_date_periods(shown))
        return shown

    def payees(self, wanted) -> set | None:
        """--payee ids checked against the data's payees (engine.run.select_payees)."""
        plan, frames = self.check(), self._loaded_frames()
        if self._tables is None and frames is not None:
            ids = frames[plan.payees_table][plan.payee_key]
            if wanted and set(wanted) <= set(ids.filter(ids.is_in(list(wanted)))):  # found: no list of all ids
                return set(wanted)
            return select_payees(wanted, ids.drop_nulls().to_list(), resolve(plan.inputs[plan.payees_table], self.data))
        table = self.load()[plan.payees_table]
        return select_payees(wanted, (r.id for r in table.rows), table.path)

    def trace(self, payee_ids: set) -> list:
        """Traced payouts (derivation trees) of the payees asked, by the interpreter.

        On a data folder not loaded yet, the inputs are read by the fast loader (which
        validates every row, and gives the periods), then the strict loader reads only the
        rows those payees can reach (`reachable_lines`), so one payee's tree costs about
        its own rows, not the whole data."""
        return self._interpret(payee_ids, trace=True)

    def eligibility(self, payee_id: str) -> list:
        """[(calculation period, eligible, the trace of `eligible when`)] of one payee in the
        report periods, by the interpreter on the rows the payee reaches (`explain` of a payee
        with no payout)."""
        from kamrules.backends.interp.run import eligibility
        return eligibility(self.check(), self._tables_for({payee_id})[1], self.periods(), payee_id)

    def _interpret(self, payee_ids, trace: bool) -> list:
        """The interpreter's payouts of these payees, reading only the rows they reach."""
        plan = self.check()
        ids, tables, whole = self._tables_for(payee_ids)
        return evaluate(plan, tables, self.periods(), trace=trace, payee_ids=ids, integrity=whole,
                        history=self.history)

    def tables_of(self, payee_ids) -> dict:
        """The tables that the payees `payee_ids` read (the rows they can reach, as for their
        trace; every row when the plan reads every payee's, or has `require` rules): what a
        statement of those payees re-runs its what-ifs on."""
        return self._tables_for(payee_ids)[1]

    def _tables_for(self, payee_ids) -> tuple:
        """(the payees checked, their tables, whether the tables are whole), kept for the
        same payees asked again."""
        key = frozenset(payee_ids)
        if self._kept is not None and self._kept[0] == key:
            return self._kept[1]
        plan = self.check()
        cut = None
        if self._tables is None and self.data is not None and not plan.requires:
            cut = self._reachable(payee_ids)
        if cut is None:
            found = (self.payees(sorted(payee_ids)), self.load(), True)
        else:
            from kamrules.data.fast import kept_tables
            ids, keep = cut
            frames = self._loaded_frames()
            for name in keep:  # and each table's first row, as in the whole table (a statement's
                if name in frames and frames[name].height:  # what-if for a payee at zero copies it)
                    keep[name] = keep[name] | {frames[name]["__row"].min()}
            found = (ids, kept_tables(plan, self.data, keep, self._cells), False)
        self._kept = (key, found)
        return found

    def _splice(self, table, frame):
        """The payout table with the rows of the payees the columnar engine handed over
        (frame.handed_over) replaced by the interpreter's, at the same ranks."""
        import polars as pl
        from kamrules.backends.polars.values import DEC, period_key
        plan = self.check()
        ids = frame.handed_over
        self.interpreted_payees = list(ids)
        payouts = self._interpret(set(ids), trace=False)
        comp = {c: i for i, c in enumerate(plan.components)}
        theirs = pl.DataFrame({"payee_id": [p.payee_id for p in payouts],
                               "period": [period_key(p.period) for p in payouts],
                               "__c": [comp[p.component] for p in payouts],
                               "amount": [p.amount for p in payouts], "currency": [p.currency for p in payouts]},
                              schema={"payee_id": pl.String, "period": pl.String, "__c": pl.Int32, "amount": DEC,
                                      "currency": pl.String})
        base = frame.payout_base.rename({"__f": "__o", "__payee": "payee_id", "__pkey": "period"})
        theirs = theirs.join(base, on=["payee_id", "period"], how="left").select(table.columns)
        if theirs["__o"].null_count():  # a payout of a payee-period the frame has no rank for
            from kamrules.core.numeric import Fallback
            raise Fallback("a handed-over payout outside the columnar grid")
        kept = table.filter(~pl.col("payee_id").is_in(ids))
        return pl.concat([kept, theirs.cast(kept.schema)]).sort("__o", "__c")

    def _reachable(self, payee_ids):
        """(payee ids, line numbers to read per input) from the fast loader, or None."""
        try:
            from kamrules.core.numeric import Fallback
        except ImportError:
            return None
        if self._frames is None and self._lean is None:  # keep the raw cells: kept_tables then splits no file again
            self._cells = {}
        try:
            if self._frames is None and self._share is None:  # the numbers are read from kept rows only
                from kamrules.data.fast import load_frames
                if self._lean is None:
                    self._lean = load_frames(self.sourced(), self.data, cells=self._cells, lean=True)
                frames = self._lean
            else:
                frames = self.frames()
        except Fallback:
            return None
        ids = self.payees(sorted(payee_ids))
        self.periods()
        return ids, reachable_lines(self.check(), frames, ids)

    # ------------------------------------------------------------------ columnar
    def _columnar(self, payee_ids, quiet, trace_dir) -> Run | None:
        """The run on the columnar engine, or None when the interpreter must run it (a plan the
        engine does not translate, known from the static pass before any data is read:
        run/engines.py; data whose diagnostic the interpreter gives; a join past its bound;
        no polars). Its progress bar counts steps: loading, each definition, writing."""
        try:
            import polars as pl
            from kamrules.backends.polars.engine import evaluate_frames, payouts_list, steps
            from kamrules.core.numeric import Fallback
            from kamrules.backends.polars.values import Unsupported
            from kamrules.backends.polars.requires import RuleBroken
            from kamrules.backends.polars.trace import write_trace
        except ImportError:
            if self.engine == "columnar":
                raise KamError([Diagnostic("KR002", "--engine columnar needs polars",
                                           hint="polars is a dependency of kamrules: pip install kamrules (or polars)")]) from None
            return None
        plan = self.check()
        why = engines_for(plan, ("columnar",))["columnar"]  # the static pass: before any data is read
        if why is not None:
            if trace_dir:
                raise KamError([Diagnostic("KR002", f"--trace-dir: the columnar engine does not run this plan: "
                                           f"{why.what}", why.span,
                                           hint="use --trace for the interpreter's JSON trace")])
            if self.engine == "columnar":
                raise KamError([Diagnostic("KR002", f"the columnar engine does not run this plan: {why.what}",
                                           why.span, hint="use --engine auto (the default) or interpreter")])
            self.handed_over = f"Unsupported: {why}"
            return None
        progress = Progress(steps(plan) + 2, label="steps", enabled=False if quiet else None)
        try:
            frames = self.frames()
            ids = self.payees(payee_ids)
            progress.advance()
            periods = self.periods()
            lean = not self.keep_values  # (backends/polars/lean.py)
            if lean and not self.keep_frames:
                self._frames = None  # handed over: loaded again if asked for after the run
            elif lean:
                frames = dict(frames)  # the engine removes the tables it is done with from it
            table, frame = evaluate_frames(plan, frames, periods, lineage=trace_dir is not None,
                                           on_step=progress.advance, handover=not trace_dir,
                                           history=self.history, lean=lean)
            if ids is not None:  # --payee: the payees asked for (their values that read others'
                frame.handed_over = [i for i in frame.handed_over if i in ids]  # carry their errors)
            if frame.handed_over:
                table = self._splice(table, frame)
            if trace_dir is not None:
                write_trace(frame, trace_dir)
            if ids is not None:
                table = table.filter(pl.col("payee_id").is_in(sorted(ids)))
            self._frame = frame if self.keep_values else None
            progress.advance()
        except (Unsupported, Fallback) as why:
            if isinstance(why, RuleBroken) and not trace_dir:
                if self._frames is None:  # handed over, unchanged: `require` is checked first
                    self._frames = frames
                self._broken_rules(why)  # the interpreter's diagnostics, from the rows flagged
            if trace_dir:
                raise KamError([Diagnostic("KR002", f"--trace-dir: the columnar engine does not run this "
                                           f"plan on this data ({why})",
                                           hint="use --trace for the interpreter's JSON trace")]) from None
            if self.engine == "columnar" and isinstance(why, Unsupported):
                raise KamError([Diagnostic("KR002", f"the columnar engine does not run this plan: {why}",
                                           hint="use --engine auto (the default) or interpreter")]) from None
            self._periods = None  # the interpreter finds them again from its tables
            self.handed_over = f"{type(why).__name__}: {why}"
            return None
        finally:
            progress.close()
        return ColumnarRun(LazyPayouts(lambda: payouts_list(plan, table, periods)), periods, "columnar",
                           self._inputs(), table)

    def _broken_rules(self, why) -> None:
        """Raise the interpreter's diagnostics of the `require` rules (interp.integrity
        check_rules, KR410 per row or the first row that cannot be checked), run on the rows
        the columnar check flagged (`why.rows`: every other row passes) and on the whole
        tables the rules read; the whole run, loaded by the strict loader, would say the same
        (references were checked by the fast loader). Returns when they all pass after all
        (an undecided comparison): the interpreter then runs the plan."""
        from kamrules.backends.interp.integrity import check_rules
        from kamrules.core import ir
        plan = self.check()
        if self._tables is not None:
            check_rules(plan, self._tables)
            return
        from kamrules.data.fast import kept_tables
        read = {n.ref[1] for r in self.lower().requires for n in ir.walk(r.cond)
                if isinstance(n, ir.Name) and n.ref[0] == "table"}
        keep = {name: (set(self._frames[name]["__row"].to_list()) if name in read
                       else set(why.rows.get(name, ()))) for name in plan.inputs}
        check_rules(plan, kept_tables(plan, self.data, keep, self._cells))

    def _inputs(self) -> dict:
        if self._tables is not None:
            return self._tables
        return {name: SimpleNamespace(path=resolve(spec, self.data))
                for name, spec in self.check().inputs.items()}


def same_inputs(a: CheckedPlan, b: CheckedPlan) -> bool:
    """Do two plans declare the same inputs (files, keys, columns), read the same way?"""
    return (a.fiscal_start, a.payees_table, _inputs_key(a)) == (b.fiscal_start, b.payees_table, _inputs_key(b))


def _inputs_key(plan: CheckedPlan):
    def col(c):
        return tuple((f.name, getattr(c, f.name)) for f in attrs.fields(type(c)) if f.name != "span")
    return tuple((n, s.file, s.key, s.dialect, s.sql, tuple((k, col(c)) for k, c in s.columns.items()))
                 for n, s in plan.inputs.items())


def reachable_lines(plan: CheckedPlan, frames: dict, ids: set) -> dict:
    """input name -> the line numbers of its rows the payees `ids` can read, for the inputs
    the plan reads only through such rows (the others are read whole; all of them when the
    plan calls share() or team_total(), which read every payee's rows):

    - the payees input, when the plan never names it;
    - an input every use of which is `T where ... column == payee.id ...` (the rows of
      those payees) or `T where ... assignee(column, ...) == payee.id ...` (the rows whose
      account was ever assigned to one of them);
    - `assignments`, when every assignee() call is such a conjunct: the rows of those
      accounts (assignee() is then only asked about them).

    The frames may be lean (data.fast.load_frames(lean=True)): a link column left out of
    them (a number) has its table read whole.
    """
    import polars as pl
    from kamrules.core import ir
    from kamrules.run.parallel import needs_all_payees, plan_nodes
    if needs_all_payees(plan):  # share() / team_total() read every payee's rows
        return {}
    names, wheres, assignee_calls = {}, [], 0
    for node in plan_nodes(plan):
        if isinstance(node, ir.Name) and node.ref == ("table", node.id):
            names[node.id] = names.get(node.id, 0) + 1
        elif isinstance(node, ir.Where) and isinstance(node.source, ir.Name) and node.source.id in plan.inputs:
            wheres.append(node)
        elif isinstance(node, ir.Call) and node.func == "assignee":
            assignee_calls += 1
    wanted = sorted(ids)
    links: dict = {}  # table -> [("eq" | "assigned", column)], None when some use is not linked
    linked_assignee = 0
    for w in wheres:
        table = w.source.id
        found = w.filter.payee_links
        if found and links.get(table, []) is not None:
            links.setdefault(table, []).append(found[0])
            linked_assignee += found[0][0] == "assigned"
        else:
            links[table] = None
    accounts = None
    if "assignments" in frames and {"account_id", "payee_id"} <= set(frames["assignments"].columns):
        a = frames["assignments"]
        accounts = a.select(pl.col("account_id").filter(pl.col("payee_id").is_in(wanted)).unique()).to_series().to_list()
    keep = {}
    for table, uses in links.items():
        if uses is None or names.get(table, 0) != len(uses) or table == plan.payees_table:
            continue
        frame, cond = frames[table], pl.lit(False)
        for how, col in uses:
            if col not in frame.columns:  # a number left out of lean frames: the table is read whole
                cond = None
                break
            if how == "eq":
                cond = cond | pl.col(col).is_in(wanted)
            elif accounts is not None:
                cond = cond | pl.col(col).is_in(accounts)
            else:
                cond = None
                break
        if cond is not None:
            keep[table] = _rows_where(frame, cond)
    if plan.payees_table not in names:
        f = frames[plan.payees_table]
        keep[plan.payees_table] = _rows_where(f, pl.col("__id").is_in(wanted))
    if (accounts is not None and "assignments" not in names and assignee_calls == linked_assignee
            and assignee_calls):
        f = frames["assignments"]
        keep["assignments"] = _rows_where(f, pl.col("account_id").is_in(accounts))
    return keep


def _rows_where(frame, cond) -> set:
    """The line numbers (`__row`) of the frame's rows where cond holds (only that column is
    filtered: a filter of the whole frame gathers every column)."""
    import polars as pl
    return set(frame.select(pl.col("__row").filter(cond)).to_series().to_list())
