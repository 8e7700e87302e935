"""Statements of many payees from one session, as `statement --all` writes them: the
session's traced payouts grouped once, the run meta hashed once, and each payee's what-ifs
re-run on the rows that payee can reach (`cut_tables`); and one payee's statement as
`statement --payee` makes it (`payee_statement`), from only the rows that payee can reach:
built once in no language (`payee_built`, what the portal keeps) and rendered in each
language asked for (`render_in`).
"""
from __future__ import annotations

import contextlib
import gc

import attrs

from kamrules.version import __version__

from kamrules.core.numeric import Fallback
from kamrules.data.strict import Table
from kamrules.report.i18n import DEFAULT
from kamrules.report.payouts import run_meta
from kamrules.report.statement import Shared, build_statement, render
from kamrules.run.session import reachable_lines


# From how many payees `--all` batches the what-ifs (report/whatif_batch.py): a batch costs
# about 56 columnar runs whatever the population, the interpreter's re-runs on one payee's
# rows about 35 ms per payee; below a few hundred payees the batch costs more than it saves
# (measured with bench/statements.py). Both give the same bytes (tests/test_statement_speed.py).
BATCH_FROM = 300


@contextlib.contextmanager
def no_cycle_collection():
    """The cyclic garbage collector paused while statements are computed (`statement`, the
    whole command; `statements`, for the portal too): `--all` keeps every payee's statement
    (trees of small objects) and the loaded rows alive until the files are written, and each
    of the collector's passes over them found nothing to free but cost about 1.5 ms of CPU per
    payee at 1,000 payees, a fifth of the command. What is dropped is still freed by reference
    counting; the collector runs again after (nested uses: when the outermost ends)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def statements(checked, tables, payouts, ids, periods, plan_path, fmt, lang=DEFAULT, rerun_tables=None,
               history=None, frames=None, shown=None) -> dict:
    """payee id -> rendered statement, each from its own payouts (grouped once); history:
    payee id -> that payee's ledger history (shown in a Ledger section), or None. frames
    (the session's columnar inputs), when given: the what-ifs of every payee are re-run
    together through the columnar engine (report/whatif_batch.py), else one payee at a time
    by the interpreter on rerun_tables(payee)."""
    with no_cycle_collection():
        return _statements(checked, tables, payouts, ids, periods, plan_path, fmt, lang, rerun_tables, history,
                           frames, shown)


def _statements(checked, tables, payouts, ids, periods, plan_path, fmt, lang, rerun_tables, history,
                frames, shown=None) -> dict:
    by_payee: dict = {}
    for p in payouts:
        by_payee.setdefault(p.payee_id, []).append(p)
    shared = Shared(checked, tables, plan_path, run_meta(plan_path, checked.name, checked.version, tables,
                                                         __version__), rerun_tables=rerun_tables)
    rows = {r.id: r for r in tables[checked.payees_table].rows}
    if frames is not None and len(ids) >= BATCH_FROM:
        from kamrules.report.whatif_batch import Batch
        batch = Batch(checked, frames, periods if shown is None else shown,
                      lambda pid, period, m, delta, names: shared.what_ifs(rows[pid], period).outcome(m, delta, names))
        shared.batch = batch if batch.usable else None
    built = {}
    for pid in ids:
        st = built[pid] = build_statement(checked, tables, by_payee.get(pid, []), pid, periods, plan_path,
                                          payee=rows[pid], lang=lang, shared=shared, shown=shown)
        if history is not None:
            st.ledger = history(pid)
    if shared.batch is not None:
        shared.batch.run()
        # the batch's fallback holds `shared`, which holds the batch: without that cycle, the
        # questions, the tables and the statements are freed by reference counting when the
        # caller drops them, not left to a pass of the cycle collector (0.2 ms per payee)
        shared.batch.fallback = None
    return built if fmt is None else {pid: render(st, fmt) for pid, st in built.items()}


def session_frames(session):
    """The session's columnar inputs, None when the columnar loader declines this data."""
    try:
        return session.frames()
    except Fallback:
        return None


def cut_tables(session, checked, tables):
    """payee -> the tables cut to the rows that payee can reach (run.session.reachable_lines):
    the what-ifs re-run the plan on them, not on everyone's rows. None (the whole tables)
    when the plan reads every payee's rows (share, team_total) or the cut is not known."""
    try:
        frames = session.frames()
    except Fallback:  # the columnar loader declines this data: no cut
        return None
    if checked.requires:
        return None
    by_number: dict = {}
    last: list = [None, None]  # the last payee's cut: its periods share it

    def cut(payee):
        if last[0] == payee.id:
            return last[1]
        keep = reachable_lines(checked, frames, {payee.id})
        out = dict(tables)
        for name, lines in keep.items():
            idx = by_number.get(name)
            if idx is None:
                idx = by_number[name] = {r.number: r for r in tables[name].rows}
            t = tables[name]
            out[name] = Table(t.spec, t.path, [idx[n] for n in sorted(lines) if n in idx])
        last[:] = [payee.id, out]
        return out
    return cut


def payee_statement(session, payee_id: str, fmt: str, lang: str = DEFAULT, history=None, shown=None) -> str:
    """The statement of one payee rendered in `fmt` and `lang` (payee_built, then render)."""
    return render_in(payee_built(session, payee_id, history, shown), fmt, lang)


def render_in(st, fmt: str, lang: str) -> str:
    """A built statement rendered in `fmt` and `lang`: what a statement says is built in no
    language (the values, the rows, the what-ifs' answers, the message ids of its words), so
    one build serves every language (the portal's locale switch renders again, no re-run)."""
    return render(attrs.evolve(st, lang=lang), fmt)


def payee_built(session, payee_id: str, history=None, shown=None):
    """The built statement (report.statement.Statement) of one payee, as `statement --payee`
    writes it, in no language yet (render_in): the rows the payee can
    reach (Session.tables_of, the periods then come from those frames), their derivation
    traced, with the year to date when the session has --period. The session may be asked
    again for another payee (the data it read once, the lean frames, serve every payee):
    then give `shown`, what its first `with_year_to_date()` returned (a second call would
    take the year's earlier periods for periods asked). history: the payee's ledger
    history (ledger.views.LedgerView.history), or None."""
    checked = session.check()
    session.tables_of({payee_id})
    if shown is None:
        shown = session.with_year_to_date()
    payouts = session.trace({payee_id})
    ids = sorted(session.payees([payee_id]))
    tables = session.tables_of({payee_id})
    return statements(checked, tables, payouts, ids, session.periods(), session.plan_path, None, DEFAULT,
                      None, history, None, shown if session.period_arg else None)[payee_id]
