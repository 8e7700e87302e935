"""Shared helpers of the tests that compare the two engines on a small plan
(tests/test_constructs_*.py, tests/test_columnar_builtins.py): write a plan and its CSV
files, then run both engines on them and return their payout CSVs (or what stopped the
interpreter)."""
from __future__ import annotations

import polars as pl
import pytest

from kamrules.backends.interp import plan_periods
from kamrules.backends.interp.run import evaluate
from kamrules.backends.polars.engine import check_supported, evaluate_frames, payouts_list
from kamrules.backends.polars.support import refusal
from kamrules.data.fast import frames_from_tables
from kamrules.core.numeric import Fallback
from kamrules.cli.common import load
from kamrules.data.strict import load_data
from kamrules.diagnostics.diagnostic import KamError
from kamrules.report.payouts import to_csv


def write_plan(tmp_path, plan_text: str, files: dict):
    """(checked plan, data folder) of a plan text and {name: [csv lines]}; the plan checks and
    the columnar engine takes it."""
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    for name, rows in files.items():
        (data / f"{name}.csv").write_text("\n".join(rows) + "\n")
    plan = tmp_path / "p.kam"
    plan.write_text(plan_text)
    checked = load(plan)[0]
    assert checked is not None, "the plan does not check"
    assert check_supported(checked) is None
    assert refusal(checked) is None  # the static pass agrees (kamrules/backends/polars/support.py)
    return checked, data


def write_case(tmp_path, plan_text: str, files: dict):
    """(checked plan, loaded tables) of a plan text and {name: [csv lines]}."""
    checked, data = write_plan(tmp_path, plan_text, files)
    return checked, load_data(checked, str(data))


def both(checked, tables):
    """(interpreter CSV, columnar CSV); when the interpreter stops, the columnar run must
    hand over: ("the interpreter stops: CODE", None)."""
    periods = plan_periods(checked, tables)
    try:
        want = to_csv(evaluate(checked, tables, periods, trace=False))
    except KamError as err:
        with pytest.raises(Fallback):
            evaluate_frames(checked, frames_from_tables(checked, tables), periods)
        return f"the interpreter stops: {err.diagnostics[0].code}", None
    return columnar_or_handed_over(checked, tables, periods, want)


def columnar_or_handed_over(checked, tables, periods, want: str):
    """(want, the columnar CSV) when the interpreter succeeds: the columnar run, or, when it
    hands some payees over (a decision within an approximate value's error bound that no
    replay settles), the two CSVs without those payees' lines (the session splices the
    interpreter's lines there; a whole-run Fallback still fails the test)."""
    frames = frames_from_tables(checked, tables)
    try:
        table, _ = evaluate_frames(checked, frames, periods)
    except Fallback:
        table, frame = evaluate_frames(checked, frames, periods, handover=True)
        gone = set(frame.handed_over)
        assert gone, "a Fallback with no payee handed over"
        kept = table.filter(~pl.col("payee_id").is_in(sorted(gone)))
        head, *lines = want.splitlines(keepends=True)
        return (head + "".join(x for x in lines if x.split(",")[0] not in gone),
                to_csv(payouts_list(checked, kept, periods)))
    return want, to_csv(payouts_list(checked, table, periods))


def amounts(csv: str, component: str) -> dict:
    """{payee id: amount} of one component in a payout CSV."""
    lines = csv.splitlines()
    head = lines[0].split(",")
    rows = [dict(zip(head, line.split(","))) for line in lines[1:]]
    return {r["payee_id"]: r["amount"] for r in rows if r["component"] == component}
