"""`python bench/payout_writer.py [--plan P] [--data D] [--baseline OTHER/kamrules/run/columnar.py]
[-n RUNS]`: the CPU of the columnar payout CSV writer alone (run/columnar.csv_writer), in one
process: the plan is run once (Session: check, frames, execute), then the writer writes the
payout CSV into a temporary folder RUNS times, and with --baseline the writer of another
checkout's columnar.py in turn (A B A B ...), their files compared byte for byte.

Prints the CPU seconds (user + system, resource.getrusage) of each writer, their medians, the
ratio pair by pair and the load average: a shared machine is noisy, quote medians and ratios.
"""
from __future__ import annotations

import argparse
import filecmp
import importlib.util
import os
import resource
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's kamrules


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def _module(path: str, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plan", default="bench/abtasty-monthly.kam")
    parser.add_argument("--data", default="bench/.data/M-7")
    parser.add_argument("--baseline", help="another checkout's kamrules/run/columnar.py, timed in turn")
    parser.add_argument("-n", type=int, default=5, help="runs of each writer")
    args = parser.parse_args()
    from kamrules.run import columnar
    from kamrules.run.session import Session
    session = Session(args.plan, args.data)
    plan = session.check()
    session.frames()
    run = session.execute(None, jobs=1, quiet=True)
    writers = {"this": columnar}
    if args.baseline:
        writers["baseline"] = _module(args.baseline, "baseline_columnar")
    times = {name: [] for name in writers}
    with tempfile.TemporaryDirectory(prefix="payout_writer.") as tmp:
        for _ in range(args.n):
            for name, module in writers.items():
                write = module.csv_writer(plan, run.table, run.periods)
                start = _cpu()
                with open(os.path.join(tmp, name + ".csv"), "wb") as fh:
                    write(fh)
                times[name].append(_cpu() - start)
        print(f"{run.table.height} payout rows, {os.path.getsize(os.path.join(tmp, 'this.csv'))} bytes of CSV")
        for name, cpu in times.items():
            print(f"{name:9s} CPU s median {statistics.median(cpu):.3f}  runs {' '.join(f'{c:.3f}' for c in cpu)}")
        if args.baseline:
            ratios = [a / b for a, b in zip(times["this"], times["baseline"])]
            same = filecmp.cmp(os.path.join(tmp, "this.csv"), os.path.join(tmp, "baseline.csv"), shallow=False)
            print(f"this/baseline median {statistics.median(ratios):.2f}  pairs {' '.join(f'{r:.2f}' for r in ratios)}")
            print("files identical" if same else "FILES DIFFER")
    print("load average", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
