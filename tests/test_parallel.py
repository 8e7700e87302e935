"""--jobs: the same bytes as --jobs 1 (case data and a generated data set), the same errors,
serial fallback for whole-population plans; and the progress bar's rules."""
from __future__ import annotations

import io
import sys

import pytest
from hypothesis import given, settings, strategies as st

from conftest import EXAMPLES, PLANS, ROOT, examples, run_cli, run_cli_process
from kamrules.check.checker import check
from kamrules.data.strict import load_data
from kamrules.diagnostics.diagnostic import KamError
from kamrules.backends.interp import plan_periods
from kamrules.run.parallel import evaluate_payees, needs_all_payees, slices
from kamrules.syntax.parser import parse_file
from kamrules.run.progress import Progress
from kamrules.report.payouts import to_csv

sys.path.insert(0, str(ROOT / "bench"))
import workload  # noqa: E402  (bench/workload.py: the seeded generator)

CASES = [
    ("abtasty-kam.kam", "01-abtasty-nrr-upsell"),
    ("media-advance.kam", "02-media-advance"),
    ("pharma-rire.kam", "03-pharma-envelope"),
    ("kam-uncapped.kam", "04-uncapped-scenarios/scenario-a"),
    ("kam-capped.kam", "04-uncapped-scenarios/scenario-b"),
    ("equipment-colour-grid.kam", "05-colour-grid"),
    ("multi-year-booster.kam", "06-multi-year-booster"),
    ("emotion-ai-challenge.kam", "07-challenge-spif"),
    ("charter-split.kam", "08-charter-split"),
    ("clawback-cash.kam", "09-clawback-cash"),
]


def _load(plan_path, folder):
    plan, source = parse_file(str(plan_path))
    checked, diags = check(plan, source)
    assert not [d for d in diags if d.is_error]
    tables = load_data(checked, str(folder))
    return checked, tables, plan_periods(checked, tables)


def _csv(checked, tables, periods, jobs):
    return to_csv(evaluate_payees(checked, tables, periods, trace=False, jobs=jobs))


@pytest.mark.parametrize("plan,case", CASES)
def test_jobs_give_the_same_bytes_on_the_cases(plan, case):
    checked, tables, periods = _load(PLANS / plan, EXAMPLES / case)
    serial = _csv(checked, tables, periods, 1)
    assert serial.count("\n") > 1  # the case computes something
    # three workers: slices of unequal sizes on every case (two: test_errors_from_workers_are_kam_errors; five: the generated data below)
    assert _csv(checked, tables, periods, 3) == serial


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gen")
    return workload.generate(str(folder), payees=60, months=2, deals=600, seed=11)


def test_jobs_give_the_same_bytes_on_generated_data_through_the_cli(generated, tmp_path):
    plan = ROOT / "bench" / "abtasty-monthly.kam"
    outs = []
    for jobs in ("1", "5"):  # --jobs 1 (the reference bytes) in this process: it spawns nothing
        out = tmp_path / f"out-{jobs}.csv"
        run = run_cli if jobs == "1" else run_cli_process
        res = run("run", plan, "--data", generated, "--engine", "interpreter", "--jobs", jobs, "-o", out)
        assert res.returncode == 0, res.stderr
        assert res.stderr == ""  # not a terminal: no progress bar
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    # 60 payees, about 2% without targets, two months, two components and a total each
    lines = outs[0].decode().strip().splitlines()[1:]
    assert 50 * 2 * 3 <= len(lines) <= 60 * 2 * 3 and len(lines) % 6 == 0


def test_a_data_error_is_the_serial_one(generated, tmp_path):
    """Break the portfolio of one payee (its ARR rows vanish: division by zero)."""
    import shutil
    folder = tmp_path / "broken"
    shutil.copytree(generated, folder)
    arr = (folder / "arr.csv").read_text().splitlines()
    victim = "acc-0000080"  # first account of kam-000040, the only one it keeps all year
    (folder / "arr.csv").write_text("\n".join(l for l in arr if not l.startswith(victim)) + "\n")
    (folder / "assignments.csv").write_text("\n".join(
        l for l in (folder / "assignments.csv").read_text().splitlines()
        if not l.startswith("acc-0000081")) + "\n")
    plan = ROOT / "bench" / "abtasty-monthly.kam"
    results = [run("run", plan, "--data", folder, "--engine", "interpreter", "--jobs", j,
                   "-o", tmp_path / f"o{j}.csv")
               for run, j in ((run_cli, "1"), (run_cli_process, "3"))]  # serial: in this process
    for res in results:
        assert res.returncode == 1
        assert "KR407" in res.stderr and "kam-000040" in res.stderr and "Traceback" not in res.stderr
    assert results[0].stderr == results[1].stderr
    assert not (tmp_path / "o1.csv").exists() and not (tmp_path / "o3.csv").exists()


def test_pools_and_team_measures_run_in_one_process():
    team, _ = parse_file(str(PLANS / "team-bonus.kam"))
    checked, _ = check(team, _)
    assert needs_all_payees(checked)
    abt, src = parse_file(str(PLANS / "abtasty-kam.kam"))
    assert not needs_all_payees(check(abt, src)[0])


def test_errors_from_workers_are_kam_errors(generated):
    checked, tables, periods = _load(ROOT / "bench" / "abtasty-monthly.kam", generated)
    tables["targets"].rows[:] = [r for r in tables["targets"].rows
                                 if not (r.values["payee_id"] == "kam-000007"
                                         and r.values["metric"] == "nrr")]
    with pytest.raises(KamError) as err:
        evaluate_payees(checked, tables, periods, jobs=2)
    assert err.value.diagnostics[0].code == "KR405"
    assert "kam-000007" in err.value.diagnostics[0].message


@settings(max_examples=examples(100), deadline=None)
@given(st.integers(0, 300), st.integers(1, 12))
def test_slices_cover_in_order_and_balance(n, k):
    ids = list(range(n))
    parts = slices(ids, k)
    assert [x for p in parts for x in p] == ids
    assert len(parts) == min(k, n)
    if parts:
        assert max(map(len, parts)) - min(map(len, parts)) <= 1


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_waits_a_second_then_draws_and_ends_the_line():
    clock, out = FakeClock(), Tty()
    p = Progress(200, stream=out, clock=clock)
    p.update(10)
    assert out.getvalue() == ""  # under a second: nothing
    clock.t = 1.5
    p.update(50)
    assert out.getvalue() == "\rpayees 50/200 [" + "#" * 7 + "." * 23 + "]  25%"
    clock.t = 1.55
    p.update(60)  # within 0.1 s of the last draw: skipped
    assert out.getvalue().count("\r") == 1
    clock.t = 2.0
    p.update(200)
    p.close()
    assert out.getvalue().endswith("\rpayees 200/200 [" + "#" * 30 + "] 100%\n")


def test_progress_is_silent_off_a_terminal_or_when_quiet():
    clock = FakeClock()
    for stream, enabled in ((io.StringIO(), None), (Tty(), False)):
        p = Progress(10, stream=stream, enabled=enabled, clock=clock)
        clock.t += 5
        p.update(5)
        p.close()
        assert stream.getvalue() == ""


# ------------------------------------------------------------------ the group-by of select.py
def _json(checked, tables, periods, trace):
    from kamrules.backends.interp import evaluate
    from kamrules.report.payouts import to_json
    return to_json(evaluate(checked, tables, periods, trace=trace), with_trace=trace)


@pytest.mark.parametrize("plan,folder", [
    (PLANS / "abtasty-kam.kam", EXAMPLES / "01-abtasty-nrr-upsell"),
    (PLANS / "charter-split.kam", EXAMPLES / "08-charter-split"),
    (ROOT / "bench" / "abtasty-monthly.kam", None),
])
def test_group_by_gives_the_row_by_row_payouts_and_traces(plan, folder, generated, monkeypatch):
    from kamrules.backends.interp import select
    folder = folder or generated
    hits = []
    real = select.grouped_rows

    def counting(*a):
        rows = real(*a)
        hits.append(rows is not None)
        return rows
    monkeypatch.setattr(select, "grouped_rows", counting)
    fast = [_json(*_load(plan, folder), trace) for trace in (False, True)]
    if plan.name != "charter-split.kam":
        assert any(hits)  # the assignee(...) == payee.id filters did go through the group-by
    monkeypatch.setattr(select, "grouped_rows", lambda *a: None)
    slow = [_json(*_load(plan, folder), trace) for trace in (False, True)]
    assert fast == slow


def test_an_error_while_grouping_is_raised_as_row_by_row(generated, tmp_path, monkeypatch):
    """Two overlapping `kam` assignments of one account: the same KR405, naming the same
    payee and period, with or without the group-by."""
    import shutil
    from kamrules.backends.interp import evaluate, select
    folder = tmp_path / "overlap"
    shutil.copytree(generated, folder)
    with open(folder / "assignments.csv", "a") as fh:
        fh.write("acc-0000101,kam-000007,kam,2025-01-15,\n")  # acc-0000101 is kam-000050's
    messages = []
    for grouped in (True, False):
        if not grouped:
            monkeypatch.setattr(select, "grouped_rows", lambda *a: None)
        checked, tables, periods = _load(ROOT / "bench" / "abtasty-monthly.kam", folder)
        with pytest.raises(KamError) as err:
            evaluate(checked, tables, periods, trace=False)
        messages.append(err.value.diagnostics[0].message)
    assert messages[0] == messages[1]
    assert "acc-0000101" in messages[0] and "assignments" in messages[0]
