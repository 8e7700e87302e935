"""`python bench/kamrules_probe.py run PLAN --data DIR -o OUT`: `python -m kamrules` with
the same arguments, which also writes which engine produced the output into the file
$KAMRULES_BENCH_ENGINE names, as JSON {"engine": "columnar" | "interpreter" | "unknown",
"why": the reason the columnar engine handed over, or null}. The file is rewritten as the
choice is made (columnar while the columnar engine runs, interpreter once it hands over), so
a run killed midway still says which engine it was in.

kamrules says nothing about its engine choice on its own (a `--engine columnar` run that
meets data the columnar engine hands over still runs the interpreter), so the probe wraps
the two functions that decide it, without changing what they do:
kamrules.commands.run._run_columnar (None when the interpreter must run) and
kamrules.columnar.run.columnar_payouts (raises the reason). Should kamrules move them, the
engine is reported "unknown" and the run is the same.
"""
from __future__ import annotations

import json
import os
import sys


def _write(note: dict) -> None:
    path = os.environ.get("KAMRULES_BENCH_ENGINE")
    if path:
        with open(path + ".tmp", "w", encoding="utf-8") as fh:
            json.dump(note, fh)
        os.replace(path + ".tmp", path)


def main() -> int:
    note = {"engine": "interpreter", "why": None}
    try:
        from kamrules.columnar import run as columnar_run
        from kamrules.commands import run as run_command
        real_run, real_payouts = run_command._run_columnar, columnar_run.columnar_payouts
    except (ImportError, AttributeError):
        note["engine"] = "unknown"
    else:
        def payouts(*args, **kwargs):
            _write({"engine": "columnar", "why": None})
            try:
                return real_payouts(*args, **kwargs)
            except Exception as why:  # Unsupported or Fallback: the interpreter runs next
                note["why"] = f"{type(why).__name__}: {why}"
                _write(note)
                raise

        def run_columnar(args):
            done = real_run(args)
            if done is not None:
                note["engine"] = "columnar"
            return done
        columnar_run.columnar_payouts = payouts
        run_command._run_columnar = run_columnar
    from kamrules.cli import main as cli_main
    try:
        return cli_main(sys.argv[1:])
    finally:
        _write(note)


if __name__ == "__main__":
    sys.exit(main())
