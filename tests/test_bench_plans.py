"""The per-plan benchmark (bench/plans.py): its replicated data is each acceptance case again
with new ids (the same payouts, renamed, per copy: the case's total times the copies, except
for a pool shared by the whole population), it runs plans through `kamrules run` and reports
the engine, and a run past its time or memory bound is killed, not waited for. No timing is
asserted.

The interpreter runs in this process (`--engine interpreter --jobs 1` imports no polars
and forks nothing); the default engine only in the benchmark's child processes."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import plans as bench_plans  # noqa: E402
from kamrules.cli.main import main  # noqa: E402

ALL = bench_plans.plan_files("*")


def _amounts(text: str) -> dict:
    """{(payee_id, period, component): Decimal} of a payout CSV, total rows left out."""
    return {(r["payee_id"], r["period"], r["component"]): Decimal(r["amount"])
            for r in csv.DictReader(io.StringIO(text)) if r["component"] != "total"}


def _interpreter(plan: str, folder: str, tmp_path) -> str:
    out = tmp_path / f"interp-{os.path.basename(folder)}.csv"
    assert main(["run", plan, "--data", folder, "--engine", "interpreter", "--jobs", "1",
                 "-o", str(out)]) == 0
    return out.read_text(encoding="utf-8")


def test_every_plan_has_a_case_to_replicate():
    assert len(ALL) >= 16
    assert [p for p in ALL if bench_plans.case_folder(p) is None] == []


@pytest.mark.parametrize("plan", ALL, ids=os.path.basename)
def test_replicated_data_is_the_case_again_with_new_ids(plan, tmp_path):
    case = bench_plans.case_folder(plan)
    base_payees = bench_plans.base_payees(case)
    folder, copies, payees = bench_plans.plan_data(plan, 9, str(tmp_path))
    assert copies == -(-9 // base_payees) and payees == copies * base_payees >= 9
    with open(os.path.join(folder, "people.csv"), encoding="utf-8") as fh:
        assert sum(1 for _ in fh) - 1 == payees
    base = _amounts(_interpreter(plan, case, tmp_path))
    got = _amounts(_interpreter(plan, folder, tmp_path))
    # every payee of the case is there once per copy, under its new id
    assert {k[0] for k in got} == {f"{p}-r{k}" for p, _, _ in base for k in range(copies)}
    # the case's total, computed from its expected.csv alone (rows it does not list are 0)
    with open(os.path.join(case, "expected.csv"), encoding="utf-8") as fh:
        expected_total = sum(_amounts(fh.read()).values(), Decimal(0))
    assert sum(base.values(), Decimal(0)) == expected_total != 0
    if bench_plans.pools_population(plan):
        # one pool (the envelope) for everyone: the same total, shared by more payees
        assert sum(got.values(), Decimal(0)) == expected_total
        assert len(got) == copies * len(base)
    else:
        assert sum(got.values(), Decimal(0)) == copies * expected_total
        assert got == {(f"{p}-r{k}", period, c): v for (p, period, c), v in base.items()
                       for k in range(copies)}


def test_replication_keeps_plan_literals_and_writes_unrenamed_rows_once(tmp_path):
    plan = str(ROOT / "plans" / "pharma-rire.kam")
    folder, copies, _ = bench_plans.plan_data(plan, 20, str(tmp_path))
    with open(os.path.join(folder, "market_share.csv"), encoding="utf-8") as fh:
        scopes = [r["scope"] for r in csv.DictReader(fh)]
    assert scopes.count("FR") == 1  # `scope == "FR"` in the plan: never renamed, one row
    assert "S01-r0" in scopes and f"S07-r{copies - 1}" in scopes and "S01" not in scopes


def test_the_benchmark_runs_plans_reports_the_engine_and_matches_the_interpreter(tmp_path):
    kept = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "plans.py"), "--payees", "20",
                          "--plans", "abtasty-kam.kam,team-bonus.kam", "--json", "--timeout", "60",
                          "--data-root", str(tmp_path / "data"), "--keep-output", str(kept)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    rows = {r["plan"]: r for r in out["plans"]}
    assert set(rows) == {"abtasty-kam.kam", "team-bonus.kam"}
    assert rows["abtasty-kam.kam"]["engine"] == "columnar"
    assert rows["team-bonus.kam"]["engine"] == "columnar"  # team_total() is translated
    for name, r in rows.items():
        assert r["status"] == "ok" and r["exit"] == 0 and r["payees"] >= 20
        assert r["wall"] > 0 and r["cpu"] > 0 and r["peak_rss_mb"] > 0
        text = (kept / (name[:-4] + ".csv")).read_text(encoding="utf-8")
        assert r["rows"] == text.count("\n") - 1 > 0
        # the default engine's bytes are the interpreter's on the same replicated data
        assert text == _interpreter(str(ROOT / "plans" / name), r["folder"], tmp_path)


def test_a_run_past_its_timeout_is_killed_and_reported(tmp_path):
    res = bench_plans.run_child([sys.executable, "-c", "import time; time.sleep(60)"],
                                timeout=0.3, mem_limit_mb=10_000)
    assert res["status"] == "timeout" and res["exit"] < 0
    assert 0.3 <= res["wall"] < 10


def test_a_run_past_its_memory_limit_is_killed_and_reported(tmp_path):
    grow = "import time; b = bytearray(300 * 2**20); b[::4096] = b'x' * len(b[::4096]); time.sleep(60)"
    res = bench_plans.run_child([sys.executable, "-c", grow], timeout=30, mem_limit_mb=120)
    assert res["status"] == "memory" and res["exit"] < 0
    assert res["peak_rss_mb"] > 120 and res["wall"] < 30
