"""The fast loader (kamrules/data/fast.py, load_frames) against its version at a git
revision, in one process, old and new in turn (A B B A ...), CPU seconds of each load
(resource.getrusage: user + system of the whole process, polars' threads included): a
comparison that holds when the shared machine's speed drifts. The frames of both are
checked equal first.

    python bench/fast_loader_ab.py --data bench/.data/M-7 --base 61261ad --rounds 6

Run it with polars' allocator as `kamrules run` sets it (cli/main.py ALLOCATOR: set here
before polars loads, unless $_RJEM_MALLOC_CONF says otherwise).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kamrules.cli.main import ALLOCATOR  # noqa: E402 (imports no polars)

os.environ.setdefault("_RJEM_MALLOC_CONF", ALLOCATOR)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _old_loader(base: str):
    """kamrules/data/fast.py as it was at `base`, as a module of its own."""
    text = subprocess.run(["git", "-C", str(ROOT), "show", f"{base}:kamrules/data/fast.py"],
                          check=True, capture_output=True, text=True).stdout
    folder = Path(tempfile.mkdtemp(prefix="fast-loader-ab-"))
    path = folder / "fast_base.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("kamrules.data.fast_base", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", default=str(ROOT / "bench" / "abtasty-monthly.kam"))
    parser.add_argument("--data", required=True)
    parser.add_argument("--base", default="HEAD")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args(argv)
    from kamrules.data import fast
    from kamrules.run.session import Session
    plan = Session(args.plan, args.data).check()
    old = _old_loader(args.base)
    want, got = old.load_frames(plan, args.data), fast.load_frames(plan, args.data)
    for name in want:
        assert want[name].equals(got[name]), f"the frames of {name} differ"
    del want, got
    seconds = {"base": [], "now": []}
    for i in range(args.rounds):
        order = [("base", old), ("now", fast)]
        for label, module in order if i % 2 == 0 else order[::-1]:
            start = _cpu()
            module.load_frames(plan, args.data)
            seconds[label].append(_cpu() - start)
    for label, values in seconds.items():
        print(f"{label}: CPU median {statistics.median(values):.3f} s (min {min(values):.3f}, max {max(values):.3f})")
    ratio = statistics.median(seconds["now"]) / statistics.median(seconds["base"])
    print(f"now / base: {ratio:.3f} (load average {os.getloadavg()[0]:.1f}, {time.strftime('%H:%M')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
