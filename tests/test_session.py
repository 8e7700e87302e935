"""One semantics across commands (kamrules/run/session.py): for every plan in plans/ on its example
data and on both engines, `team`, `simulate`, `diff`, `explain`, `statement` and `test` print
the amounts `run` prints; every data command takes `--engine`; team_total() is linear."""
from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal

import pytest

from conftest import EXAMPLES, PLANS
from kamrules import load_data, load_plan
from kamrules.cli.main import main
from kamrules.backends.interp.evaluator import Evaluator
from kamrules.backends.interp.run import plan_periods
from kamrules.run.session import Session

from test_acceptance import CASES

DATA = {plan: EXAMPLES / case for case, plans in CASES.items() for plan in plans}
DATA.update({
    "kam-uncapped.kam": EXAMPLES / "04-uncapped-scenarios" / "scenario-a",
    "kam-capped.kam": EXAMPLES / "04-uncapped-scenarios" / "scenario-a",
    "team-bonus.kam": EXAMPLES / "team-bonus",
    "fx-commission.kam": EXAMPLES / "fx-commission",
    "pay-currency.kam": EXAMPLES / "pay-currency",
    "prorated-variable.kam": EXAMPLES / "proration",
    "split-credit.kam": EXAMPLES / "split-credit",
    "draw-guarantee.kam": EXAMPLES / "draws",
    "recoverable-draw.kam": EXAMPLES / "draws",
})
ENGINES = ("auto", "interpreter")  # auto: columnar whenever it runs the plan


def test_every_plan_has_data():
    assert sorted(DATA) == sorted(p.name for p in PLANS.glob("*.kam"))


def cli(capsys, *argv) -> str:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def money(text: str) -> Decimal:
    return Decimal(text.replace(",", "").split()[0].strip("*"))


def run_rows(capsys, plan, data, engine) -> dict:
    """(payee, period, component) -> amount of `run`, total rows included."""
    text = cli(capsys, "run", plan, "--data", data, "--engine", engine, "-q", "-j", "1")
    return {(r["payee_id"], r["period"], r["component"]): Decimal(r["amount"])
            for r in csv.DictReader(io.StringIO(text))}


@pytest.fixture(params=sorted(DATA))
def plan_data(request):
    return PLANS / request.param, DATA[request.param]


@pytest.mark.parametrize("engine", ENGINES)
def test_commands_print_the_amounts_of_run(capsys, tmp_path, plan_data, engine):
    plan, data = plan_data
    rows = run_rows(capsys, plan, data, engine)
    totals = {(p, per): a for (p, per, c), a in rows.items() if c == "total"}
    components = {k: a for k, a in rows.items() if k[2] != "total"}
    assert totals, "the example pays nobody"
    payees = sorted({p for p, _ in totals})

    # team: every payee's cells and the period totals
    text = cli(capsys, "team", plan, "--data", data, "--engine", engine, "--format", "md")
    seen, period = {}, None
    for line in text.splitlines():
        m = re.match(r"## (\S+)(?: [A-Z]{3})?$", line)  # a plan paid per payee's currency: a table per currency
        if m:
            period, header = m.group(1), None
        elif line.startswith("| payee |"):
            header = [c.strip() for c in line.strip("|").split("|")]
        elif line.startswith("| ") and period and not line.startswith("| **total**") and header:
            cells = [c.strip() for c in line.strip("|").split("|")]
            who = cells[0].split(" (")[0]
            for name, cell in zip(header, cells):
                if name in ("total",) or (who, period, name) in components or name == "total":
                    seen[(who, period, name)] = money(cell)
    for (who, per, name), amount in seen.items():
        assert amount == rows.get((who, per, name), Decimal(0)), (who, per, name)
    assert {(p, per) for p, per, c in seen if c == "total"} == set(totals)

    # simulate: the plan's payouts and variable total
    sim = json.loads(cli(capsys, "simulate", plan, "--data", data, "--engine", engine, "--format", "json"))
    got = {(p["payee_id"], p["period"], p["component"]): Decimal(p["amount"]) for r in sim for p in r["payouts"]}
    assert got == components  # one result per currency (plans/pay-currency.kam), else one
    assert sum(Decimal(r["variable"]) for r in sim) == sum(components.values())

    # diff of the plan with itself: before == after == run's totals
    diff = json.loads(cli(capsys, "diff", plan, plan, "--data", data, "--engine", engine, "--format", "json"))
    assert {(r["payee_id"], r["period"]): Decimal(r["before"]) for r in diff["rows"]} == totals
    assert all(r["before"] == r["after"] for r in diff["rows"])

    # explain: the payout lines of one payee (the tree's value is the run's amount)
    for payee in payees[:2]:
        trees = json.loads(cli(capsys, "explain", plan, "--data", data, "--payee", payee,
                               "--engine", engine, "--format", "json"))
        for t in trees:
            amount = Decimal(t["trace"]["value"]["amount"])
            assert amount == components[(payee, t["period"], t["component"])]

    # statement --all: every payee's component lines and period totals
    out = tmp_path / "statements"
    cli(capsys, "statement", plan, "--data", data, "--all", "-o", out, "--format", "md", "--engine", engine)
    for payee in payees:
        text = next(out.glob(f"{re.sub(r'[^A-Za-z0-9._-]', '_', payee)}.md")).read_text()
        for m in re.finditer(r"^## (\S+): total (\S+) ", text, re.M):
            assert money(m.group(2)) == totals.get((payee, m.group(1)), Decimal(0)), (payee, m.group(1))
        for m in re.finditer(r"^### (\w+): (\S+) ", text, re.M):
            period = text[:m.start()].rsplit("\n## ", 1)[1].split(":")[0]
            assert money(m.group(2)) == components[(payee, period, m.group(1))]


@pytest.mark.parametrize("engine", ENGINES)
def test_test_command_takes_the_engine(capsys, engine):
    out = cli(capsys, "test", PLANS / "team-bonus.kam", "--engine", engine)
    assert "2 passed" in out


@pytest.mark.parametrize("command", ["run", "explain", "statement", "team", "simulate", "diff", "test"])
def test_every_data_command_takes_engine(capsys, command):
    from kamrules.cli.main import build_parser
    argv = {"run": ["run", "p.kam", "--data", "d"], "explain": ["explain", "p.kam", "--data", "d", "--payee", "x"],
            "statement": ["statement", "p.kam", "--data", "d"], "team": ["team", "p.kam", "--data", "d"],
            "simulate": ["simulate", "p.kam", "--data", "d"], "diff": ["diff", "a.kam", "b.kam", "--data", "d"],
            "test": ["test"]}[command]
    assert build_parser().parse_args(argv + ["--engine", "interpreter"]).engine == "interpreter"
    with pytest.raises(SystemExit):
        build_parser().parse_args(argv + ["--engine", "fast"])


def test_session_runs_columnar_when_it_can():
    s = Session(str(PLANS / "abtasty-kam.kam"), str(DATA["abtasty-kam.kam"]))
    assert s.execute().engine == "columnar"
    s = Session(str(PLANS / "abtasty-kam.kam"), str(DATA["abtasty-kam.kam"]), engine="interpreter")
    assert s.execute().engine == "interpreter"


def test_diff_loads_the_data_once(monkeypatch):
    import kamrules.run.session as session
    calls = []
    real = session.load_data
    monkeypatch.setattr(session, "load_data", lambda *a: calls.append(a) or real(*a))
    plan, data = str(PLANS / "team-bonus.kam"), str(DATA["team-bonus.kam"])
    first = Session(plan, data, engine="interpreter")
    first.execute()
    second = Session(plan, data, engine="interpreter", share=first)
    second.execute()
    assert len(calls) == 1


def _team_data(tmp_path, n: int):
    """n payees in two teams, one deal each (the team-bonus plan's inputs)."""
    src = DATA["team-bonus.kam"]
    people = (src / "people.csv").read_text().splitlines()
    deals = (src / "deals.csv").read_text().splitlines()
    folder = tmp_path / f"n{n}"
    folder.mkdir()
    for other in src.glob("*.csv"):
        (folder / other.name).write_text(other.read_text())
    p_head, d_head = people[0], deals[0]
    p_row, d_row = people[1].split(","), deals[1].split(",")
    p_cols, d_cols = p_head.split(","), d_head.split(",")
    out_p, out_d = [p_head], [d_head]
    for k in range(n):
        row = list(p_row)
        row[p_cols.index("payee_id")] = f"kam-{k:04d}"
        row[p_cols.index("team")] = "north" if k % 2 else "south"
        out_p.append(",".join(row))
        d = list(d_row)
        d[0] = f"t-{k:04d}"
        d[d_cols.index(next(c for c in d_cols if c in ("owner_id", "payee_id", "kam_id")))] = f"kam-{k:04d}"
        out_d.append(",".join(d))
    (folder / "people.csv").write_text("\n".join(out_p) + "\n")
    (folder / "deals.csv").write_text("\n".join(out_d) + "\n")
    return folder


def test_team_total_is_linear_in_payees(tmp_path):
    plan = load_plan(str(PLANS / "team-bonus.kam"))
    counts = []
    for n in (20, 40):
        tables = load_data(plan, str(_team_data(tmp_path, n)))
        periods = plan_periods(plan, tables)
        ev = Evaluator(plan, tables, trace=False)
        for payee in ev.payees:
            for period in periods:
                ctx = ev.context(payee, period)
                if ev.is_eligible(ctx):
                    for name in plan.components:
                        ev.component(ctx, name)
        counts.append(ev.team_evaluations)
    assert counts[0] == 20 * len(periods)  # each member's value once per period
    assert counts[1] == 2 * counts[0]


def test_explain_reads_only_the_rows_the_payee_reaches():
    from kamrules.run.session import reachable_lines
    s = Session(str(PLANS / "abtasty-kam.kam"), str(DATA["abtasty-kam.kam"]))
    frames = s.frames()
    payee = frames["people"]["payee_id"][0]
    keep = reachable_lines(s.check(), frames, {payee})
    assert len(keep["people"]) == 1
    assert 0 < len(keep["deals"]) < frames["deals"].height
    assert 0 < len(keep["assignments"]) < frames["assignments"].height
    team = Session(str(PLANS / "team-bonus.kam"), str(DATA["team-bonus.kam"]))
    assert reachable_lines(team.check(), team.frames(), {"kam-1"}) == {}  # team_total(): every row
