"""Which engines run a plan, answered statically (kamrules/run/engines.py, the columnar pass
kamrules/backends/polars/support.py): the answer must be the evaluation's. The second method
is the columnar engine itself: its dry run on empty tables (engine.check_supported, which
raises Unsupported from the translation) and its run on real data, on every plan of the
project, on generated plans, and on one plan per construct the engine does not translate.
The session uses the answer before reading any data: `--engine columnar` on such a plan
is KR002 naming the construct and its line even when the data folder does not exist.
"""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("polars")

from hypothesis import HealthCheck, given, settings  # noqa: E402

from conftest import EXAMPLES, PLANS, ROOT, run_cli  # noqa: E402
from test_generated_plans import HEADER, data, plans  # noqa: E402
from kamrules.backends.interp import plan_periods  # noqa: E402
from kamrules.backends.polars.engine import check_supported, evaluate_frames  # noqa: E402
from kamrules.backends.polars.support import refusal  # noqa: E402
from kamrules.cli.common import load  # noqa: E402
from kamrules.core.numeric import Fallback  # noqa: E402
from kamrules.data.fast import frames_from_tables  # noqa: E402
from kamrules.data.strict import load_data  # noqa: E402
from kamrules.diagnostics.diagnostic import KamError  # noqa: E402
from kamrules.run.engines import engines_for  # noqa: E402

EVERY_PLAN = sorted({*PLANS.glob("*.kam"), *(ROOT / "tests" / "conformance").glob("*/plan.kam"),
                     *(ROOT / "bench").glob("*.kam"), *(ROOT / "examples").glob("*/*.kam")})


def _checked(path):
    try:
        checked, diags, _ = load(path)
    except KamError:  # the conformance cases of syntax errors
        return None
    return checked if checked is not None and not any(d.is_error for d in diags) else None


def _static(checked):
    why = refusal(checked)
    return None if why is None else str(why)


def test_every_plan_of_the_project_static_answer_is_the_dry_runs():
    compared = refused = 0
    for path in EVERY_PLAN:
        checked = _checked(path)
        if checked is None:  # the conformance cases of check errors
            continue
        assert _static(checked) == check_supported(checked), path
        compared += 1
        refused += _static(checked) is not None
    # every conformance plan and every plan of plans/ runs columnar (a Period literal since
    # frame.PeriodConst, a field of a `let` of table[key] as the lookup's since
    # values.looked_up, a Period column of a looked-up row compared with periods since
    # values.PeriodKeys)
    assert compared > 80 and refused == 0


def _runs(path: Path):
    """Every data folder a plan of plans/ is run on in the project (tests/test_columnar.py)."""
    own = sorted(p for p in (PLANS / "tests" / path.stem).glob("*/") if p.is_dir())
    return own or sorted(p for p in EXAMPLES.glob("*/") if p.is_dir())[:1]


@pytest.mark.parametrize("path", sorted(PLANS.glob("*.kam"))[::3], ids=lambda p: p.stem)
def test_a_plan_the_pass_accepts_evaluates_without_unsupported(path):
    checked = _checked(path)
    assert refusal(checked) is None
    ran = 0
    for folder in _runs(path):
        try:
            tables = load_data(checked, str(folder))
            periods = plan_periods(checked, tables)
        except Exception:  # a folder of another plan
            continue
        try:
            evaluate_frames(checked, frames_from_tables(checked, tables), periods, handover=True)
        except Fallback:
            pass  # the data's (the interpreter reports it): not the plan's
        ran += 1
    assert ran, path


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(plan=plans(), tables=data())
def test_generated_plans_static_answer_is_the_evaluations(tmp_path_factory, plan, tables):
    tmp = tmp_path_factory.mktemp("gen")
    (tmp / "p.kam").write_text(plan[0])
    folder = tmp / "data"
    folder.mkdir()
    (folder / "people.csv").write_text(tables[0])
    (folder / "deals.csv").write_text(tables[1])
    checked = _checked(tmp / "p.kam")
    assert checked is not None
    assert _static(checked) == check_supported(checked)
    if _static(checked) is None:  # then the run on data raises no Unsupported
        try:
            loaded = load_data(checked, str(folder))
            periods = plan_periods(checked, loaded, plan[1])
            evaluate_frames(checked, frames_from_tables(checked, loaded), periods, handover=True)
        except (Fallback, KamError):
            pass  # what the data makes stop (the interpreter reports it), not the plan


BASE = HEADER.format(period="quarter", step="cent", mode="half_up")
# one plan per construct the columnar engine does not translate: (the lines, the construct);
# the construct is on the plan's last line, or on the first when the line ends with ` # first`
REFUSED = [
    ("component c = if period == 2025-Q1 then 1 EUR else 0 EUR", None),  # runs: frame.PeriodConst
    ("component c = sum(amount for deals where owner_id == payee.id and amount > sum(amount for deals))",
     "an aggregation inside a filter or a per-row expression"),
    ("eligible when team_total(payee.base) > 0 EUR # first\ncomponent c = payee.base",
     "team_total() in the eligibility condition"),
    ("let t = people[payee.id]\ncomponent c = t.base", None),  # runs: t.base is people[payee.id].base
    ("component c = sum(amount for deals where owner_id == payee.id and prorate(close_date, close_date) > 0)",
     "prorate() inside a filter or a per-row expression"),
    ("let n = 2\ncomponent c = if 2 in [n, count(deals)] then 1 EUR else 0 EUR", None),
]


@pytest.mark.parametrize("lines, construct", REFUSED)
def test_constructs_refused_statically_as_by_the_dry_run(tmp_path, lines, construct):
    path = tmp_path / "p.kam"
    path.write_text(BASE + lines + "\n")
    checked = _checked(path)
    if checked is None:
        pytest.fail(run_cli("check", path).stderr)
    dry = check_supported(checked)
    assert _static(checked) == dry
    if construct is not None:
        line = BASE.count("\n") + 1 + (0 if "# first" in lines else lines.count("\n"))
        assert dry == f"{construct} (line {line})"


REFUSED_PLAN = BASE + "component c = sum(amount for deals where owner_id == payee.id and amount > sum(amount for deals))\n"
REFUSED_LINE = BASE.count("\n") + 1


def _refused_case(tmp_path):
    plan = tmp_path / "p.kam"
    plan.write_text(REFUSED_PLAN)
    data = tmp_path / "data"
    data.mkdir()
    (data / "people.csv").write_text("payee_id,team,base,rate,level,bonus\np1,t,100.00,10%,1,\np2,t,100.00,10%,1,\n")
    (data / "deals.csv").write_text("deal_id,owner_id,amount,qty,disc,close_date,status\n"
                                    "d1,p1,30.00,1,,2025-01-10,won\nd2,p2,10.00,1,,2025-02-10,won\n")
    return plan, data


def test_engine_columnar_refuses_before_reading_any_data(tmp_path):
    plan, data = _refused_case(tmp_path)
    got = run_cli("run", plan, "--data", tmp_path / "no-such-folder", "--engine", "columnar")
    assert got.returncode == 1
    why = "does not run this plan: an aggregation inside a filter or a per-row expression"
    assert "KR002" in got.stderr and why in got.stderr
    assert f"p.kam:{REFUSED_LINE}:" in got.stderr  # the construct's line
    found = engines_for(_checked(plan))
    assert found["columnar"].line == REFUSED_LINE and found["interpreter"] is None
    auto = run_cli("run", plan, "--data", data, "--period", "2025-Q1", "--engine", "auto")
    interp = run_cli("run", plan, "--data", data, "--period", "2025-Q1", "--engine", "interpreter")
    assert auto.returncode == interp.returncode == 0
    # by hand: the quarter's deals of all payees add up to 40.00; p1's 30.00 is not above
    # it, so p1 earns 0.00 (and so does p2)
    assert auto.stdout == interp.stdout and "p1,2025-Q1,c,0.00,EUR" in auto.stdout


def test_check_engines_reports_per_plan(tmp_path):
    refused, _ = _refused_case(tmp_path)
    got = run_cli("check", "-q", "--engines", PLANS / "team-bonus.kam", refused)
    assert got.returncode == 0
    lines = got.stdout.splitlines()
    assert lines[0] == f"{PLANS / 'team-bonus.kam'}: runs on columnar, duckdb, interpreter" or \
        lines[0].startswith(f"{PLANS / 'team-bonus.kam'}: runs on columnar, ")
    at = next(i for i, line in enumerate(lines) if line.startswith(f"{refused}: runs on "))
    assert lines[at].endswith("interpreter") and "columnar" not in lines[at]
    assert lines[at + 1] == ("  columnar: not run: an aggregation inside a filter or a per-row expression "
                             f"(line {REFUSED_LINE})")
    assert all(not line.startswith("  duckdb: not run") for line in lines[at:at + 3])  # the SQL backend runs it
