"""The fast paths of the commands that read a columnar run or load only some rows: `diff`
and `simulate` computed on the payout frames (kamrules/report/diff_frames.py) print what
the interpreter's payouts print, byte for byte; `explain`'s loading of only the rows one
payee reaches (data.fast.kept_tables) gives the strict loader's rows."""
from __future__ import annotations

import random
import re
import shutil

import pytest

from conftest import EXAMPLES, PLANS, run_cli
from kamrules.check.checker import check
from kamrules.data import strict
from kamrules.data.fast import kept_tables, load_frames
from kamrules.syntax.parser import parse_file

SCENARIOS = EXAMPLES / "04-uncapped-scenarios"


def _odd_ids(tmp_path):
    """Scenario B with payee ids that the views escape: a formula-like id (CSV: `'=...`), a
    bidi control (the table shows it escaped), and one holding a CR (quoted in the CSV: the
    polars writer does not, so the report's writer is used)."""
    folder = tmp_path / "odd"
    shutil.copytree(SCENARIOS / "scenario-b", folder)
    for f in folder.glob("*.csv"):
        text = f.read_text()
        text = re.sub(r"\bkam-01\b", "=kam-01", text)
        text = re.sub(r"\bkam-02\b", "kam-\u202e02", text)
        f.write_text(text)
    return folder


def _variants(tmp_path):
    capped = (PLANS / "kam-capped.kam").read_text()
    assert "round components to" not in capped
    unit = tmp_path / "kam-capped-unit.kam"  # amounts to the unit: Payouts without cents
    unit.write_text(capped.replace('currency EUR', 'currency EUR\nround components to unit half_up', 1))
    clawback = (PLANS / "clawback-cash.kam").read_text()
    quarterly = tmp_path / "clawback-12.kam"  # paid by quarter: the monthly plan is rolled up
    quarterly.write_text(clawback.replace("period month", "period quarter").replace("param rate = 10%", "param rate = 12%"))
    return unit, quarterly


def _both_engines(*args):
    outs = [run_cli(*args, "--engine", engine) for engine in ("columnar", "interpreter")]
    for out in outs:
        assert out.returncode == 0, out.stderr
    return outs[0].stdout, outs[1].stdout


def test_diff_on_the_payout_frames_prints_the_interpreters_bytes(tmp_path):
    unit, quarterly = _variants(tmp_path)
    odd = _odd_ids(tmp_path)
    cases = [(PLANS / "kam-capped.kam", PLANS / "kam-uncapped.kam", odd, ("table", "csv", "json", "github-markdown")),
             (PLANS / "kam-uncapped.kam", unit, SCENARIOS / "scenario-a", ("table", "csv")),
             (PLANS / "clawback-cash.kam", quarterly, EXAMPLES / "09-clawback-cash", ("table", "json"))]
    for old, new, data, formats in cases:
        for fmt in formats:
            for extra in ((), ("--changed-only",)):
                columnar, interpreted = _both_engines("diff", old, new, "--data", data, "--format", fmt, *extra)
                assert columnar == interpreted, (old.name, new.name, fmt, extra)
    # the views did escape: the formula-like id in the CSV, the bidi control in the table
    csv_text, _ = _both_engines("diff", PLANS / "kam-capped.kam", PLANS / "kam-uncapped.kam", "--data", odd,
                                "--format", "csv")
    assert "\n'=kam-01,2025,20000.00,60000.00,40000.00,EUR\n" in csv_text
    table, _ = _both_engines("diff", PLANS / "kam-capped.kam", PLANS / "kam-uncapped.kam", "--data", odd)
    assert "\u202e" not in table and "kam-" in table


def test_diff_falls_back_to_the_reports_writer_for_an_id_with_a_cr(tmp_path):
    folder = tmp_path / "cr"
    shutil.copytree(SCENARIOS / "scenario-b", folder)
    for f in folder.glob("*.csv"):
        f.write_text(re.sub(r"\bkam-03\b", '"kam\r03"', f.read_text()), newline="")
    texts = []
    for engine in ("columnar", "interpreter"):
        out = tmp_path / f"{engine}.csv"
        res = run_cli("diff", PLANS / "kam-capped.kam", PLANS / "kam-uncapped.kam", "--data", folder,
                      "--format", "csv", "--engine", engine, "-o", out)
        assert res.returncode == 0, res.stderr
        texts.append(out.read_bytes())
    assert texts[0] == texts[1]
    assert b'\n"kam\r03",2025,20000.00,60000.00,40000.00,EUR\n' in texts[0]


def test_simulate_on_the_payout_frames_prints_the_interpreters_bytes(tmp_path):
    unit, _ = _variants(tmp_path)
    plans = [PLANS / "kam-capped.kam", PLANS / "kam-uncapped.kam", unit]
    data = [SCENARIOS / "scenario-a", SCENARIOS / "scenario-b"]
    for fmt in ("table", "csv", "json"):
        columnar, interpreted = _both_engines("simulate", *plans, "--data", *data, "--format", fmt)
        assert columnar == interpreted, fmt
    columnar, interpreted = _both_engines("simulate", PLANS / "clawback-cash.kam", "--data",
                                          EXAMPLES / "09-clawback-cash")
    assert columnar == interpreted


def _rewritten(tmp_path, folder, how: str):
    """The case's files with CRLF line ends, or with every cell quoted."""
    out = tmp_path / how
    shutil.copytree(folder, out)
    for f in out.glob("*.csv"):
        lines = f.read_text().splitlines()
        if how == "quoted":
            lines = [",".join(f'"{c}"' for c in line.split(",")) for line in lines]
        f.write_bytes(("\r\n" if how == "crlf" else "\n").join(lines).encode() + b"\r\n")
    return out


@pytest.mark.parametrize("how", ["as-is", "crlf", "quoted"])
def test_kept_tables_are_the_strict_loaders_rows(tmp_path, how):
    plan_path, folder = PLANS / "abtasty-kam.kam", EXAMPLES / "01-abtasty-nrr-upsell"
    if how != "as-is":
        folder = _rewritten(tmp_path, folder, how)
    plan, source = parse_file(str(plan_path))
    checked, _ = check(plan, source)
    frames = load_frames(checked, str(folder))
    rng = random.Random(how)
    for trial in range(3):
        keep = {name: set(rng.sample(f["__row"].to_list(), k=min(f.height, trial + 2)))
                for name, f in frames.items() if rng.random() < 0.8}
        fast = kept_tables(checked, str(folder), keep)
        slow = strict.load_data(checked, str(folder), keep=keep)
        assert set(fast) == set(slow)
        for name in slow:
            got = [(r.number, r.id, r.values) for r in fast[name].rows]
            want = [(r.number, r.id, r.values) for r in slow[name].rows]
            assert got == want, name
            # the same Decimal digits, not only equal values (explain --exact prints them)
            assert [repr(v) for r in fast[name].rows for v in r.values.values()] == \
                   [repr(v) for r in slow[name].rows for v in r.values.values()]
            if name in keep:
                assert {r.number for r in fast[name].rows} == keep[name]
