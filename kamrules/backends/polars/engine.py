"""The columnar run: every payee x period of a plan evaluated at once on polars frames.

`evaluate_frames` gives the same payouts as `engine.run.evaluate` (the interpreter, which
stays the reference): definitions in dependency order become columns of the frame,
components are rounded where the plan says, then added up per payment period. The frame
also holds the earlier periods `paid()` reads, and the definitions that read it are computed
again until the ledger settles (ledger.py); those periods are not paid out. It raises
`Unsupported` for a plan it does not translate and `Fallback` when the data needs the
interpreter (a value the plan cannot compute, whose diagnostic the interpreter gives); the
caller then runs the interpreter. Which plans it translates is answered statically
(support.py, which the session reads before any data); `check_supported` answers it by
running the plan on empty tables, the second method the tests compare it with.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl

from kamrules.check.lower import ir_of
from kamrules.check.plan import CheckedPlan
from kamrules.core import ir
from kamrules.core.history import NONE, History
from kamrules.core.currencies import codes, payee_column
from kamrules.trace.tree import Payout
from kamrules.backends.polars.ledger import dependent, ledger_periods, settle
from kamrules.core.numeric import Fallback
from kamrules.backends.polars.values import DEC, Col, dec, Ctx, Unsupported, any_error, decided_round, truth, period_key
from kamrules.backends.polars.frame import Frame
from kamrules.backends.polars.holds import apply_holds, held, hold_periods
from kamrules.backends.polars.lean import Liveness, columns_read, project, release



def empty_frames(plan: CheckedPlan | ir.Plan) -> dict:
    """Empty tables with the plan's schema (for check_supported)."""
    from kamrules.data.fast import DTYPES
    plan = ir_of(plan)
    out = {}
    for name, spec in plan.inputs.items():
        schema = {c: DTYPES[s.type.kind] for c, s in spec.columns.items()}
        schema.update({"__row": pl.Int64, "__id": pl.String})
        out[name] = pl.DataFrame(schema=schema)
    return out


def check_supported(plan: CheckedPlan | ir.Plan) -> str | None:
    """None when the columnar engine runs this plan, else the reason it does not."""
    plan = ir_of(plan)
    try:
        from kamrules.core.calendar import Period
        p = Period(dt.date(2025, 1, 1), plan.period_kind, plan.fiscal_start)
        evaluate_frames(plan, empty_frames(plan), [p.containing(plan.payment_kind or plan.period_kind)])
    except Unsupported as why:
        return str(why)
    except Fallback:
        return None
    return None


def evaluate_frames(plan: CheckedPlan | ir.Plan, frames: dict, periods: list, lineage: bool = False,
                    on_step=None, handover: bool = False, history: History = NONE, lean: bool = False):
    """(payouts as a polars DataFrame, the Frame) for the report periods `periods`;
    on_step(), if given, is called after each definition (progress). A payee-period the
    columns cannot decide raises Fallback; with handover=True the run goes on, and the
    Frame's `handed_over` lists those payees (their rows in the table are to be replaced by
    the interpreter's: run/session.py splices them at the Frame's `payout_base` ranks).
    lean=True: what no definition still to compute reads is let go of as the run goes
    (lean.py: the Frame then keeps the payouts' columns only); `frames` is then changed:
    its tables cut to the columns the plan reads, and removed once no longer read (a
    caller that keeps its frames passes a copy)."""
    plan = ir_of(plan)
    calc, pay_of = [], {}
    for p in periods:
        for c in p.subperiods(plan.period_kind):
            if period_key(c) not in pay_of:
                calc.append(c)
                pay_of[period_key(c)] = p
    report = [period_key(c) for c in calc]
    try:
        if plan.requires:
            from kamrules.backends.polars.requires import check_requires
            check_requires(plan, frames)
        calc = calc + hold_periods(plan, calc)  # `hold when`: the fiscal year before (holds.py)
        calc = sorted(calc + ledger_periods(plan, calc))
        lean = lean and not lineage and not dependent(plan) and not held(plan)
        if lean:
            project(plan, frames)
        fr = Frame(plan, frames, calc, lineage)
        fr.lean = Liveness(plan) if lean else None  # (lean.py)
        fr.history = history  # paid() in the periods a ledger fixed (ledger.py)
        fr.pay_codes = pay_codes(plan, frames)  # `currency payee.COLUMN`: payee id -> its code
        fr.foreign += payee_column(plan.currency) is not None  # fixed currencies too: the checker keeps them apart
        fr.handed_over = _definitions(fr, report, on_step, handover)
        return _payouts(fr, pay_of, periods), fr
    except pl.exceptions.ComputeError as err:
        if "overflow" in str(err).lower():
            raise Fallback(f"an amount beyond the columnar range: {err}") from None
        raise
    except pl.exceptions.InvalidOperationError as err:
        raise Fallback(str(err)) from None


def steps(plan: CheckedPlan | ir.Plan) -> int:
    """How many times evaluate_frames calls on_step."""
    plan = ir_of(plan)
    return sum(1 for d in plan.definitions.values()
               if d.kind not in ("param", "decision") and d.type.kind not in ("rows", "row"))


def _definitions(fr: Frame, report: list, on_step=None, handover: bool = False) -> list:
    """Every definition as frame columns; Fallback when a component of a payee-period of
    `report` (calculation period keys) cannot be computed (handover: the payees of those
    payee-periods, sorted; else [])."""
    plan = fr.plan
    fr.current = "eligible"
    if plan.eligible is not None:
        e = fr.ev(plan.eligible, Ctx())
        _need_col(e, plan.eligible)
        fr.add("__elig", truth(e))
        fr.add("__elig!", e.err if e.err is not None else pl.lit(False))
    else:
        fr.add("__elig", pl.lit(True))
        fr.add("__elig!", pl.lit(False))
    names = [n for n, d in plan.definitions.items()
             if d.kind not in ("param", "decision") and d.type.kind not in ("rows", "row")]
    fr.drop_stride = max(1, len(names) // RELEASES)
    _drop_temporaries(fr, names)
    # rows, and the row of one(rows), are read where the plan uses them
    history = dependent(plan)
    _compute(fr, names, on_step)
    if history:
        settle(fr, [n for n in names if n in history], lambda todo: _compute(fr, todo))
    if held(plan):
        apply_holds(fr)
    errs = [pl.col("__elig!")] + [pl.col(f"e.{c}") for c in plan.components]
    rows = fr.df if len(report) == len(fr.by_key) else fr.df.filter(pl.col("__pkey").is_in(report))
    bad = rows.select(pl.any_horizontal(*errs).any()).item()
    if not bad:
        return []
    if not handover:
        raise Fallback("a value the plan cannot compute for some payee (the interpreter reports it)")
    return sorted(rows.filter(pl.any_horizontal(*errs))["__payee"].unique().to_list())


def _compute(fr: Frame, names: list, on_step=None):
    """The definitions `names` (plan order) as columns d.<name> (and e.<name>, its errors;
    for a component x.<name>, where it exists, and r.<name>, its amount before rounding,
    unless Frame.exact_rounding rounds it on whole numbers)."""
    plan = fr.plan
    elig, elig_err = pl.col("__elig"), pl.col("__elig!")
    for i, name in enumerate(names):
        d = plan.definitions[name]
        fr.current = name
        if on_step is not None:
            on_step()
        if d.kind == "let":
            fr.deferred_bound = d.node.expr.uid  # its own quotient's bound: computed when read (Frame)
            try:
                v = fr.ev(d.node.expr, Ctx())
            finally:
                fr.deferred_bound = None
            _need_col(v, d.node)
            err = {} if v.err is None else {f"e.{name}": v.err.fill_null(False)}
            fr.add(f"d.{name}", v.expr, **err)
            if v.nullable:
                fr.nullable_defs.add(f"d.{name}")
            if v.places is not None and not v.approx:
                fr.def_places[f"d.{name}"] = v.places
            if v.ratio is not None:
                fr.ratios[f"d.{name}"] = v.ratio
            if v.approx:
                fr.approx_defs.add(f"d.{name}")
                if v.bound is not None:  # computed on its first read (Frame.definition_ref): a
                    fr.bounds[f"d.{name}"] = v.bound  # value rounded exactly never reads it
                if v.replay is not None:
                    fr.replays[f"d.{name}"] = _keep_replay(fr, name, v.replay)
            _drop_temporaries(fr, names[i + 1:])
            continue
        comp = d.node
        valid = pl.lit(True)
        if comp.valid_from is not None:
            lo = fr.ev(comp.valid_from, Ctx())
            valid = valid & (pl.col("__pend") >= lo.expr)
        if comp.valid_to is not None:
            hi = fr.ev(comp.valid_to, Ctx())
            valid = valid & (pl.col("__pstart") <= hi.expr)
        when, when_err = pl.lit(True), None
        if comp.when is not None:
            w = fr.ev(comp.when, Ctx())
            _need_col(w, comp.when)
            when, when_err = truth(w), w.err
        fr.add(f"x.{name}", elig & valid & when)
        raw, exact = fr.exact_rounding(comp.expr, plan.round_step, plan.round_mode)
        _need_col(raw, comp.expr)
        if exact is None:  # (rounded on whole numbers: nothing reads the quotient)
            fr.add(f"r.{name}", raw.expr)
            raw = Col(pl.col(f"r.{name}"), raw.err, raw.kind, raw.nullable, raw.approx, raw.replay, bound=raw.bound)
        exists = pl.col(f"x.{name}")
        if exact is not None:  # a quotient of exact values rounded on whole numbers (Frame.exact_rounding)
            rounded, round_err = exact.expr, None
        else:
            rounded, round_err = decided_round(raw, plan.round_step, plan.round_mode, fr.keep)
        amount = pl.when(exists).then(rounded).otherwise(dec(0))
        if round_err is not None:  # a rounding decided by neither the columns nor the replay
            raw.err = any_error(raw.err, round_err)
        err = any_error(elig_err, None if when_err is None else (elig & valid & when_err.fill_null(False)),
                  None if raw.err is None else (exists & raw.err.fill_null(False)),
                  exists & _missing(raw, exact))
        fr.add(f"d.{name}", amount, **{f"e.{name}": err})
        _drop_temporaries(fr, names[i + 1:])


def _missing(raw: Col, exact: Col | None) -> pl.Expr:
    """Where a component's amount before rounding is empty. Rounded on whole numbers
    (exact), its quotient is empty exactly where an operand is: read there, not from the
    quotient (a division of Decimal(38, 24) a row, computed only for this test)."""
    if exact is None or raw.ratio is None:
        return raw.expr.is_null()
    num, _, dens = raw.ratio
    return pl.any_horizontal(num.is_null(), *(x.is_null() for x, _ in dens))


RELEASES = 100  # the most passes of _drop_temporaries a run makes (a pass a definition below it)


def _drop_temporaries(fr: Frame, todo=()) -> None:
    """Drop the working columns (`t.`, Frame.keep/materialize/settle) of the definitions done
    that nothing computed later can read: only a definition's replay (its operands), its
    bound and the cached aggregates and rows refer to frame columns across definitions. Their
    memory is reused by the next columns (fewer fresh pages: less system time, a lower peak).
    A lean run (lean.py) drops every column, cached aggregate and table that no definition
    of `todo` (those still to compute) reads. Each pass reads every definition still to
    compute: a plan of many definitions (more than RELEASES) lets go every drop_stride of
    them, so that the passes stay linear in its definitions, not quadratic."""
    if todo and fr.drop_pending + 1 < fr.drop_stride:
        fr.drop_pending += 1
        return
    fr.drop_pending = 0
    if getattr(fr, "lean", None) is not None:
        release(fr, fr.lean, todo)
        return
    live = columns_read(fr)
    fr.drop([c for c in fr.columns if c.startswith("t.") and c not in live])


def _keep_replay(fr: Frame, name: str, replay: tuple) -> tuple:
    """A definition's replay on columns of the frame (its operands kept as q.<name>.<k>), so
    it can be read wherever the definition's column is."""
    exprs, fn = replay
    cols = []
    for k, e in enumerate(exprs):
        if e.meta.is_column():
            cols.append(e)
        else:
            fr.add(f"q.{name}.{k}", e)
            cols.append(pl.col(f"q.{name}.{k}"))
    return tuple(cols), fn


def _need_col(v, node):
    if not isinstance(v, Col):
        raise Unsupported("a definition that is a period or rows", node)


def _payouts(fr: Frame, pay_of: dict, periods: list) -> pl.DataFrame:
    """One row per payout: payee_id, period (key of the report period), `__o` (the
    payee-period's rank: payees by id, then periods), `__c` (the component's rank in the
    plan) and amount; sorted by (__o, __c). Calculation periods paid together are added up."""
    plan = fr.plan
    comps = plan.components
    df = fr.df
    if len(pay_of) != len(fr.by_key):  # earlier periods paid() read: not paid out
        df = df.filter(pl.col("__pkey").is_in(list(pay_of)))
    same = all(k == period_key(p) for k, p in pay_of.items())
    if not same:
        pay_key = {k: period_key(p) for k, p in pay_of.items()}
        df = (df.with_columns(pl.col("__pkey").replace_strict(pay_key, return_dtype=pl.String))
              .group_by("__payee", "__pkey", maintain_order=True)
              .agg(*[pl.col(f"x.{c}").any() for c in comps],
                   *[pl.col(f"d.{c}").filter(pl.col(f"x.{c}")).sum() for c in comps])
              .with_row_index("__f"))
    base = df.select("__f", "__payee", "__pkey")
    fr.payout_base = base
    if not comps:
        return pl.DataFrame(schema={"payee_id": pl.String, "period": pl.String, "__o": pl.UInt32,
                                    "__c": pl.Int32, "amount": DEC})
    if not df["__f"].is_sorted():
        df = df.sort("__f")
    # the rows in (__o, __c) order by index arithmetic, no sort and no join: output row j
    # is frame row j // k, component j % k, kept where that component exists
    k, h = len(comps), df.height
    j = pl.int_range(0, h * k, dtype=pl.UInt32, eager=True)
    row, comp = j // k, j % k
    pick = comp * h + row  # its place in the components' columns laid end to end
    exists = pl.concat([df[f"x.{c}"] for c in comps])
    if not exists.fill_null(False).all():
        keep = exists.gather(pick).fill_null(False)
        row, comp, pick = row.filter(keep), comp.filter(keep), pick.filter(keep)
    amounts = pl.concat([df[f"d.{c}"].cast(DEC) for c in comps])
    table = pl.DataFrame([df["__payee"].gather(row).alias("payee_id"), df["__pkey"].gather(row).alias("period"),
                          df["__f"].gather(row).alias("__o"), comp.cast(pl.Int32).alias("__c"),
                          amounts.gather(pick).alias("amount")])
    if payee_column(plan.currency) is not None:  # each payee's pay currency (run/columnar.py writes it)
        table = table.with_columns(pl.col("payee_id").replace_strict(fr.pay_codes, return_dtype=pl.String)
                                   .alias("currency"))
    return table


def pay_codes(plan, frames: dict) -> dict:
    """payee id -> pay currency code of a plan paid per payee's currency ({} otherwise)."""
    column = payee_column(plan.currency)
    if column is None:
        return {}
    df = frames[plan.payees_table]
    return codes(plan, zip(df[plan.payee_key].to_list(), df[column].to_list(), df["__row"].to_list()))


def payouts_list(plan: CheckedPlan | ir.Plan, table: pl.DataFrame, periods: list) -> list[Payout]:
    """The payouts as kamrules.trace.tree.Payout objects (amounts at the plan's rounding step)."""
    by_key = {period_key(p): p for p in periods}
    exp = plan.round_step.as_tuple().exponent
    places = max(0, -exp) if isinstance(exp, int) else 2
    q = Decimal(1).scaleb(-places)
    names = plan.components
    cur = pl.col("currency") if "currency" in table.columns else pl.lit(plan.currency)
    out = []
    for payee, pk, c, amount, code in table.select("payee_id", "period", "__c", "amount", cur).iter_rows():
        out.append(Payout(payee, by_key[pk], names[c], amount.quantize(q), code))
    return out
