"""A run against the ledger: what the open periods pay, closed periods never paid again.

Every period is computed on today's data (the session's `recompute`: the data periods, the
closed ones, the one after the last closed period and the ones asked). A closed period is
recomputed under the plan recorded by its last close (the copy in the ledger), or under
today's plan with `retroactive`. Then, per payee and component:

- an open period never closed pays what the plan computes (the ordinary rows);
- a closed period C whose recomputation differs from what was paid for it (its close plus
  every adjustment of it since) gets an adjustment row in the first period after the last
  closed one: `period` that period, `adjusts` C, amount = recomputed - paid;
- a reopened period pays the same difference, in itself (`adjusts` = itself).

So the recorded amounts plus the adjustments are what the plan owes to date, each cent paid
once. `paid()` in formulas reads the recomputed history (what is owed): in a closed period,
the value recomputed under its recorded plan, given to the engines as an input of the run
(core.history.History, `_recorded_history`), so a plan edited since changes nothing closed,
not even through a true-up of an open period. Manual adjustments come from --adjustments
and from the plan's `adjustments` input (`_manual`).
"""
from __future__ import annotations

from decimal import Decimal

import attrs

from kamrules.core.calendar import parse_period
from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.files.inputs import resolve
from kamrules.diagnostics.source import Span
from kamrules.ledger.manual import COLUMNS, MANUAL, read_adjustments
from kamrules.ledger.store import Ledger, Row, broken, sha256_bytes
from kamrules.run.session import Session
from kamrules.core.history import NONE, History
from kamrules.backends.interp.holds import held_components
from kamrules.backends.polars.ledger import paid_calls
from kamrules.check.lower import ir_of


@attrs.define
class Settlement:
    rows: list  # Row of every open period computed, grouped per payee and period (no totals)
    periods: list  # the open periods computed (calendar Periods), sorted
    data_periods: list  # the periods the data reaches
    next_open: object  # the period after the last closed one (adjustments go there), or None
    session: Session  # today's plan on today's data
    plan_text: bytes
    asked: list  # the periods --period asked (calendar Periods), [] for every period
    manual: list  # the manual adjustments paid (manual.Manual), not recorded before
    ledger: Ledger = None
    _views: dict = attrs.field(factory=dict)

    def balances(self) -> list:
        """Every payee's balance on account (balance.balances), computed once."""
        if "balances" not in self._views:
            from kamrules.ledger.balance import balances
            self._views["balances"] = balances(self.session.check(), self.ledger, self.next_open)
        return self._views["balances"]

    def to_pay(self) -> dict:
        """payee -> open period -> (computed, adjustments, currency) (balance.to_pay), once."""
        if "to_pay" not in self._views:
            from kamrules.ledger.balance import to_pay
            self._views["to_pay"] = to_pay(self.rows)
        return self._views["to_pay"]

    def shown(self) -> list:
        """The rows `run --ledger` prints: the open periods asked (KR806 when every period
        asked is closed), else every open period the data reaches, the period after the last
        closed one when it pays an adjustment, and a reopened period with a difference."""
        open_labels = {p.label for p in self.periods}
        if self.asked:
            labels = [p.label for p in self.asked if p.label in open_labels]
            if not labels:
                raise KamError([Diagnostic(
                    "KR806", f"--period {', '.join(p.label for p in self.asked)}: closed in the ledger, "
                    "never paid again", hint="`kamrules ledger show LEDGER` prints what was paid; "
                    "corrections of a closed period are paid as adjustments in the next open one")])
            return self.period_rows(labels)
        data = {p.label for p in self.data_periods}
        return [r for r in self.rows if r.period in data or r.adjusts]

    def period_rows(self, labels) -> list:
        wanted = set(labels)
        return [r for r in self.rows if r.period in wanted]


def settle(plan_path: str, data: str, ledger: Ledger, engine: str = "auto",
           retroactive: bool = False, selection=None, adjustments: str | None = None,
           view: bool = False, db: str | None = None, db_timeout: float | None = None) -> Settlement:
    """Today's plan and data against the ledger (KamError on any plan, data or ledger problem);
    `adjustments`: a file of manual adjustments (kamrules/ledger/manual.py); view=True (the
    views: statement, team): the period after the last closed one is computed only when the
    data reaches it or it is asked (its adjustment rows are there, its own rows are not).
    `db`, `db_timeout`: the database of the `from sql` inputs (--db), each query run once."""
    session = Session(plan_path, data, None, engine, db=db, db_timeout=db_timeout)
    plan = session.sourced()  # (--engine postgres still computes on the queries in place; the
    # snapshots give the periods and the ledger's input hashes)
    with open(plan_path, "rb") as fh:
        plan_text = fh.read()
    kind = plan.payment_kind or plan.period_kind
    try:
        data_periods = list(session.periods())
    except KamError:
        if not selection:
            raise
        data_periods = []
    asked = Session(plan_path, data, selection, engine, share=session, db=db,
                    db_timeout=db_timeout).periods() if selection else []
    closed = [_period(label, plan, kind, ledger) for label in ledger.closed()]
    next_open = max(closed).next() if closed else None
    manual = _manual(adjustments, session, ledger)
    wanted = set(data_periods) | set(closed) | set(asked)
    if next_open is not None and not (view and next_open not in wanted):
        wanted.add(next_open)
    wanted |= {parse_period(m.period, plan.fiscal_start) for m in manual}
    history, fixed_values, more_order = _recorded_history(plan_path, plan_text, data, ledger, closed,
                                                          session, engine, retroactive)
    run = session.recompute(sorted(wanted), history=history)
    computed, _ = _amounts(run.payouts)
    computed = {k: v for k, v in computed.items() if (k[1] not in fixed_values)}
    for values in fixed_values.values():
        computed.update(values)
    order = {c: i for i, c in enumerate(plan.components)}  # rows in plan order, as `run` prints
    for comp in more_order:
        order.setdefault(comp, len(order))
    payee_rank = {}
    for p in run.payouts:
        payee_rank.setdefault(p.payee_id, len(payee_rank))
    paid = ledger.paid()
    rows = []
    closed_labels = {c.label for c in closed}
    open_periods = sorted(p for p in wanted if p.label not in closed_labels)
    for p in run.payouts:
        label = p.period.label
        if label in closed_labels or ledger.ever_closed(label):
            continue
        rows.append(Row(p.payee_id, label, p.component, "", p.amount, p.currency))
    reopened = [p.label for p in open_periods if ledger.ever_closed(p.label)]
    targets = [(label, label) for label in reopened]
    if next_open is not None:
        targets += [(c.label, next_open.label) for c in closed]
    for fixed, into in targets:
        keys = {k for k in computed if k[1] == fixed} | {k for k in paid if k[1] == fixed}
        for key in keys:
            got, cur = computed.get(key, (Decimal(0), None))
            was, was_cur = paid.get(key, (Decimal(0), None))
            if got != was:
                rows.append(Row(key[0], into, key[2], fixed, got - was, cur or was_cur))
    rows += [Row(m.payee_id, m.period, m.component, MANUAL + m.reference, m.amount, m.currency)
             for m in manual]
    for r in rows:
        payee_rank.setdefault(r.payee_id, len(payee_rank) + 10 ** 6)
    starts = {p.label: p.start for p in wanted | ({next_open} if next_open else set())}
    rows.sort(key=lambda r: (payee_rank[r.payee_id], r.payee_id, starts[r.period], r.adjusts != "",
                             r.adjusts, order.get(r.component, len(order)), r.component))
    return Settlement(rows, open_periods, sorted(data_periods), next_open, session, plan_text, list(asked),
                      manual, ledger)


def _recorded_history(plan_path, plan_text, data, ledger, closed, session, engine, retroactive):
    """(History, {closed period label: its amounts}, components) of the closed periods
    recomputed on today's data under the plan recorded for each (module doc).

    Closed periods are taken in order, in runs of periods recorded under one plan; each run
    is recomputed with the history of the runs before it (core.history), and becomes
    history in turn. The last runs recorded under today's plan need no run of their own:
    today's run computes them the same way. Retroactive: every period under today's plan,
    so the history is what today's run computes (no History)."""
    today = sha256_bytes(plan_text)
    shas = [today if retroactive else
            ((ledger.last_close(c.label).manifest.get("plan") or {}).get("sha256", today)) for c in sorted(closed)]
    last = max((k for k, sha in enumerate(shas) if sha != today), default=-1)
    history, values, order = NONE, {}, []
    if last >= 0:
        _history_applies(session.check(), plan_path)
    k = 0
    while k <= last:
        sha, group = shas[k], []
        while k <= last and shas[k] == sha:
            group.append(sorted(closed)[k])
            k += 1
        path = plan_path if sha == today else _plan_copy(ledger, sha)
        other = Session(path, data, None, engine, share=session, db=session.db, db_timeout=session.db_timeout)
        other.sourced()  # the snapshots of today's run where the queries are the same
        _history_applies(other.check(), path)
        run = other.recompute(group, history=history)
        got, more = _amounts(run.payouts)
        order += [c for c in more if c not in order]
        labels = {p.label: p for p in group}
        for key, amount in got.items():
            values.setdefault(key[1], {})[key] = amount
        fixed = dict(history.values)
        fixed.update({(pid, labels[label], comp): amount
                      for (pid, label, comp), (amount, _) in got.items()})
        history = History(history.periods | frozenset(group), fixed)
        for p in group:
            values.setdefault(p.label, {})
    return history, values, order


def _plan_copy(ledger: Ledger, sha: str) -> str:
    """The ledger's copy of a recorded plan, checked against its sha256 (KR804 otherwise)."""
    copy = ledger.plan_copy(sha)
    try:
        with open(copy, "rb") as fh:
            ok = sha256_bytes(fh.read()) == sha
    except OSError:
        ok = False
    if not ok:
        raise broken(f"ledger {ledger.path}: the plan copy {copy} is missing or changed")
    return copy


def _history_applies(plan, path: str) -> None:
    """KR750: the recomputed payouts of a closed period are the history paid() reads only
    when they are the components' values: the plan pays each calculation period alone and
    holds nothing paid() reads."""
    lowered = ir_of(plan)  # (a plan whose `from sql` inputs were sourced is lowered again)
    reads = {n.args[0].id for n in paid_calls(lowered)}
    held = held_components(lowered) & reads
    if reads and (held or (plan.payment_kind and plan.payment_kind != plan.period_kind)):
        why = (f"holds `{sorted(held)[0]}`, which paid() reads" if held else
               f"computes by {plan.period_kind} but pays by {plan.payment_kind}")
        raise KamError([Diagnostic(
            "KR750", f"{path} {why}: the closed periods cannot be recomputed under the plan "
            "recorded for them as the history paid() reads", Span(path, 1, 1, 1, 2),
            hint="run with --retroactive (every closed period recomputed under today's plan), or "
                 "reopen the closed periods (`kamrules ledger reopen`) and close them again")])


def _manual(path: str | None, session: Session, ledger: Ledger) -> list:
    """The manual adjustments not recorded yet, of the plan's `adjustments` input and of the
    --adjustments file (KR810: one in a closed period; KR809: a reference in both)."""
    plan = session.check()
    sources = [p for p in (declared_adjustments(session), path) if p]
    if not sources:
        return []
    payees = set(session.column(plan.payees_table, plan.payee_key))
    done = ledger.manual_references()
    out, seen = [], {}
    for source in sources:
        for m in read_adjustments(source, plan, payees):
            if m.reference in seen:
                raise KamError([Diagnostic(
                    "KR809", f"reference `{m.reference}` is also in {seen[m.reference]}",
                    Span(source, m.line, 1, m.line, 2), hint="one reference per adjustment")])
            seen[m.reference] = source
            if m.reference in done:
                continue
            if ledger.status(m.period) == "closed":
                raise KamError([Diagnostic(
                    "KR810", f"adjustment {m.reference} is dated {m.period}, which is "
                    "closed", Span(source, m.line, 1, m.line, 2),
                    hint="date it in an open period: it is paid there (a closed period is never paid again)")])
            out.append(m)
    return out


def declared_adjustments(session: Session) -> str | None:
    """The file of the plan's `input adjustments from "FILE" {...}` (None when the plan
    declares none); KR751 when it is not a CSV file with the columns of manual.COLUMNS."""
    plan = session.check()
    spec = plan.inputs.get("adjustments")
    if spec is None:
        return None
    missing = [c for c in COLUMNS if c not in spec.columns]
    if spec.sql is not None or missing:
        why = "is read from SQL" if spec.sql is not None else f"lacks the column `{missing[0]}`"
        raise KamError([Diagnostic(
            "KR751", f"input `adjustments` {why}: it holds the manual adjustments a run against a "
            "ledger pays", spec.span, hint='input adjustments from "adjustments.csv" { '
            + "  ".join(f"{c}: {'Money' if c == 'amount' else 'Period' if c == 'period' else 'Text'}"
                        for c in COLUMNS) + " }")])
    return resolve(spec, session.data)


def _amounts(payouts) -> tuple[dict, dict]:
    """((payee, period label, component) -> (amount, currency), component -> rank)."""
    out, order = {}, {}
    for p in payouts:
        out[(p.payee_id, p.period.label, p.component)] = (p.amount, p.currency)
        order.setdefault(p.component, len(order))
    return out, order


def _period(label: str, plan, kind: str, ledger: Ledger):
    try:
        p = parse_period(label, plan.fiscal_start)
    except ValueError:
        raise broken(f"ledger {ledger.path}: a record names the period {label!r}") from None
    if p.kind != kind:
        raise KamError([Diagnostic("KR807", f"ledger {ledger.path} closes {p.kind}s ({label}) but the "
                                   f"plan pays by {kind}", hint="a ledger belongs to one plan's payment "
                                   "periods: start a new ledger for a plan that pays on another calendar")])
    return p


def with_totals(rows: list) -> list[tuple]:
    """(payee_id, period, component, adjusts, amount, currency) tuples, a `total` after each
    payee and period (adjustments included)."""
    out, current, acc, currency = [], None, Decimal(0), None
    for r in rows:
        key = (r.payee_id, r.period)
        if key != current:
            if current is not None:
                out.append((*current, "total", "", acc, currency))
            current, acc = key, Decimal(0)
        out.append((r.payee_id, r.period, r.component, r.adjusts, r.amount, r.currency))
        acc += r.amount
        currency = r.currency
    if current is not None:
        out.append((*current, "total", "", acc, currency))
    return out


def input_hashes(session: Session) -> dict:
    """input name -> {file, sha256} of today's data (what a close recorded; a `from sql`
    input: its snapshot's)."""
    from kamrules.report.payouts import sha256_file
    plan = session.check()
    out = {}
    for name, spec in sorted(plan.inputs.items()):
        path = resolve(spec, session.data)
        out[name] = {"file": spec.file, "sha256": sha256_file(path)}
    return out
