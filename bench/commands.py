"""The data commands against one run: `python bench/commands.py --size S|M [--reps 3] [--json]`.

Owns the measure of issue 14's command targets: `explain` of one payee (at most 2 s at
100k payees), `diff` and `simulate` (at most 2.5x one run). On the workload of bench/run.py
(bench/abtasty-monthly.kam on bench/workload.py's data at the size asked) each command runs
as a fresh `python -m kamrules` process, the commands in turn, --reps rounds (A B C D A B C
D ...): `run -o OUT`, `explain --payee <first payee>`, `diff PLAN VARIANT` (VARIANT: the plan
with nrr_weight 75% instead of 70%, so every payee changes) and `simulate PLAN VARIANT`.
Reported per command: the median CPU seconds (user + system, wait4) and wall seconds, the
peak RSS, and the ratio of each to `run`'s median taken within the same rounds (the machine
may be shared: only ratios measured together mean something). `--startup`: also `check`
and `startup`, which are `check` and `run` of plans/abtasty-kam.kam on its acceptance case
(examples/01-...): the cost of starting a command, what every command pays before its data.

The processes run as an installed kamrules does: with its modules' bytecode compiled once
(PYTHONPYCACHEPREFIX in the temporary folder, warmed by one call before the rounds), even
when the shell sets PYTHONDONTWRITEBYTECODE (compiling every module again costs each
process about 0.3 s of CPU, which a `pip install` never pays). `--before ROOT`: every
command also from that checkout, in the same rounds (A A' B B' ...), with the after/before
ratio of the medians.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import workload  # noqa: E402
from plans import ROOT, run_child  # noqa: E402

PLAN = os.path.join(HERE, "abtasty-monthly.kam")


def variant(tmp: str) -> str:
    """The plan with another NRR weight (every payee's pay changes)."""
    with open(PLAN, encoding="utf-8") as fh:
        text = fh.read()
    assert "param nrr_weight = 70%" in text
    path = os.path.join(tmp, "abtasty-monthly-75.kam")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text.replace("param nrr_weight = 70%", "param nrr_weight = 75%"))
    return path


def first_payee(folder: str) -> str:
    with open(os.path.join(folder, "people.csv"), encoding="utf-8") as fh:
        fh.readline()
        return fh.readline().split(",")[0]


def tiny_commands(tmp: str) -> dict:
    """`check` and `run` of a small plan on its acceptance case: the start-up of a command."""
    base, out = [sys.executable, "-m", "kamrules"], os.path.join(tmp, "tiny.txt")
    plan, data = os.path.join(ROOT, "plans", "abtasty-kam.kam"), os.path.join(ROOT, "examples", "01-abtasty-nrr-upsell")
    return {"check": base + ["check", plan], "startup": base + ["run", plan, "--data", data, "-q", "-o", out]}


def commands(folder: str, tmp: str) -> dict:
    other, out = variant(tmp), os.path.join(tmp, "out.txt")
    base = [sys.executable, "-m", "kamrules"]
    return {
        "run": base + ["run", PLAN, "--data", folder, "-q", "-o", out],
        "explain": base + ["explain", PLAN, "--data", folder, "--payee", first_payee(folder), "-o", out],
        "diff": base + ["diff", PLAN, other, "--data", folder, "-o", out],
        "simulate": base + ["simulate", PLAN, other, "--data", folder, "-o", out],
    }


def child_env(root: str, tmp: str, label: str) -> dict:
    """The environment of a measured process: kamrules from `root`, bytecode kept in tmp."""
    env = dict(os.environ, PYTHONPATH=root, PYTHONPYCACHEPREFIX=os.path.join(tmp, "pycache-" + label))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def measure(folder: str, reps: int, timeout: float, mem_limit_mb: float, root: str = ROOT,
            before: str | None = None, startup: bool = False) -> dict:
    roots = {"": root} if before is None else {"": root, "before:": before}
    with tempfile.TemporaryDirectory(prefix="kamrules-commands-") as tmp:
        tiny = tiny_commands(tmp)
        cmds = dict(tiny if startup else {}, **commands(folder, tmp))
        envs = {label: child_env(r, tmp, str(i)) for i, (label, r) in enumerate(roots.items())}
        for env in envs.values():  # compile the modules once, as an install does
            for argv in tiny.values():
                run_child(argv, timeout, mem_limit_mb, env=env, cwd=tmp)
        seen = {label + k: [] for k in cmds for label in roots}
        for _ in range(reps):
            for name, argv in cmds.items():
                for label, env in envs.items():
                    res = run_child(argv, timeout, mem_limit_mb, env=env, cwd=tmp)
                    if res["status"] != "ok":
                        raise SystemExit(f"{label}{name}: {res['status']} (exit {res['exit']})")
                    seen[label + name].append(res)
    out = {}
    for name, runs in seen.items():
        out[name] = {"cpu": statistics.median(r["cpu"] for r in runs),
                     "wall": statistics.median(r["wall"] for r in runs),
                     "peak_rss_mb": max(r["peak_rss_mb"] for r in runs)}
    for name, m in out.items():
        run = out["before:run" if name.startswith("before:") else "run"]
        m["cpu_vs_run"] = round(m["cpu"] / run["cpu"], 2)
        m["wall_vs_run"] = round(m["wall"] / run["wall"], 2)
        if before is not None and not name.startswith("before:"):
            m["cpu_vs_before"] = round(m["cpu"] / out["before:" + name]["cpu"], 2)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=sorted(workload.SIZES), default="S")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--data-root", help="where generated data goes (default bench/.data)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--mem-limit", type=float, default=8000, help="MB")
    ap.add_argument("--kamrules-root", default=ROOT,
                    help="the checkout whose kamrules runs (another one: a before/after measure)")
    ap.add_argument("--before", metavar="ROOT",
                    help="another checkout measured in the same rounds (a paired before/after)")
    ap.add_argument("--startup", action="store_true", help="also `check` and `run` of a small plan")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    folder = workload.data_folder(args.size, args.seed, args.data_root)
    result = measure(folder, args.reps, args.timeout, args.mem_limit, args.kamrules_root, args.before,
                     args.startup)
    if args.json:
        print(json.dumps({"size": args.size, "reps": args.reps, "commands": result}, indent=2))
    else:
        print(f"{'command':16} {'CPU s':>8} {'wall s':>8} {'peak MB':>8} {'CPU/run':>8} {'wall/run':>8}"
              + (f" {'CPU/before':>10}" if args.before else ""))
        for name, m in result.items():
            print(f"{name:16} {m['cpu']:8.2f} {m['wall']:8.2f} {m['peak_rss_mb']:8.0f} "
                  f"{m['cpu_vs_run']:8.2f} {m['wall_vs_run']:8.2f}"
                  + (f" {m['cpu_vs_before']:10.2f}" if "cpu_vs_before" in m else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
