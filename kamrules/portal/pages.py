"""Statements of many payees from one session, as `statement --all` writes them and the
portal serves them: the session's traced payouts grouped once, the run meta hashed once,
and each payee's what-ifs re-run on the rows that payee can reach (`cut_tables`).
"""
from __future__ import annotations

from kamrules.version import __version__

from kamrules.core.numeric import Fallback
from kamrules.data.strict import Table
from kamrules.report.i18n import DEFAULT
from kamrules.report.payouts import run_meta
from kamrules.report.statement import Shared, build_statement, render
from kamrules.run.session import reachable_lines


def statements(checked, tables, payouts, ids, periods, plan_path, fmt, lang=DEFAULT, rerun_tables=None,
               history=None) -> dict:
    """payee id -> rendered statement, each from its own payouts (grouped once); history:
    payee id -> that payee's ledger history (shown in a Ledger section), or None."""
    by_payee: dict = {}
    for p in payouts:
        by_payee.setdefault(p.payee_id, []).append(p)
    shared = Shared(checked, tables, plan_path, run_meta(plan_path, checked.name, checked.version, tables,
                                                         __version__), rerun_tables=rerun_tables)
    rows = {r.id: r for r in tables[checked.payees_table].rows}
    out = {}
    for pid in ids:
        st = build_statement(checked, tables, by_payee.get(pid, []), pid, periods, plan_path,
                             payee=rows[pid], lang=lang, shared=shared)
        if history is not None:
            st.ledger = history(pid)
        out[pid] = render(st, fmt)
    return out


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
