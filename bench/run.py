"""The benchmark: `python bench/run.py --size XS|S|M|L [--json] [--reps 3] [--jobs 1]`.

Workload: bench/abtasty-monthly.kam on seeded data from bench/workload.py (generated once
into bench/.data/, git-ignored), plus a generated ~2,000-line plan for parsing. Engines:
kamrules (the columnar engine `kamrules run` uses for this plan: kamrules/backends/polars/), the
same rules hand-written in Python with Decimal (bench/handwritten.py), a hand-written polars
pipeline (bench/dataframe.py, payout CSV written by `write_csv`) and its DuckDB twin
(bench/duckdb_pipeline.py, `COPY ... TO`; when duckdb is installed). polars is needed
(extra `test`, `columnar` or `bench`).
All engines' payouts must be equal to the cent, and the payout CSV files of kamrules and the
two pipelines equal byte for byte, before any ratio is reported (exit 1 otherwise). Each
timing is the median of --reps interleaved repetitions in this process.

Reported (JSON keys): parse_check_vs_ast_parse (parse + check of the big plan vs Python's
ast.parse of the same definitions as Python), eval_vs_handwritten (evaluation only, data
loaded), trace_on_vs_off (evaluation with the columnar trace kept and written to compressed
Parquet in memory vs without), end_to_end_vs_dataframe (plan file + CSV folder -> payout
CSV file, against the polars pipeline), end_to_end_vs_duckdb (the same against DuckDB),
end_to_end_vs_read (against polars only reading the input CSVs with their schema),
peak_rss_mb (of one `kamrules run` end to end in a fresh child process), and
trace_bytes_per_payee_period (the columnar trace's compressed bytes per payee-period), with
the seconds behind each ratio. --eval-payees N restricts the evaluation and trace measures
to the first N payees.
"""
from __future__ import annotations

import argparse
import ast as pyast
import json
import os
import resource
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import dataframe  # noqa: E402
import duckdb_pipeline  # noqa: E402
import handwritten  # noqa: E402
import payout_csv  # noqa: E402
import workload  # noqa: E402
from kamrules.check.checker import check  # noqa: E402
from kamrules.backends.polars.engine import evaluate_frames, payouts_list  # noqa: E402
from kamrules.data.fast import load_frames  # noqa: E402
from kamrules.run.columnar import columnar_payouts, frame_periods  # noqa: E402
from kamrules.run.columnar import to_csv as columnar_csv  # noqa: E402
from kamrules.backends.polars.trace import trace_bytes  # noqa: E402
from kamrules.syntax.parser import parse_file  # noqa: E402

PLAN = os.path.join(HERE, "abtasty-monthly.kam")


def _timed(fn):
    t = time.perf_counter()
    value = fn()
    return time.perf_counter() - t, value


def interleaved(reps: int, **fns):
    """Run each fn once per repetition, in turn; medians of seconds and the last values."""
    seconds = {k: [] for k in fns}
    values = {}
    for _ in range(reps):
        for k, fn in fns.items():
            s, values[k] = _timed(fn)
            seconds[k].append(s)
    return {k: statistics.median(v) for k, v in seconds.items()}, values


def peak_rss_child(folder: str, jobs: int) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of `kamrules run` end to end in a fresh child process
    (spawned, not forked: a fork of a process whose polars thread pool ran can deadlock)."""
    import subprocess
    out = tempfile.mktemp(suffix=".csv")
    t = time.perf_counter()
    env = dict(os.environ, PYTHONPATH=os.path.dirname(HERE))
    res = subprocess.run([sys.executable, "-m", "kamrules", "run", PLAN, "--data", folder, "--jobs", str(jobs),
                          "--quiet", "-o", out], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if os.path.exists(out):
        os.unlink(out)
    if res.returncode != 0:
        raise SystemExit(f"kamrules run failed in the child (exit {res.returncode}): {res.stderr[-500:]}")
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, seconds


def _traced(checked, frames, periods):
    """(compressed trace bytes, payee-periods traced) of one evaluation with lineage."""
    table, frame = evaluate_frames(checked, frames, periods, lineage=True)
    return trace_bytes(frame), frame.df.filter(frame.df["__elig"]).height


def _s(seconds) -> str:
    return "-" if seconds is None else f"{seconds:.2f} s"


def _importable(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def as_dict(payouts) -> dict:
    return {(p.payee_id, p.period.label if hasattr(p.period, "label") else str(p.period), p.component):
            p.amount for p in payouts}


def compare(name: str, got: dict, want: dict) -> list[str]:
    problems = []
    if set(got) != set(want):
        only_got, only_want = set(got) - set(want), set(want) - set(got)
        problems.append(f"{name}: {len(only_got)} rows not in kamrules (e.g. {sorted(only_got)[:2]}), "
                        f"{len(only_want)} kamrules rows missing (e.g. {sorted(only_want)[:2]})")
    for k in sorted(set(got) & set(want)):
        if got[k] != want[k]:
            problems.append(f"{name}: {k} = {got[k]}, kamrules says {want[k]}")
            if len(problems) > 5:
                break
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=sorted(workload.SIZES), default="S")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--reps", type=int, default=3, help="interleaved repetitions (>= 3 for the report)")
    ap.add_argument("--jobs", type=int, default=1, help="kamrules --jobs for the end-to-end runs")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--data-root", help="where generated data goes (default bench/.data)")
    ap.add_argument("--no-dataframe", action="store_true",
                    help="skip the polars and DuckDB baselines")
    ap.add_argument("--no-duckdb", action="store_true", help="skip the DuckDB baseline")
    ap.add_argument("--eval-payees", type=int, default=None,
                    help="evaluate only the first N payees in the eval comparison (M and L: the "
                         "full kamrules evaluation takes too long to repeat)")
    ap.add_argument("--skip-e2e", action="store_true",
                    help="no full end-to-end kamrules run (peak RSS and end_to_end are then "
                         "null); the polars pipeline is still timed and checked")
    args = ap.parse_args(argv)
    payees, months, deals = workload.SIZES[args.size]
    t0 = time.perf_counter()
    folder = workload.data_folder(args.size, args.seed, args.data_root)
    gen_seconds = time.perf_counter() - t0
    result = {"size": args.size, "payees": payees, "months": months, "deals": deals,
              "reps": args.reps, "jobs": args.jobs, "generate_seconds": round(gen_seconds, 3)}
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print

    # 1. peak memory of one real run, before this process loads anything big
    if args.skip_e2e:
        result.update(peak_rss_mb=None, cli_run_seconds=None)
    else:
        rss, cli_seconds = peak_rss_child(folder, args.jobs)
        result.update(peak_rss_mb=round(rss, 1), cli_run_seconds=round(cli_seconds, 3))
        log(f"kamrules run (child): {cli_seconds:.2f} s, peak RSS {rss:.0f} MB")

    # 2. parsing: the generated 2,000-line plan vs ast.parse of its Python twin
    kam_text, py_text = workload.big_plan(2000, args.seed)
    with tempfile.NamedTemporaryFile("w", suffix=".kam", delete=False) as fh:
        fh.write(kam_text)
        big_path = fh.name

    def parse_check():
        plan, source = parse_file(big_path)
        checked, diags = check(plan, source)
        assert checked is not None and not [d for d in diags if d.is_error], diags[:3]
        return len(checked.definitions)
    med, _ = interleaved(args.reps, kam=parse_check, py=lambda: pyast.parse(py_text))
    os.unlink(big_path)
    result.update(plan_lines=kam_text.count("\n"), parse_check_seconds=med["kam"],
                  ast_parse_seconds=med["py"], parse_check_vs_ast_parse=med["kam"] / med["py"])
    log(f"parse+check {result['plan_lines']} lines: {med['kam']:.3f} s vs ast.parse {med['py']:.4f} s")

    # 3. evaluation only: kamrules (the columnar engine `kamrules run` uses) vs hand-written
    #    Decimal Python, data loaded once each
    plan, source = parse_file(PLAN)
    checked, _ = check(plan, source)
    load_seconds, frames = _timed(lambda: load_frames(checked, folder))
    periods = frame_periods(checked, frames, None)
    hand_load_seconds, raw = _timed(lambda: handwritten.load(folder))
    result.update(load_seconds=load_seconds, handwritten_load_seconds=hand_load_seconds,
                  rss_after_load_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
    log(f"load: kamrules {load_seconds:.2f} s, hand-written {hand_load_seconds:.2f} s")
    ids = sorted(frames["people"]["__id"].to_list())
    subset = set(ids[:args.eval_payees]) if args.eval_payees else None
    eval_frames = frames
    if subset is not None:
        import polars as pl
        eval_frames = dict(frames, people=frames["people"].filter(pl.col("__id").is_in(sorted(subset))))
    result["eval_payees"] = len(subset) if subset else len(ids)
    med, vals = interleaved(
        args.reps,
        kam=lambda: evaluate_frames(checked, eval_frames, periods)[0],
        hand=lambda: handwritten.compute(raw, months, subset))
    engine_rows = as_dict(payouts_list(checked, vals["kam"], periods))
    problems = compare("handwritten", vals["hand"], engine_rows)
    result.update(eval_seconds=med["kam"], handwritten_seconds=med["hand"],
                  eval_vs_handwritten=med["kam"] / med["hand"], payout_rows=len(engine_rows))
    log(f"eval: kamrules {med['kam']:.2f} s vs hand-written {med['hand']:.2f} s")

    # 4. traces: the columnar trace (every definition per payee-period + the data rows behind
    #    every aggregate) on vs off, and its compressed size
    med, vals = interleaved(
        args.reps,
        on=lambda: _traced(checked, eval_frames, periods),
        off=lambda: evaluate_frames(checked, eval_frames, periods)[0])
    pairs = vals["on"][1]
    trace_size = vals["on"][0]
    result.update(trace_payees=result["eval_payees"], trace_on_seconds=med["on"],
                  trace_off_seconds=med["off"], trace_on_vs_off=med["on"] / med["off"],
                  trace_bytes_per_payee_period=round(trace_size / max(pairs, 1), 1))
    log(f"trace on {med['on']:.2f} s vs off {med['off']:.2f} s; "
        f"{result['trace_bytes_per_payee_period']} bytes per payee-period")
    del vals

    # 5. end to end: plan + CSV folder -> payout CSV file, kamrules vs the polars pipeline
    #    (write_csv), the DuckDB one (COPY) and polars only reading the input CSVs
    tmp = tempfile.mkdtemp(prefix="kamrules-bench-")
    paths = {k: os.path.join(tmp, f"{k}.csv") for k in ("kam", "df", "duck")}

    def kam_e2e():  # what `kamrules run PLAN --data DIR -o OUT` does, minus the CLI
        p, src = parse_file(PLAN)
        c, _ = check(p, src)
        table, report_periods, _ = columnar_payouts(c, folder)
        with open(paths["kam"], "w", encoding="utf-8", newline="") as fh:
            fh.write(columnar_csv(c, table, report_periods))
    fns = {"kam": kam_e2e}
    have_df = _importable("polars") and not args.no_dataframe
    have_duck = have_df and _importable("duckdb") and not args.no_duckdb
    if have_df:
        fns["df"] = lambda: dataframe.run(folder, months, paths["df"])
        fns["read"] = lambda: dataframe.read(folder)
    if have_duck:
        fns["duck"] = lambda: duckdb_pipeline.run(folder, months, paths["duck"])
    if args.skip_e2e:
        del fns["kam"]
    med, _ = interleaved(args.reps, **fns)
    texts = {}
    for k, path in paths.items():
        if os.path.exists(path):
            with open(path, encoding="utf-8", newline="") as fh:
                texts[k] = fh.read()
            os.unlink(path)
    os.rmdir(tmp)

    def ratio(k):
        return med["kam"] / med[k] if k in med and "kam" in med else None
    result.update(e2e_seconds=med.get("kam"), dataframe_engine="polars" if have_df else None,
                  dataframe_seconds=med.get("df"), read_seconds=med.get("read"),
                  duckdb_seconds=med.get("duck"), end_to_end_vs_dataframe=ratio("df"),
                  end_to_end_vs_read=ratio("read"), end_to_end_vs_duckdb=ratio("duck"))
    if have_df:
        df_rows = payout_csv.rows(texts["df"])
        if subset is not None:
            df_rows = {k: v for k, v in df_rows.items() if k[0] in subset}
        problems += compare("polars", df_rows, engine_rows)
        for k, name in (("df", "polars"), ("duck", "duckdb")):
            if "kam" in texts and k in texts and texts[k] != texts["kam"]:
                problems.append(f"{name}: the payout CSV text differs from kamrules'")
        log(f"end to end: kamrules {_s(med.get('kam'))} vs polars {_s(med['df'])} (reading "
            f"only {_s(med['read'])}), duckdb {_s(med.get('duck'))}")
    else:
        log(f"end to end: kamrules {_s(med.get('kam'))} (polars not installed: "
            "pip install -e '.[bench]')")
    result["engines"] = (["kamrules", "handwritten"] + (["polars"] if have_df else [])
                         + (["duckdb"] if have_duck else []))
    result["engines_agree"] = not problems
    for k, v in list(result.items()):
        if isinstance(v, float):
            result[k] = round(v, 4)
    if problems:
        for p in problems:
            print("MISMATCH " + p, file=sys.stderr)
        if args.json:
            print(json.dumps(result, indent=2))
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for k in ("parse_check_vs_ast_parse", "eval_vs_handwritten", "trace_on_vs_off",
                  "end_to_end_vs_dataframe", "end_to_end_vs_read", "end_to_end_vs_duckdb",
                  "peak_rss_mb", "trace_bytes_per_payee_period"):
            print(f"{k:32} {result[k]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
