"""Property: for random corrections of a closed period's data (amounts changed, rows added),
what the ledger recorded plus the adjustments `run --ledger` pays equals what a plain run
(no ledger) computes on the corrected data, to the cent, for every payee, component and
closed period: on two plans with richer corrections (monthly advances with paid(), quarterly
curves), and on every plan of plans/ (the annual ones given a next year to pay in). And for a
plan edited after a close: nothing closed moves without --retroactive; with it, recorded +
adjustments is what the edited plan computes."""
from __future__ import annotations

import csv
import io
import shutil
import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from conftest import EXAMPLES, PLANS, examples, run_cli

CASES = {
    "media": (PLANS / "media-advance.kam", "02-media-advance", ["2025-01", "2025-02", "2025-03"],
              "invoices.csv"),
    "abtasty": (PLANS / "abtasty-kam.kam", "01-abtasty-nrr-upsell", ["2025-Q1"], "deals.csv"),
}


@pytest.fixture(scope="module")
def closed(tmp_path_factory):
    """case -> the ledger folder with the case's closed periods (on the example data)."""
    out = {}
    for name, (plan, case, periods, _) in CASES.items():
        root = tmp_path_factory.mktemp(name)
        for p in periods:
            res = run_cli("close", plan, "--data", EXAMPLES / case, "--period", p, "--ledger", root / "ledger")
            assert res.returncode == 0, res.stderr
        out[name] = root / "ledger"
    return out


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


# a correction: (row index to change or None to add one, amount in cents, day of the quarter)
corrections = st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 40)), st.integers(0, 30_000_000),
                                 st.integers(0, 89)), min_size=1, max_size=4)


def corrected(name: str, folder: Path, changes) -> None:
    plan, case, periods, table = CASES[name]
    path = folder / table
    lines = path.read_text().splitlines()
    header, body = lines[0], [line.split(",") for line in lines[1:]]
    amount = header.split(",").index("amount")
    date = header.split(",").index("invoice_date" if name == "media" else "close_date")
    in_q1 = [i for i, r in enumerate(body) if r[date] < "2025-04-01"]
    for k, (index, cents, day) in enumerate(changes):
        value = f"{cents // 100}.{cents % 100:02d}"
        if index is not None:
            body[in_q1[index % len(in_q1)]][amount] = value
            continue
        d = f"2025-{1 + day // 30:02d}-{1 + day % 28:02d}"
        if name == "media":
            payee = ("med-001", "med-002")[day % 2]
            body.append([f"inv-9{k:04d}", payee, "acc-m1", "", value, d, ""])
        else:
            kind = ("expansion", "contraction", "churn", "new_business")[day % 4]
            account = ("acc-101", "acc-202", "acc-301", "acc-103")[cents % 4]
            body.append([f"dl-9{k:04d}", account, "x", kind, "abtasty", value, d, "12", "0", "", "won", ""])
    path.write_text("\n".join([header] + [",".join(r) for r in body]) + "\n")


@pytest.mark.parametrize("name", sorted(CASES))
def test_recorded_plus_adjustments_is_the_recomputed_amount(closed, name):
    plan, case, periods, _ = CASES[name]
    ledger = closed[name]
    recorded: dict = {}
    for rec in sorted(ledger.iterdir()):
        if rec.name != "plans":
            for r in rows((rec / "payouts.csv").read_text()):
                key = (r["payee_id"], r["adjusts"] or r["period"], r["component"])
                recorded[key] = recorded.get(key, Decimal(0)) + Decimal(r["amount"])

    @settings(max_examples=examples(4), deadline=None, suppress_health_check=list(HealthCheck))
    @given(corrections)
    def prop(changes):
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            shutil.copytree(EXAMPLES / case, data)
            corrected(name, data, changes)
            adjusted = run_cli("run", plan, "--data", data, "--ledger", ledger)
            plain = run_cli("run", plan, "--data", data)
        assert adjusted.returncode == 0 and plain.returncode == 0, adjusted.stderr + plain.stderr
        owed = {(r["payee_id"], r["period"], r["component"]): Decimal(r["amount"])
                for r in rows(plain.stdout) if r["period"] in periods and r["component"] != "total"}
        paid = dict(recorded)
        out = rows(adjusted.stdout)
        for r in out:
            assert r["period"] not in periods  # a closed period is never paid again
            if r["adjusts"]:
                key = (r["payee_id"], r["adjusts"], r["component"])
                paid[key] = paid.get(key, Decimal(0)) + Decimal(r["amount"])
        for key in set(owed) | set(paid):
            assert paid.get(key, Decimal(0)) == owed.get(key, Decimal(0)), key
        # each total is its rows, adjustments included
        for r in out:
            if r["component"] == "total":
                parts = [Decimal(x["amount"]) for x in out if (x["payee_id"], x["period"]) ==
                         (r["payee_id"], r["period"]) and x["component"] != "total"]
                assert sum(parts) == Decimal(r["amount"])

    prop()


# ---------------------------------------------------------------------------- every plan
# Every plan of plans/ on its example data (the two above keep their richer corrections):
# the data's first paying period is closed, then a random correction changes measures (any
# amount, number or count column of any input, any row: in the closed period or not; a
# date where the plan reads no measure).
EVERY = {  # plan -> (example data, the data's first paying period)
    "charter-split": ("08-charter-split", "2025-Q1"), "clawback-cash": ("09-clawback-cash", "2025-01"),
    "draw-guarantee": ("draws", "2025-01"), "emotion-ai-challenge": ("07-challenge-spif", "2025-Q2"),
    "equipment-colour-grid": ("05-colour-grid", "2025-03"), "fx-commission": ("fx-commission", "2025-Q1"),
    "multi-year-booster": ("06-multi-year-booster", "2025-Q1"), "prorated-variable": ("proration", "2025-Q1"),
    "recoverable-draw": ("draws", "2025-01"), "split-credit": ("split-credit", "2025-Q1"),
    "team-bonus": ("team-bonus", "2025-Q1"), "pay-currency": ("pay-currency", "2025-Q1"),
}
# annual plans whose data holds one year: its adjustments are paid in the next year, which
# the plan cannot compute on this data (no targets for 2026: a diagnostic, KR405 / KR407); the
# test gives them a next year (next_year: every dated row again, a year later)
ONE_PAYING_PERIOD = {"kam-capped": ("04-uncapped-scenarios/scenario-b", "2025"),
                     "kam-uncapped": ("04-uncapped-scenarios/scenario-b", "2025"),
                     "pharma-rire": ("03-pharma-envelope", "2025")}


def test_every_plan_is_covered():
    """A plan added to plans/ gets a data folder here (or in CASES) and so the property."""
    covered = set(EVERY) | set(ONE_PAYING_PERIOD) | {p.stem for p, *_ in CASES.values()}
    assert covered == {p.stem for p in PLANS.glob("*.kam")}


def next_year(plan_path: Path, data: Path) -> None:
    """Every row of the plan's inputs that holds a date or a period again, a year later (its
    key suffixed), but the payees' and the assignments' (whose spans have no end)."""
    from kamrules.run.session import Session
    checked = Session(str(plan_path)).check()
    for name, spec in checked.inputs.items():
        if name in (checked.payees_table, "assignments"):
            continue
        kinds = {col: c.type.kind for col, c in spec.columns.items()}
        table = rows((data / spec.file).read_text())
        later = []
        for r in table:
            moved = dict(r)
            for col, kind in kinds.items():
                if kind == "date" and r.get(col):
                    d = date.fromisoformat(r[col])
                    moved[col] = d.replace(year=d.year + 1, day=min(d.day, 28) if d.month == 2 else d.day).isoformat()
                elif kind == "period" and r.get(col):
                    moved[col] = str(int(r[col][:4]) + 1) + r[col][4:]
            if moved != r:
                if spec.key:
                    moved[spec.key] += "-next"
                later.append(moved)
        if later:
            buf = io.StringIO()
            w = csv.DictWriter(buf, fieldnames=list(table[0]), lineterminator="\n")
            w.writeheader()
            w.writerows(table + later)
            (data / spec.file).write_text(buf.getvalue())


def value_cells(plan_path: Path, data: Path) -> list:
    """(file, column, kind) of the measure columns of the plan's inputs (money, number,
    count), or of its date columns when it has none."""
    from kamrules.run.session import Session
    checked = Session(str(plan_path)).check()
    cols = [(data / spec.file, col, c.type.kind) for spec in checked.inputs.values()
            for col, c in spec.columns.items()]
    return sorted(c for c in cols if c[2] in ("money", "number", "count")) or \
        sorted(c for c in cols if c[2] == "date")


def new_value(kind: str, n: int) -> str:
    if kind == "count":
        return str(n % 40)
    if kind == "date":
        return (date(2025, 1, 1) + timedelta(days=n % 365)).isoformat()
    return f"{n // 100}.{n % 100:02d}"


# a correction: (which column, which row, a value: amount in cents, count, day of 2025)
amount_changes = st.lists(st.tuples(st.integers(0, 50), st.integers(0, 500), st.integers(0, 5_000_000)),
                          min_size=1, max_size=3)


@pytest.mark.parametrize("stem", sorted(EVERY) + sorted(ONE_PAYING_PERIOD))
def test_recorded_plus_adjustments_on_every_plan(stem, tmp_path):
    plan, (case, first) = PLANS / f"{stem}.kam", {**EVERY, **ONE_PAYING_PERIOD}[stem]
    case = EXAMPLES / case
    if stem in ONE_PAYING_PERIOD:
        shutil.copytree(case, tmp_path / "case")
        case = tmp_path / "case"
        next_year(plan, case)
    ledger = tmp_path / "ledger"
    res = run_cli("close", plan, "--data", case, "--period", first, "--ledger", ledger)
    assert res.returncode == 0, res.stderr
    recorded = {(r["payee_id"], r["component"]): Decimal(r["amount"])
                for r in rows((next(ledger.glob("0001-close-*")) / "payouts.csv").read_text())}

    # derandomized, the first example is the simplest (a measure set to 0); the explicit one
    # changes two measures of rows in the middle of the data
    @settings(max_examples=examples(1), deadline=None, suppress_health_check=list(HealthCheck))
    @example([(3, 7, 1_234_567), (12, 2, 98_765)])
    @given(amount_changes)
    def prop(changes):
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            shutil.copytree(case, data)
            cells = value_cells(plan, data)
            for which, row, n in changes:
                path, column, kind = cells[which % len(cells)]
                table = rows(path.read_text())
                if table:
                    table[row % len(table)][column] = new_value(kind, n)
                    buf = io.StringIO()
                    w = csv.DictWriter(buf, fieldnames=list(table[0]), lineterminator="\n")
                    w.writeheader()
                    w.writerows(table)
                    path.write_text(buf.getvalue())
            adjusted = run_cli("run", plan, "--data", data, "--ledger", ledger)
            again = run_cli("run", plan, "--data", data, "--period", first)
        if again.returncode:  # a correction the plan cannot compute (an ARR of 0 divides by
            # zero): the run against the ledger stops on the same diagnostic, prints nothing
            assert adjusted.returncode == 1 and adjusted.stdout == "", adjusted.stdout
            assert again.stderr.splitlines()[0] in adjusted.stderr.splitlines(), adjusted.stderr
            return
        assert adjusted.returncode == 0, adjusted.stderr
        owed = {(r["payee_id"], r["component"]): Decimal(r["amount"])
                for r in rows(again.stdout) if r["component"] != "total"}
        paid = dict(recorded)
        for r in rows(adjusted.stdout):
            assert r["period"] != first  # a closed period is never paid again
            if r["adjusts"] == first:
                key = (r["payee_id"], r["component"])
                paid[key] = paid.get(key, Decimal(0)) + Decimal(r["amount"])
        for key in set(owed) | set(paid):
            assert paid.get(key, Decimal(0)) == owed.get(key, Decimal(0)), key

    prop()


@settings(max_examples=examples(2), deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(1, 150))
def test_a_plan_edited_after_a_close(closed, cap):
    """The media plan's advance cap edited to `cap`% after 2025-01..03 were closed."""
    plan, case, periods, _ = CASES["media"]
    ledger = closed["media"]
    recorded: dict = {}
    for rec in sorted(ledger.iterdir()):
        if rec.name != "plans":
            for r in rows((rec / "payouts.csv").read_text()):
                recorded[(r["payee_id"], r["period"], r["component"])] = Decimal(r["amount"])
    with tempfile.TemporaryDirectory() as tmp:
        edited = Path(tmp) / "media.kam"
        edited.write_text(plan.read_text().replace("min(month_performance, 75%)", f"min(month_performance, {cap}%)"))
        kept = {engine: run_cli("run", edited, "--data", EXAMPLES / case, "--ledger", ledger, "--engine", engine)
                for engine in ("interpreter", "columnar")}
        retro = run_cli("run", edited, "--data", EXAMPLES / case, "--ledger", ledger, "--retroactive")
        plain = run_cli("run", edited, "--data", EXAMPLES / case)
    assert all(r.returncode == 0 for r in (*kept.values(), retro, plain))
    assert kept["interpreter"].stdout == kept["columnar"].stdout
    assert not any(r["adjusts"] for r in rows(kept["columnar"].stdout))  # nothing closed moves
    owed = {(r["payee_id"], r["period"], r["component"]): Decimal(r["amount"])
            for r in rows(plain.stdout) if r["period"] in periods and r["component"] != "total"}
    paid = dict(recorded)
    for r in rows(retro.stdout):
        if r["adjusts"]:
            key = (r["payee_id"], r["adjusts"], r["component"])
            paid[key] = paid.get(key, Decimal(0)) + Decimal(r["amount"])
    for key in set(owed) | set(paid):
        assert paid.get(key, Decimal(0)) == owed.get(key, Decimal(0)), key
