"""`statement --all` CPU per payee: `python bench/statements.py [--payees 2000] [--plan P]
[--format html] [--profile FILE]`.

The plan's acceptance case (default plans/abtasty-kam.kam, case 01) replicated to N payees
by bench/plans.py (`plan_data`, generated once into bench/.data/plans/), then
`kamrules statement PLAN --data DIR --all -o FOLDER --format F` run in this process; the CPU
time (time.process_time) of the whole command, divided by the payees written, is the
number reported (JSON: ms_per_payee, cpu_seconds, payees, files, and the one-minute load
average when it started). --profile writes a cProfile of the run on the CPU clock (its own
cost inflates the Python parts several times: read it for proportions). The machine is
shared: compare numbers of one run, not across runs.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import plans  # noqa: E402
from kamrules.cli.main import main as kamrules_main  # noqa: E402


def measure(plan: str, payees: int, fmt: str = "html", profile: str | None = None, root: str | None = None) -> dict:
    folder, _, n = plans.plan_data(plan, payees, root or os.path.join(HERE, ".data", "plans"))
    with tempfile.TemporaryDirectory() as out:
        argv = ["statement", plan, "--data", folder, "--all", "-o", os.path.join(out, "s"), "--format", fmt]
        prof = cProfile.Profile(time.process_time) if profile else None  # CPU, as the figure
        load = os.getloadavg()[0]
        start = time.process_time()
        if prof:
            prof.enable()
        code = kamrules_main(argv)
        if prof:
            prof.disable()
            prof.dump_stats(profile)
        cpu = time.process_time() - start
        files = len(os.listdir(os.path.join(out, "s"))) if code == 0 else 0
    return {"plan": os.path.basename(plan), "format": fmt, "payees": n, "files": files, "exit": code,
            "cpu_seconds": round(cpu, 3), "ms_per_payee": round(1000 * cpu / max(n, 1), 2),
            "load_average": round(load, 2)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--payees", type=int, default=2000)
    ap.add_argument("--plan", default=os.path.join(plans.PLANS, "abtasty-kam.kam"))
    ap.add_argument("--format", default="html", choices=("html", "md", "text"))
    ap.add_argument("--profile", help="write a cProfile of the run to this file")
    ap.add_argument("--data-root", help="where the replicated data is generated (default bench/.data/plans)")
    args = ap.parse_args(argv)
    got = measure(args.plan, args.payees, args.format, args.profile, args.data_root)
    print(json.dumps(got))
    return 0 if got["exit"] == 0 and got["files"] == got["payees"] else 1


if __name__ == "__main__":
    sys.exit(main())
