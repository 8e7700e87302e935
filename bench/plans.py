"""Every plan at N payees: `python bench/plans.py --payees 10000 [--plans GLOB] [--timeout S]`.

Owns the per-plan benchmark. Each plan in plans/ runs on its acceptance case (the data
folder `plans/tests/<plan>/acceptance`, `acceptance-scenario-a` or `example`, the same
files as its folder under examples/) replicated to N payees: the case's tables are copied
ceil(N / payees in the case) times, every identifier renamed per copy (`kam-001` becomes
`kam-001-r0`, `kam-001-r1`...) consistently in every table: the columns named `*_id` and
`team`, `territory`, `scope`. Dates and amounts are kept. A value the plan names as a text
literal (`"kam"`, `"FR"`, `"won"`) is never renamed, and a row in which nothing was renamed
(an FX rate, France's market share) is written once. So each copy is the acceptance case
again, with its own payees, accounts, deals and teams: the replicated data pays the case's
total times the number of copies, except where a plan pools the whole population
(`share(...)`), which tests/test_bench_plans.py checks.

Each plan then runs as `python -m kamrules run PLAN --data DIR -o OUT` (the default engine,
the default --jobs) in a fresh child process, through bench/kamrules_probe.py, which is that
command plus a note of the engine that produced the output. Reported per plan: wall seconds,
CPU seconds (user + system of the child and of the processes it waited for, from wait4),
peak RSS (the largest single process among those, wait4's ru_maxrss), the engine
(`columnar`, or `interpreter` with the reason the columnar engine handed over), the payout
rows written. A plan past --timeout seconds, or whose processes hold more than --mem-limit
MB together, is killed (its process group) and reported with the time and memory it had
used; once --budget seconds have gone by, the plans left are reported `over budget` and not
run. Data is generated once into bench/.data/plans/ (git-ignored).
"""
from __future__ import annotations

import argparse
import csv
import fnmatch
import json
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PLANS = os.path.join(ROOT, "plans")
PROBE = os.path.join(HERE, "kamrules_probe.py")
CASE_NAMES = ("acceptance", "acceptance-scenario-a", "example")  # first found is used
ID_COLUMNS = ("team", "territory", "scope")  # besides every column named *_id
GENERATOR = "plans-data-1"  # bump when the replication changes (cached folders regenerate)
LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')
POOLED = re.compile(r"\bshare\s*\(")
STATUS = {"timeout": "killed at the timeout (partial figures)",
          "memory": "killed at the memory limit (partial figures)"}


# ------------------------------------------------------------------------ the data
def case_folder(plan: str) -> str | None:
    """The acceptance (or example) case folder of a plan file, None if it has none."""
    stem = os.path.splitext(os.path.basename(plan))[0]
    for name in CASE_NAMES:
        folder = os.path.join(PLANS, "tests", stem, name)
        if os.path.isdir(folder):
            return folder
    return None


def literals(plan: str) -> set:
    """The text literals of a plan file (values the replication never renames)."""
    with open(plan, encoding="utf-8") as fh:
        return set(LITERAL.findall(fh.read()))


def pools_population(plan: str) -> bool:
    """Whether a payee's amount depends on the whole population (`share(...)`), so that
    the replicated data does not pay the case's total times the copies."""
    with open(plan, encoding="utf-8") as fh:
        return bool(POOLED.search(fh.read()))


def is_id_column(name: str) -> bool:
    return name.endswith("_id") or name in ID_COLUMNS


def _read(path: str) -> tuple[list, list]:
    with open(path, encoding="utf-8", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    return header, rows


def base_payees(folder: str) -> int:
    """Payees of a case (rows of people.csv, the payees table of every plan here)."""
    return len(_read(os.path.join(folder, "people.csv"))[1])


def replicate(src: str, dst: str, copies: int, keep: set = frozenset()) -> None:
    """Write `copies` renamed copies of every input CSV of case folder `src` into `dst`
    (see the module docstring); expected.csv and case.toml are left out."""
    os.makedirs(dst, exist_ok=True)
    for name in sorted(os.listdir(src)):
        if not name.endswith(".csv") or name == "expected.csv":
            continue
        header, rows = _read(os.path.join(src, name))
        ids = [i for i, c in enumerate(header) if is_id_column(c)]
        with open(os.path.join(dst, name), "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(header)
            for row in rows:
                renamed = [i for i in ids if row[i] != "" and row[i] not in keep]
                if not renamed:
                    w.writerow(row)
                    continue
                for k in range(copies):
                    suffix = f"-r{k}"
                    out = list(row)
                    for i in renamed:
                        out[i] = row[i] + suffix
                    w.writerow(out)


def plan_data(plan: str, payees: int, root: str) -> tuple[str, int, int]:
    """(folder, copies, payees) of a plan's data at `payees` payees, generated on first use."""
    src = case_folder(plan)
    base = base_payees(src)
    copies = max(1, math.ceil(payees / base))
    stem = os.path.splitext(os.path.basename(plan))[0]
    folder = os.path.join(root, f"{stem}-{payees}")
    marker = os.path.join(folder, ".done")
    if not (os.path.exists(marker) and open(marker).read() == GENERATOR):
        shutil.rmtree(folder, ignore_errors=True)
        replicate(src, folder, copies, literals(plan))
        with open(marker, "w") as fh:
            fh.write(GENERATOR)
    return folder, copies, copies * base


# ------------------------------------------------------------------------ one run
def _tree_rss_kb(pid: int) -> int:
    """VmRSS (kB) of a process and its descendants, from /proc (0 once it is gone)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                total += next((int(line.split()[1]) for line in fh if line.startswith("VmRSS:")), 0)
            with open(f"/proc/{p}/task/{p}/children") as fh:
                todo += [int(c) for c in fh.read().split()]
        except (OSError, ValueError):
            pass
    return total


def run_child(argv: list, timeout: float, mem_limit_mb: float, env: dict | None = None,
              cwd: str | None = None, log: str | None = None) -> dict:
    """Run argv in its own session: {"status": ok|error|timeout|memory, "exit", "wall",
    "cpu", "peak_rss_mb"}; past `timeout` seconds or `mem_limit_mb` its process group is
    killed and the figures are what it had used by then."""
    import subprocess
    out = open(log, "wb") if log else subprocess.DEVNULL
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                            env=env, cwd=cwd, start_new_session=True)
    if log:
        out.close()
    status, seen_kb, polls = None, 0, 0
    while True:
        pid, wstatus, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        elapsed = time.perf_counter() - t0
        polls += 1
        if polls % 4 == 0:
            seen_kb = max(seen_kb, _tree_rss_kb(proc.pid))
        if elapsed > timeout or seen_kb > mem_limit_mb * 1024:
            status = "timeout" if elapsed > timeout else "memory"
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            pid, wstatus, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.025)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(wstatus)  # reaped here, not by Popen
    code = proc.returncode
    if status is None:
        status = "ok" if code == 0 else "error"
    peak = max(usage.ru_maxrss, seen_kb) / 1024
    return {"status": status, "exit": code, "wall": round(wall, 3),
            "cpu": round(usage.ru_utime + usage.ru_stime, 3), "peak_rss_mb": round(peak, 1)}


def run_plan(plan: str, folder: str, timeout: float, mem_limit_mb: float,
             extra: tuple = ()) -> dict:
    """One `kamrules run` of a plan on a folder, measured (run_child's dict), plus the
    engine that ran it, its payout rows and the payout CSV text (`csv`)."""
    with tempfile.TemporaryDirectory(prefix="kamrules-plans-") as tmp:
        out, note, log = (os.path.join(tmp, n) for n in ("out.csv", "engine.json", "log.txt"))
        env = dict(os.environ, PYTHONPATH=ROOT, KAMRULES_BENCH_ENGINE=note)
        res = run_child([sys.executable, PROBE, "run", plan, "--data", folder, "-o", out, *extra],
                        timeout, mem_limit_mb, env=env, cwd=tmp, log=log)
        engine = {"engine": None, "why": None}
        if os.path.exists(note):
            with open(note) as fh:
                engine = json.load(fh)
        text = open(out, encoding="utf-8").read() if os.path.exists(out) else ""
        res.update(engine=engine["engine"], why=engine["why"], csv=text,
                   rows=max(text.count("\n") - 1, 0))
        if res["status"] == "error":
            res["log"] = open(log, encoding="utf-8", errors="replace").read()[-600:]
    return res


# ------------------------------------------------------------------------ the report
def plan_files(patterns: str) -> list:
    """The plan files of plans/ whose name matches one of the comma-separated globs."""
    globs = patterns.split(",")
    return sorted(os.path.join(PLANS, f) for f in os.listdir(PLANS)
                  if f.endswith(".kam") and any(fnmatch.fnmatch(f, g) for g in globs))


def table(results: list) -> str:
    """The results as a Markdown table."""
    lines = ["| plan | engine (why not columnar) | payees | wall s | CPU s | peak RSS MB | status |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        engine = r.get("engine") or "-"
        if engine == "interpreter" and r.get("why"):  # "Unsupported: paid() (line 47)"
            why = re.sub(r" \(line \d+\)$", "", r["why"].split(": ", 1)[-1])
            engine += f" ({why})"
        lines.append(f"| {r['plan']} | {engine} | {r.get('payees', '-'):,} | "
                     f"{r.get('wall', '-')} | {r.get('cpu', '-')} | {r.get('peak_rss_mb', '-')} | "
                     f"{STATUS.get(r['status'], r['status'])} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--payees", type=int, default=10_000)
    ap.add_argument("--plans", default="*",
                    help="globs on the plan file names, comma-separated (default: all)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per plan")
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds for all the plans; the plans left then are not run")
    ap.add_argument("--mem-limit", type=float, default=8000.0,
                    help="MB the processes of one run may hold together before it is killed")
    ap.add_argument("--data-root", help="where generated data goes (default bench/.data/plans)")
    ap.add_argument("--compare-interpreter", action="store_true",
                    help="also run `--engine interpreter --jobs 1` and check the same CSV bytes")
    ap.add_argument("--keep-output", metavar="DIR",
                    help="write each plan's payout CSV to DIR/<plan>.csv")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    root = args.data_root or os.path.join(HERE, ".data", "plans")
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    start = time.perf_counter()
    results, failed = [], False
    for plan in plan_files(args.plans):
        name = os.path.basename(plan)
        r = {"plan": name}
        results.append(r)
        if case_folder(plan) is None:
            r["status"] = "no case"
            continue
        left = None if args.budget is None else args.budget - (time.perf_counter() - start)
        if left is not None and left <= 0:
            r["status"] = "over budget (not run)"
            continue
        t = time.perf_counter()
        folder, copies, payees = plan_data(plan, args.payees, root)
        r.update(copies=copies, payees=payees, generate_seconds=round(time.perf_counter() - t, 2))
        timeout = args.timeout if left is None else max(1.0, min(args.timeout, left))
        run = run_plan(plan, folder, timeout, args.mem_limit)
        text = run.pop("csv")
        r.update(run, folder=folder)
        if args.keep_output:
            os.makedirs(args.keep_output, exist_ok=True)
            with open(os.path.join(args.keep_output, name[:-4] + ".csv"), "w",
                      encoding="utf-8", newline="") as fh:
                fh.write(text)
        if args.compare_interpreter and run["status"] == "ok":
            ref = run_plan(plan, folder, timeout, args.mem_limit,
                           ("--engine", "interpreter", "--jobs", "1"))
            r["same_as_interpreter"] = ref["status"] == "ok" and ref.pop("csv") == text
            failed |= not r["same_as_interpreter"]
        failed |= run["status"] == "error"
        log(f"{name}: {r['status']}, {r.get('engine')}, {payees} payees, wall {r['wall']} s, "
            f"CPU {r['cpu']} s, peak {r['peak_rss_mb']} MB")
    if args.json:
        print(json.dumps({"payees": args.payees, "timeout": args.timeout, "budget": args.budget,
                          "seconds": round(time.perf_counter() - start, 1), "plans": results},
                         indent=2))
    else:
        print(table(results))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
