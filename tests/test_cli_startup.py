"""A CLI that starts fast: each command imports what it needs, nothing more.

Timing is not asserted (machines differ); what is asserted is the cause of a slow start: which
modules a real `python -X importtime -m kamrules ...` process loads. `--help` must load no
command module and neither lark nor polars nor pygments; `check PLAN` must not load polars, the
data layer or the engines.
"""
from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys

from conftest import PLANS, ROOT, run_cli

from kamrules.cli import COMMANDS
from kamrules.cli.main import build_parser, command_of


def _imported(*args) -> set[str]:
    """The modules a fresh `python -X importtime -m kamrules ARGS` imports."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "kamrules", *args], cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True)
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    return proc, names


def _top(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


def test_help_imports_no_command_and_no_heavy_library():
    proc, names = _imported("--help")
    assert proc.returncode == 0 and "check and lint plans" in proc.stdout
    assert "argparse" in names  # the probe does see imports
    assert not {"lark", "polars", "pygments", "attrs", "attr"} & _top(names), sorted(names)
    assert not {n for n in names if n.startswith("kamrules.cli.") and n != "kamrules.cli.main"}


def test_check_imports_neither_polars_nor_the_engines():
    proc, names = _imported("check", str(PLANS / "kam-capped.kam"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "kamrules.check.checker" in names and "lark" in _top(names)  # it did check the plan
    assert not {"xml", "http"} & _top(names)  # urllib.request, only for a junit report
    heavy = {n for n in names if n.split(".")[0] == "polars" or n.startswith(
        ("kamrules.backends", "kamrules.data", "kamrules.run", "kamrules.report.statement"))}
    assert not heavy, sorted(heavy)


def test_run_imports_neither_numpy_nor_urllib_request():
    # polars imports numpy when it is handed a Decimal object (0.1 s of CPU): the columnar
    # engine builds its decimal literals from their digits (backends/polars/values.dec)
    proc, names = _imported("run", str(PLANS / "abtasty-kam.kam"), "--data",
                            str(ROOT / "examples" / "01-abtasty-nrr-upsell"), "-q")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "kamrules.backends.polars.engine" in names and "polars" in _top(names)  # it ran columnar
    assert not {"numpy", "http", "xml"} & _top(names) and "urllib.request" not in names, sorted(_top(names))


def test_imports_run_without_the_cyclic_collector_and_only_a_process_freezes_them():
    import gc
    # a call in a process (the tests, an embedding program): its garbage is not frozen
    frozen = gc.get_freeze_count()
    assert run_cli("check", str(PLANS / "kam-capped.kam")).returncode == 0
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    # `python -m kamrules check` (main() reads sys.argv): the modules imported are frozen, and
    # the collector is on again for the command, also after a usage error
    code = ("import gc, sys\nfrom kamrules.cli.main import main\n"
            "sys.argv = ['kamrules', 'check', sys.argv[1]]\nstatus = main()\n"
            "print(status, gc.isenabled(), gc.get_freeze_count() > 1000)\n"
            "sys.argv = ['kamrules', 'chekc']\ntry:\n    main()\nexcept SystemExit as e:\n"
            "    print(e.code, gc.isenabled())\n")
    proc = subprocess.run([sys.executable, "-c", code, str(PLANS / "kam-capped.kam")], cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True)
    assert proc.stdout.split("\n")[-3:] == ["0 True True", "2 True", ""], proc.stdout + proc.stderr


def test_each_command_registers_the_help_of_the_table():
    for name, help_line in COMMANDS.items():
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        importlib.import_module(f"kamrules.cli.{name}").register(sub)
        [action] = sub._choices_actions
        assert (action.dest, action.help) == (name, help_line)


def test_the_command_named_is_found_and_only_it_is_built():
    assert command_of(["--version"]) is None
    assert command_of(["check", "--strict", "a.kam"]) == "check"
    assert command_of(["chekc"]) is None
    parser = build_parser("fmt", full=False)
    assert parser.parse_args(["fmt", "--check", "x.kam"]).func.__module__ == "kamrules.cli.fmt"
    # a stub knows no option of its command: only the command named gets its arguments
    assert run_cli("chekc").returncode == 2
    result = run_cli("fmt", "--bogus", "x.kam")
    assert result.returncode == 2 and "unrecognized arguments: --bogus" in result.stderr


def test_a_batch_command_keeps_freed_memory_before_polars_loads():
    """cli.main.keep_freed_memory sets polars' allocator (jemalloc reads $_RJEM_MALLOC_CONF at
    its first allocation) only when polars is not loaded yet, not for a long-lived command,
    and never over the user's own setting."""
    from kamrules.cli.main import ALLOCATOR, keep_freed_memory
    code = ("import os, sys\nfrom kamrules.cli.main import keep_freed_memory as k\n"
            "print(k('serve'), os.environ.get('_RJEM_MALLOC_CONF'), k('run'), os.environ.get('_RJEM_MALLOC_CONF'),"
            " k('run'), 'polars' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=dict(env, PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True)
    assert proc.stdout.split() == ["False", "None", "True", ALLOCATOR, "False", "False"], proc.stderr
    mine = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env=dict(env, PYTHONPATH=str(ROOT), _RJEM_MALLOC_CONF="narenas:1"))
    assert mine.stdout.split() == ["False", "narenas:1", "False", "narenas:1", "False", "False"], mine.stderr
    import polars  # noqa: F401  (this process: loaded, too late to set)
    before = os.environ.get("_RJEM_MALLOC_CONF")
    assert keep_freed_memory("run") is False and os.environ.get("_RJEM_MALLOC_CONF") == before
