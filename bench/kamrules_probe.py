"""`python bench/kamrules_probe.py run PLAN --data DIR -o OUT`: `python -m kamrules` with
the same arguments, which also writes which engine produced the output into the file
$KAMRULES_BENCH_ENGINE names, as JSON {"engine": "columnar" | "interpreter" | "unknown",
"why": the reason the columnar engine handed over, or null}. The file is rewritten as the
choice is made (columnar while the columnar engine runs, interpreter once it hands over), so
a run killed midway still says which engine it was in.

kamrules says nothing about its engine choice on its own (a `--engine columnar` run that
meets data the columnar engine hands over still runs the interpreter), so the probe wraps
the two functions that decide it, without changing what they do:
kamrules.run.session.Session._columnar (None when the interpreter must run; the reason in
`handed_over`). Should kamrules move it, the engine is reported "unknown" and the run is the
same.
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
        from kamrules.run.session import Session
        real_columnar = Session._columnar
    except (ImportError, AttributeError):
        note["engine"] = "unknown"
    else:
        def columnar(self, *args, **kwargs):
            _write({"engine": "columnar", "why": None})
            done = real_columnar(self, *args, **kwargs)
            if done is not None:
                note["engine"] = "columnar"
            else:
                note["why"] = self.handed_over
                _write(note)
            return done
        Session._columnar = columnar
    from kamrules.cli.main import main as cli_main
    try:
        return cli_main(sys.argv[1:])
    finally:
        _write(note)


if __name__ == "__main__":
    sys.exit(main())
