"""Parse + check of the generated big plan vs Python's ast.parse, alone (the first measure of
bench/run.py without the data): median of --reps interleaved repetitions, split into parse
and check, optionally with a cProfile of one parse + check.

    python bench/parse_only.py [--lines 2000] [--seed 7] [--reps 5] [--profile 25] [--json]
"""
from __future__ import annotations

import argparse
import ast as pyast
import cProfile
import json
import os
import pstats
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import workload  # noqa: E402
from kamrules.check.checker import check  # noqa: E402
from kamrules.syntax.parser import parse_file  # noqa: E402


def parse_and_check(path: str) -> tuple[float, float]:
    """Seconds of parse_file and of check on the plan at `path` (which must check clean)."""
    t0 = time.perf_counter()
    plan, source = parse_file(path)
    t1 = time.perf_counter()
    checked, diags = check(plan, source)
    t2 = time.perf_counter()
    if checked is None or any(d.is_error for d in diags):
        raise SystemExit(f"the generated plan does not check: {diags[:3]}")
    return t1 - t0, t2 - t1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--profile", type=int, metavar="N", default=0,
                    help="print the N most expensive functions of one parse + check")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    kam_text, py_text = workload.big_plan(args.lines, args.seed)
    with tempfile.NamedTemporaryFile("w", suffix=".kam", delete=False, encoding="utf-8") as fh:
        fh.write(kam_text)
        path = fh.name
    try:
        parse_and_check(path)  # Lark's tables and the driver are built once per process
        parses, checks, totals, pys = [], [], [], []
        for _ in range(args.reps):
            p, c = parse_and_check(path)
            t = time.perf_counter()
            pyast.parse(py_text)
            pys.append(time.perf_counter() - t)
            parses.append(p)
            checks.append(c)
            totals.append(p + c)
        med = statistics.median
        result = {"plan_lines": kam_text.count("\n"), "reps": args.reps,
                  "parse_seconds": med(parses), "check_seconds": med(checks),
                  "parse_check_seconds": med(totals), "ast_parse_seconds": med(pys),
                  "parse_check_vs_ast_parse": med(totals) / med(pys)}
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(parse_and_check, path)
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(args.profile)
    finally:
        os.unlink(path)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['plan_lines']} lines: parse {result['parse_seconds']:.3f} s + check "
              f"{result['check_seconds']:.3f} s = {result['parse_check_seconds']:.3f} s vs ast.parse "
              f"{result['ast_parse_seconds']:.4f} s: {result['parse_check_vs_ast_parse']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
