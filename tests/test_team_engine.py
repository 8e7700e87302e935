"""The team page read from the columnar run (report/team_values.py) is the page the interpreter
path writes (`--engine interpreter`: the derivation trees of every payee, the reference),
byte for byte: every plan of plans/ on its example data (examples/*, plans/tests/<plan>/*),
every plan of examples/*/plan.kam, in text, md and html, en and fr, with --period, --team and
--statements; and on generated data (hypothesis) for the benchmark plan and team-bonus.
The columnar path reads neither the whole data with the strict loader nor any tree; a plan
whose measures are read on one branch only keeps the interpreter's path."""
from __future__ import annotations

import csv
import sys

import pytest
from hypothesis import given, settings, strategies as st

from conftest import EXAMPLES, PLANS, ROOT, examples, run_cli

sys.path.insert(0, str(ROOT / "bench"))


def _pairs() -> list:
    out = [(p, p.parent) for p in sorted(EXAMPLES.glob("*/plan.kam"))]
    for plan in sorted(PLANS.glob("*.kam")):
        for d in sorted((PLANS / "tests" / plan.stem).glob("*/")):
            if any(d.glob("*.csv")) and not (d / "case.toml").exists() or \
                    (d / "case.toml").exists() and "data" not in (d / "case.toml").read_text():
                out.append((plan, d))
    return out


@pytest.fixture
def spied(monkeypatch):
    """Which path each `team` took: True when the columnar run's values were read."""
    import kamrules.report.team_values as tv
    used, make = [], tv.frame_values

    def spy(*a, **k):
        got = make(*a, **k)
        used.append(got is not None)
        return got
    monkeypatch.setattr(tv, "frame_values", spy)
    return used


def _same(plan, data, *extra) -> bool:
    """Both paths' pages equal (exit code, output and errors); True when the data were run."""
    a = run_cli("team", plan, "--data", data, *extra)
    b = run_cli("team", plan, "--data", data, "--engine", "interpreter", *extra)
    assert (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr), (plan, data, extra)
    return a.returncode == 0


def test_every_plan_on_its_example_data_gives_the_interpreters_page(spied):
    ran = [(plan, data) for plan, data in _pairs() if _same(plan, data)]
    assert len(ran) >= 30 and len(spied) >= len(ran) and all(spied)  # every plan here runs columnar


@pytest.mark.parametrize("plan,data", [
    (PLANS / "abtasty-kam.kam", EXAMPLES / "01-abtasty-nrr-upsell"),
    (PLANS / "team-bonus.kam", EXAMPLES / "team-bonus"),
    (PLANS / "pay-currency.kam", EXAMPLES / "pay-currency"),  # measures in EUR, pay in each payee's
    (PLANS / "media-advance.kam", EXAMPLES / "02-media-advance"),
    (PLANS / "prorated-variable.kam", EXAMPLES / "proration"),
    (EXAMPLES / "team-pools" / "plan.kam", EXAMPLES / "team-pools"),  # share(): pooled weights
    (PLANS / "clawback-cash.kam", EXAMPLES / "09-clawback-cash"),
])
@pytest.mark.parametrize("extra", [
    ("--format", "md", "--locale", "fr"),
    ("--format", "html"),
    ("--format", "html", "--locale", "fr", "--statements", "statements/"),
    ("--period", "2025-Q2", "--format", "md"),
])
def test_formats_locales_periods_and_links_are_the_same_bytes(plan, data, extra):
    _same(plan, data, *extra)


def test_team_filter_and_its_errors_are_the_same():
    plan, data = PLANS / "team-bonus.kam", EXAMPLES / "team-bonus"
    assert _same(plan, data, "--team", "north", "--format", "md")
    assert not _same(plan, data, "--team", "nowhere")  # KR405, with the same hint
    assert not _same(PLANS / "abtasty-kam.kam", EXAMPLES / "01-abtasty-nrr-upsell", "--team", "x")  # KR104


def test_the_columnar_path_reads_no_tree_and_not_the_whole_data(monkeypatch, spied):
    from kamrules.run.session import Session

    def refused(self, *a):
        raise AssertionError("the strict loader or a derivation tree on the columnar path")
    monkeypatch.setattr(Session, "load", refused)
    monkeypatch.setattr(Session, "trace", refused)
    r = run_cli("team", PLANS / "abtasty-kam.kam", "--data", EXAMPLES / "01-abtasty-nrr-upsell", "--format", "md")
    assert r.returncode == 0, r.stderr
    assert spied == [True]
    # kam-001's measures and total in 2025-Q1 (tests/test_team.py works them out by hand)
    assert "| kam-001 (Camille Martin) |" in r.stdout and "18,600.00" in r.stdout


def test_a_measure_read_on_one_branch_keeps_the_interpreters_trees(tmp_path, spied):
    """`if team_target > 0 EUR then bookings * commission_rate else 0 EUR`: whether the tree of
    a commission holds `bookings` depends on the branch taken, known only by evaluating it."""
    from kamrules.report.team_values import sure_reads
    from kamrules.run.session import Session
    text = (PLANS / "team-bonus.kam").read_text().replace(
        "component commission = bookings * commission_rate",
        "component commission = if team_target > 0 EUR then bookings * commission_rate else 0 EUR")
    plan = tmp_path / "branch.kam"
    plan.write_text(text)
    checked = Session(str(plan), str(EXAMPLES / "team-bonus")).check()
    sure, maybe = sure_reads(checked, "commission")
    assert sure == {"team_target"} and maybe == {"bookings", "commission_rate"}
    assert _same(plan, EXAMPLES / "team-bonus") and spied == [False]


def _write(folder, name, header, rows):
    with open(folder / name, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


@settings(max_examples=examples(6))
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 90_000), st.integers(1, 180),
                          st.sampled_from(["won", "lost"])), max_size=25),
       st.lists(st.integers(0, 80_000), min_size=2, max_size=2))
def test_team_bonus_on_generated_data(tmp_path_factory, deals, targets):
    folder = tmp_path_factory.mktemp("tb")
    _write(folder, "people.csv", ["payee_id", "team"],
           [(f"p{i}", "north" if i % 2 else "south") for i in range(6)])
    _write(folder, "deals.csv", ["deal_id", "owner_id", "amount", "close_date", "status"],
           [(f"d{k}", f"p{o}", f"{a / 100:.2f}", f"2025-{1 + (day - 1) // 30:02d}-{1 + (day - 1) % 28:02d}", s)
            for k, (o, a, day, s) in enumerate(deals)])
    _write(folder, "team_targets.csv", ["team", "period", "target"],
           [(t, q, f"{v}.00") for t, v in zip(("north", "south"), targets) for q in ("2025-Q1", "2025-Q2")])
    plan = PLANS / "team-bonus.kam"
    _same(plan, folder)
    _same(plan, folder, "--team", "north", "--format", "html", "--locale", "fr")


@settings(max_examples=examples(4))
@given(st.integers(0, 10_000), st.integers(3, 12), st.integers(2, 5), st.integers(0, 120))
def test_the_benchmark_plan_on_generated_data(tmp_path_factory, seed, payees, months, deals):
    import workload
    folder = tmp_path_factory.mktemp("bench")
    workload.generate(str(folder), payees, months, deals, seed)
    _same(ROOT / "bench" / "abtasty-monthly.kam", folder)
