"""DuckDB vs polars for the columnar aggregation layer (issue 7):
`python bench/engines.py --size XS|S|M|L [--reps 3] [--json]`.

Owns the stage-by-stage comparison of the two hand-written columnar pipelines of the monthly
AB Tasty workload: bench/dataframe.py (polars, split here into the same three stages, the
code otherwise unchanged) and bench/duckdb_pipeline.py (DuckDB SQL). Stages:

- load: the five CSVs into typed tables (dates parsed, money as integer cents, exact);
- aggregate: the four won-deal sums per payee and month with the `kam` assignment valid on
  the close date, and the portfolio ARR per payee on the quarter's first day;
- rest: targets, curve and rounding in the engine (`curve`: integer cents per payee and
  month), then the payout CSV written by the engine (`output`: polars `write_csv`, DuckDB
  `COPY ... TO`, into a file); both parts are reported, `rest` is their sum.

Each stage's seconds are the median of --reps interleaved repetitions (the engines take
turns, first one then the other), each repetition from a fresh start (new DuckDB database,
new polars frames). Peak RSS is measured first, one forked child per engine running the
whole pipeline, before this process imports either engine: the peak once the library is
imported (`import`), after the engine's stages (`engine`, up to `curve`) and of the whole
run (`full`, with the CSV written, read back and parsed). Before anything is printed the
two pipelines' payouts must be equal to the cent, their CSV texts identical, and both equal
to bench/dataframe.py's unstaged compute: otherwise the mismatches go to stderr and the
exit code is 1.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import dataframe  # noqa: E402
import duckdb_pipeline  # noqa: E402
import payout_csv  # noqa: E402
import workload  # noqa: E402

STAGES = ("load", "aggregate", "curve", "output")
REPORTED = ("load", "aggregate", "curve", "output", "rest", "total")
ENGINES = ("polars", "duckdb")


# ------------------------------------------------------------------------ polars, staged
polars_load, polars_aggregate, polars_curve, polars_output = (
    dataframe.load, dataframe.aggregate, dataframe.curve, dataframe.output)


# ------------------------------------------------------------------------ duckdb, staged
def duckdb_load(folder: str):
    con = duckdb_pipeline.connect()
    duckdb_pipeline.load(con, folder)
    return con


def duckdb_aggregate(con):
    duckdb_pipeline.aggregate(con)
    return con


def duckdb_curve(con, months: int):
    duckdb_pipeline.curve(con, months)
    return con


def duckdb_output(con, path: str):
    try:
        duckdb_pipeline.output(con, path)
    finally:
        con.close()


PIPELINES = {  # stage functions, in STAGES order
    "polars": (polars_load, polars_aggregate, polars_curve, polars_output),
    "duckdb": (duckdb_load, duckdb_aggregate, duckdb_curve, duckdb_output),
}


def run_staged(engine: str, folder: str, months: int, after_curve=None):
    """({stage: seconds}, payouts dict, CSV text) of one full run of an engine, the payout
    CSV written to a temporary file by the engine (read back and parsed untimed);
    `after_curve()` is called, untimed, when the engine's stages are done."""
    load, aggregate, curve, output = PIPELINES[engine]
    seconds = {}

    def timed(stage, fn, *args):
        t = time.perf_counter()
        value = fn(*args)
        seconds[stage] = time.perf_counter() - t
        return value
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "payouts.csv")
        state = timed("load", load, folder)
        state = timed("curve", curve, timed("aggregate", aggregate, state), months)
        if after_curve is not None:
            after_curve()
        timed("output", output, state, path)
        with open(path, encoding="utf-8", newline="") as fh:
            text = fh.read()
    seconds["rest"] = seconds["curve"] + seconds["output"]
    seconds["total"] = sum(seconds[s] for s in STAGES)
    return seconds, payout_csv.rows(text), text


# ------------------------------------------------------------------------ measures
def _peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def peak_rss_child(engine: str | None, folder: str, months: int) -> tuple[dict, float]:
    """({"import": MB, "engine": MB, "full": MB}, seconds) of a forked child running one
    engine's whole pipeline: peak RSS once the engine's library is imported, when its stages
    are done, and at the end (engine None: the child only reports, the interpreter's
    baseline)."""
    read_end, write_end = os.pipe()
    t = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        code = 0
        try:
            if engine is not None:
                __import__(engine)
            os.write(write_end, f"{_peak_kb()} ".encode())
            if engine is not None:
                run_staged(engine, folder, months,
                           after_curve=lambda: os.write(write_end, f"{_peak_kb()}".encode()))
        except BaseException:
            code = 3
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        reported = pipe.read().split()
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - t
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{engine} failed in the child (exit {code})")
    peaks = [round(int(kb) / 1024, 1) for kb in reported] + [round(usage.ru_maxrss / 1024, 1)]
    return dict(zip(("import", "engine", "full"), peaks if engine else peaks[:1] * 3)), seconds


def interleaved(reps: int, folder: str, months: int):
    """Median seconds per engine and stage over `reps` repetitions, engines taking turns
    (the order alternates each repetition), and each engine's last payouts and CSV text."""
    seconds = {e: {s: [] for s in REPORTED} for e in ENGINES}
    results = {}
    for rep in range(reps):
        for engine in ENGINES if rep % 2 == 0 else ENGINES[::-1]:
            gc.collect()
            stage_seconds, out, text = run_staged(engine, folder, months)
            for stage, s in stage_seconds.items():
                seconds[engine][stage].append(s)
            results[engine] = (out, text)
            del out, text
    medians = {e: {s: statistics.median(v) for s, v in by_stage.items()}
               for e, by_stage in seconds.items()}
    return medians, results


def mismatches(results: dict, reference: dict) -> list[str]:
    """Every way the two engines (and bench/dataframe.py's compute) disagree; [] if none."""
    problems = []
    (p_out, p_csv), (d_out, d_csv) = results["polars"], results["duckdb"]
    for name, got in (("duckdb", d_out), ("polars staged", p_out)):
        if set(got) != set(reference):
            problems.append(f"{name}: {len(set(got) ^ set(reference))} keys differ from "
                            "bench/dataframe.py's")
            continue
        bad = [k for k in sorted(reference) if got[k] != reference[k]]
        problems += [f"{name}: {k} = {got[k]}, bench/dataframe.py says {reference[k]}"
                     for k in bad[:5]]
    if p_csv != d_csv:
        problems.append("the payout CSV texts of polars and duckdb differ")
    return problems


def versions() -> dict:
    import duckdb
    import polars as pl
    threads = duckdb.connect().execute("SELECT current_setting('threads')").fetchone()[0]
    return {"duckdb": duckdb.__version__, "polars": pl.__version__, "duckdb_threads": threads,
            "polars_threads": pl.thread_pool_size()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=sorted(workload.SIZES), default="S")
    ap.add_argument("--reps", type=int, default=3,
                    help="interleaved repetitions (>= 3 for the report)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--data-root", help="where generated data goes (default bench/.data)")
    args = ap.parse_args(argv)
    payees, months, deals = workload.SIZES[args.size]
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    folder = workload.data_folder(args.size, args.seed, args.data_root)
    result = {"size": args.size, "payees": payees, "months": months, "deals": deals,
              "reps": args.reps}

    # 1. memory: one forked child per engine, before this process imports either of them
    base, _ = peak_rss_child(None, folder, months)
    rss = {"baseline": base["full"]}
    for engine in ENGINES:
        rss[engine], seconds = peak_rss_child(engine, folder, months)
        log(f"{engine} (child): {seconds:.2f} s, peak RSS MB {rss[engine]}")
    result["peak_rss_mb"] = rss

    # 2. the stages, interleaved (both engines imported first, outside the timings);
    # 3. bench/dataframe.py unstaged, once, as the reference
    result.update(versions())
    medians, results = interleaved(args.reps, folder, months)
    t = time.perf_counter()
    reference_csv = dataframe.run(folder, months)
    result["dataframe_py_seconds"] = round(time.perf_counter() - t, 4)
    reference = payout_csv.rows(reference_csv)
    problems = mismatches(results, reference)
    if reference_csv != results["duckdb"][1]:
        problems.append("the duckdb CSV text differs from bench/dataframe.py's")
    if problems:
        for p in problems:
            print("MISMATCH " + p, file=sys.stderr)
        return 1

    result["payout_rows"] = len(reference)
    result["engines_agree"] = True
    result["seconds"] = {e: {s: round(v, 4) for s, v in m.items()} for e, m in medians.items()}
    result["duckdb_vs_polars"] = {s: round(medians["duckdb"][s] / medians["polars"][s], 3)
                                  for s in REPORTED}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"size {args.size}: {payees} payees, {months} months, {deals} deals; "
          f"{len(reference)} payouts equal to the cent; median of {args.reps}")
    print(f"{'stage':12} {'polars s':>10} {'duckdb s':>10} {'duckdb/polars':>14}")
    for stage in REPORTED:
        print(f"{stage:12} {medians['polars'][stage]:10.3f} {medians['duckdb'][stage]:10.3f} "
              f"{result['duckdb_vs_polars'][stage]:14.2f}")
    for engine in ENGINES:
        print(f"peak RSS {engine}: {rss[engine]['import']} MB imported, {rss[engine]['engine']} MB "
              f"after its stages, {rss[engine]['full']} MB with the CSV read back")
    print(f"(forked interpreter alone: {rss['baseline']} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
