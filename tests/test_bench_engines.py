"""The two columnar pipelines of the benchmark (bench/dataframe.py in polars,
bench/duckdb_pipeline.py in DuckDB SQL) compute the same payouts to the cent and print the
same CSV text; bench/engines.py times them stage by stage and refuses to report when they
disagree. No timing is asserted.

polars and DuckDB run only in child processes (spawned, or a subprocess), never in the
pytest process: later tests fork it (bench/run.py's peak RSS child, `--jobs`), and a forked
child of a process whose polars thread pool has run deadlocks in its first polars call."""
from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal

import pytest

pytest.importorskip("duckdb")
pytest.importorskip("polars")

from conftest import ROOT  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
import dataframe  # noqa: E402
import duckdb_pipeline  # noqa: E402
import engines  # noqa: E402
import handwritten  # noqa: E402
import payout_csv  # noqa: E402
import workload  # noqa: E402

XS_MONTHS = workload.SIZES["XS"][1]


@pytest.fixture(scope="module")
def xs_folder(tmp_path_factory):
    return workload.data_folder("XS", 7, str(tmp_path_factory.mktemp("bench-data")))


@pytest.fixture(scope="module")
def isolated():
    """isolated(fn, *args): fn(*args) in a spawned process (see the module docstring)."""
    with ProcessPoolExecutor(max_workers=1,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        yield lambda fn, *args: pool.submit(fn, *args).result()


def test_duckdb_and_polars_agree_to_the_cent_and_print_the_same_csv(xs_folder, isolated):
    polars_out = isolated(dataframe.compute, xs_folder, XS_MONTHS)
    duck_out = isolated(duckdb_pipeline.compute, xs_folder, XS_MONTHS)
    # 200 payees, ~2% without targets, 2 months, 2 components
    assert 2 * 2 * 190 <= len(duck_out) <= 2 * 2 * 200
    assert duck_out == polars_out
    assert all(isinstance(v, Decimal) and v == v.quantize(Decimal("0.01"))
               for v in duck_out.values())
    assert any(v > 0 for v in duck_out.values())
    # DuckDB's COPY and polars' write_csv write the same bytes, which the hand-written
    # Decimal Python computes and formats too
    duck_text = isolated(duckdb_pipeline.csv_text, xs_folder, XS_MONTHS)
    assert duck_text == isolated(dataframe.run, xs_folder, XS_MONTHS)
    hand = handwritten.compute(handwritten.load(xs_folder), XS_MONTHS)
    assert duck_out == hand and duck_text == payout_csv.from_dict(hand)


def test_the_staged_polars_pipeline_is_bench_dataframe(xs_folder, isolated):
    seconds, out, text = isolated(engines.run_staged, "polars", xs_folder, XS_MONTHS)
    assert set(seconds) == {"load", "aggregate", "curve", "output", "rest", "total"}
    assert seconds["rest"] == seconds["curve"] + seconds["output"]
    assert out == isolated(dataframe.compute, xs_folder, XS_MONTHS)
    assert text == isolated(dataframe.run, xs_folder, XS_MONTHS)
    _, duck_out, duck_text = isolated(engines.run_staged, "duckdb", xs_folder, XS_MONTHS)
    assert duck_out == out and duck_text == text


def _write(folder, name, header, *rows):
    with open(os.path.join(folder, f"{name}.csv"), "w", encoding="utf-8") as fh:
        fh.write("\n".join([header, *rows]) + "\n")


def test_a_half_cent_tie_rounds_up_in_both_engines(tmp_path, isolated):
    """0.7 x 1.20 EUR x 50% / 12 = 0.035 EUR exactly: half up gives 0.04 (in binary floating
    point it is 0.034999..., which gives 0.03)."""
    _write(tmp_path, "people", "payee_id,name,annual_variable", "kam-1,Ann,1.20")
    _write(tmp_path, "assignments", "account_id,payee_id,role,start_date,end_date",
           "acc-1,kam-1,kam,2024-01-01,", "acc-1,kam-2,csm,2024-01-01,")
    _write(tmp_path, "arr", "account_id,date,arr", "acc-1,2025-01-01,100.00")
    _write(tmp_path, "deals", "deal_id,account_id,type,amount,close_date,status",
           "d1,acc-1,churn,20.00,2025-01-15,won", "d2,acc-1,expansion,99.00,2025-01-20,lost")
    _write(tmp_path, "targets", "payee_id,period,metric,target",
           "kam-1,2025,nrr,1.00", "kam-1,2025,net_upsell,100.00")
    want = {("kam-1", "2025-01", "nrr"): Decimal("0.04"),
            ("kam-1", "2025-01", "upsell"): Decimal("0.00")}
    assert handwritten.compute(handwritten.load(str(tmp_path)), 1) == want
    assert isolated(dataframe.compute, str(tmp_path), 1) == want
    assert isolated(duckdb_pipeline.compute, str(tmp_path), 1) == want
    lines = ["kam-1,2025-01,nrr,0.04,EUR", "kam-1,2025-01,upsell,0.00,EUR",
             "kam-1,2025-01,total,0.04,EUR"]
    assert isolated(duckdb_pipeline.csv_text, str(tmp_path), 1).splitlines()[1:] == lines
    assert isolated(dataframe.run, str(tmp_path), 1).splitlines()[1:] == lines


def test_engines_reports_every_stage_of_both_engines(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "engines.py"), "--size", "XS",
                          "--reps", "1", "--json", "--data-root", str(tmp_path)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["engines_agree"] is True and 2 * 2 * 190 <= out["payout_rows"] <= 2 * 2 * 200
    stages = {"load", "aggregate", "curve", "output", "rest", "total"}
    for engine in ("polars", "duckdb"):
        assert set(out["seconds"][engine]) == stages
        assert all(s > 0 for s in out["seconds"][engine].values())
        rss = out["peak_rss_mb"][engine]
        assert rss["full"] >= rss["engine"] >= rss["import"] > out["peak_rss_mb"]["baseline"] > 0
    assert set(out["duckdb_vs_polars"]) == stages
    assert (tmp_path / "XS-7" / "deals.csv").read_text().count("\n") == 2001


def _engines_main_with_duckdb_a_cent_off(argv):
    """(exit code, stdout, stderr) of engines.main when DuckDB's first payout (and its total)
    is a cent off (run in a spawned process: module level so that it can be pickled)."""
    real = duckdb_pipeline.output

    def off_by_a_cent(con, path):
        real(con, path)
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
        for i in (1, 3):  # the first component and its payee-period's total
            cells = lines[i].split(",")
            cells[3] = str(Decimal(cells[3]) + Decimal("0.01"))
            lines[i] = ",".join(cells)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines))
    no_fork = {"import": 0.0, "engine": 0.0, "full": 0.0}  # no peak RSS children here
    real_rss = engines.peak_rss_child
    duckdb_pipeline.output = off_by_a_cent
    engines.peak_rss_child = lambda *a: (no_fork, 0.0)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = engines.main(argv)
    finally:  # the spawned process serves the module's other tests too
        duckdb_pipeline.output, engines.peak_rss_child = real, real_rss
    return code, out.getvalue(), err.getvalue()


def test_engines_refuses_to_report_when_duckdb_is_a_cent_off(xs_folder, isolated):
    code, out, err = isolated(_engines_main_with_duckdb_a_cent_off,
                              ["--size", "XS", "--reps", "1", "--json",
                               "--data-root", os.path.dirname(xs_folder)])
    assert code == 1
    assert out == ""
    assert "MISMATCH duckdb" in err and "CSV texts" in err
