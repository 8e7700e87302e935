"""kamrules' engines side by side, size by size (issue 19): `python bench/scale.py --sizes
S,M,ML,L [--engines columnar,duckdb] [--memory-limit 1GB] [--json]`.

Each (size, engine) is one fresh process, `python -m kamrules run bench/abtasty-monthly.kam
--data <size folder> -q -o OUT --engine E` (duckdb with `--memory-limit` when given), the
engines of a size taking turns (the order alternating size by size); its wall and CPU
seconds and its peak RSS (the child's ru_maxrss, as /usr/bin/time -v reports it) are
measured, with the load average before and after (the machine may be shared: compare the
engines within a size, not across runs). Every engine's payout CSV must be byte for byte
the first engine's: otherwise the mismatch goes to stderr and the exit code is 1.
Data comes from bench/workload.py (bench/.data, generated on first use; XL's deals are
written by DuckDB, `workload.fast_deals`).
"""
from __future__ import annotations

import argparse
import filecmp
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import workload  # noqa: E402

PLAN = os.path.join(HERE, "abtasty-monthly.kam")


def run_once(root: str, folder: str, engine: str, out: str, memory_limit: str | None) -> dict:
    """One `kamrules run` as a child process: seconds, CPU, peak RSS (MB), exit code."""
    args = [sys.executable, "-m", "kamrules", "run", PLAN, "--data", folder, "-q", "-o", out, "--engine", engine]
    if memory_limit and engine == "duckdb":
        args += ["--memory-limit", memory_limit]
    env = dict(os.environ, PYTHONPATH=root)
    load = os.getloadavg()[0]
    t = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        message = err.read().decode("utf-8", "replace")[-2000:]
    return {"engine": engine, "seconds": round(time.perf_counter() - t, 2),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "exit": proc.returncode,
            "load_before": round(load, 1), "load_after": round(os.getloadavg()[0], 1),
            **({"memory_limit": memory_limit} if memory_limit and engine == "duckdb" else {}),
            **({"stderr": message} if proc.returncode else {})}


def measure(sizes: list, engines: list, memory_limit: str | None, root: str, seed: int = 7) -> tuple[list, list]:
    """(one result per size and engine, the problems: a failed run, CSVs that differ)."""
    results, problems = [], []
    with tempfile.TemporaryDirectory(prefix="kamrules-scale-") as tmp:
        for i, size in enumerate(sizes):
            folder = workload.data_folder(size, seed)
            payees, months, deals = workload.SIZES[size]
            order = engines if i % 2 == 0 else engines[::-1]
            outs = {}
            for engine in order:
                outs[engine] = os.path.join(tmp, f"{size}-{engine}.csv")
                r = run_once(root, folder, engine, outs[engine], memory_limit)
                r.update(size=size, payees=payees, months=months, deals=deals)
                results.append(r)
                print(f"{size} {engine}: {r['seconds']} s, CPU {r['cpu_seconds']} s, peak {r['peak_rss_mb']} MB, "
                      f"load {r['load_before']} / {r['load_after']}, exit {r['exit']}", file=sys.stderr, flush=True)
                if r["exit"]:
                    problems.append(f"{size} {engine}: exit {r['exit']}\n{r.get('stderr', '')}")
            done = [e for e in engines if os.path.exists(outs[e])]
            for e in done[1:]:
                same = filecmp.cmp(outs[done[0]], outs[e], shallow=False)
                for r in results:
                    if r["size"] == size and r["engine"] == e:
                        r["same_csv_as"] = done[0] if same else None
                if not same:
                    problems.append(f"{size}: the payout CSV of {e} differs from {done[0]}'s")
            for path in outs.values():
                if os.path.exists(path):
                    os.remove(path)
    return results, problems


def table(results: list) -> str:
    """The results as a Markdown table."""
    def row(cells):
        return "| " + " | ".join(str(c) for c in cells) + " |"
    head = ("size", "payees x months x deals", "engine", "wall s", "CPU s", "peak RSS MB", "load avg", "same CSV")
    body = [row((r["size"], f"{r['payees']:,} x {r['months']} x {r['deals']:,}",
                 r["engine"] + (f" --memory-limit {r['memory_limit']}" if "memory_limit" in r else ""),
                 r["seconds"], r["cpu_seconds"], f"{r['peak_rss_mb']:,}", f"{r['load_before']} / {r['load_after']}",
                 "reference" if "same_csv_as" not in r else "yes" if r["same_csv_as"] else "NO"))
            for r in results]
    return "\n".join([row(head), row(["---"] * len(head))] + body)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="S", help="comma-separated, of " + ", ".join(workload.SIZES))
    ap.add_argument("--engines", default="columnar,duckdb")
    ap.add_argument("--memory-limit", help="duckdb's --memory-limit (e.g. 1GB)")
    ap.add_argument("--kamrules-root", default=ROOT, help="the checkout to run (default: this one)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    sizes = args.sizes.split(",")
    unknown = [s for s in sizes if s not in workload.SIZES]
    if unknown:
        ap.error(f"unknown size {unknown[0]}: choose from {', '.join(workload.SIZES)}")
    results, problems = measure(sizes, args.engines.split(","), args.memory_limit, args.kamrules_root, args.seed)
    print(json.dumps(results, indent=2) if args.json else table(results))
    for p in problems:
        print("PROBLEM " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
