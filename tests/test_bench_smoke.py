"""The benchmark runs at a tiny size (XS: 200 payees, 2 months, 2,000 deals), reports every
measure, and all engines agreed to the cent. No timing is asserted."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import ROOT

KEYS = ("parse_check_vs_ast_parse", "eval_vs_handwritten", "trace_on_vs_off",
        "end_to_end_vs_dataframe", "end_to_end_vs_read", "peak_rss_mb",
        "trace_bytes_per_payee_period", "read_seconds",
        "parse_check_seconds", "ast_parse_seconds", "eval_seconds", "handwritten_seconds",
        "trace_on_seconds", "trace_off_seconds", "e2e_seconds", "dataframe_seconds")


def _bench_xs(script: str, tmp_path) -> dict:
    """The JSON a bench script prints at size XS, one repetition, data under tmp_path."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, str(ROOT / "bench" / script), "--size", "XS", "--json",
                          "--reps", "1", "--data-root", str(tmp_path)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_bench_xs_reports_every_measure_and_engines_agree(tmp_path):
    out = _bench_xs("run.py", tmp_path)
    for key in KEYS:
        assert key in out, key
    assert out["engines_agree"] is True
    assert out["engines"][:2] == ["kamrules", "handwritten"]
    # 200 payees, ~2% without targets, 2 months, 2 components: every engine saw the same rows
    assert 2 * 2 * 190 <= out["payout_rows"] <= 2 * 2 * 200
    assert out["trace_payees"] == out["eval_payees"] and out["trace_bytes_per_payee_period"] > 0
    assert out["peak_rss_mb"] > 0 and out["plan_lines"] >= 1900
    if "polars" in out["engines"]:
        assert out["end_to_end_vs_dataframe"] > 0
    # the data went where asked, nothing into the repository
    assert (tmp_path / "XS-7" / "deals.csv").read_text().count("\n") == 2001


def test_mismatching_engines_fail_the_run(tmp_path, monkeypatch, capsys):
    """The runner refuses to report ratios when an engine disagrees by a cent (the evaluation
    comparison finds it: no end-to-end runs needed, the test above makes them)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import handwritten
    import run as bench_run
    real = handwritten.compute

    def off_by_a_cent(raw, months, payees=None):
        out = real(raw, months, payees)
        key = sorted(out)[0]
        out[key] += out[key].__class__("0.01")
        return out
    monkeypatch.setattr(handwritten, "compute", off_by_a_cent)
    code = bench_run.main(["--size", "XS", "--reps", "1", "--no-dataframe", "--skip-e2e",
                           "--data-root", str(tmp_path)])
    assert code == 1
    err = capsys.readouterr().err
    assert "MISMATCH handwritten: (" in err and "kamrules says" in err


def test_the_commands_benchmark_runs_every_command_and_reports_ratios_to_run(tmp_path):
    out = _bench_xs("commands.py", tmp_path)["commands"]
    assert list(out) == ["run", "explain", "diff", "simulate"]
    assert out["run"]["cpu_vs_run"] == 1.0
    for m in out.values():
        assert m["cpu"] > 0 and m["peak_rss_mb"] > 0
        assert m["cpu_vs_run"] == round(m["cpu"] / out["run"]["cpu"], 2)
