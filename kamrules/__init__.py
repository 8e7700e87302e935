"""kamrules: sales variable-compensation plans as code.

The facade: `load_plan` (parse + check), `load_data`, `run` (payouts with traces).
Pipeline (one package per stage, imports point down this list only):
  diagnostics -> core -> files -> syntax -> check -> trace -> data -> backends (interp, polars)
  -> report -> run -> cli.
"""
from __future__ import annotations

from kamrules.check.checker import check, check_file
from kamrules.data.strict import load_data
from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.backends.interp import evaluate, plan_periods
from kamrules.syntax.parser import parse, parse_file

from kamrules.version import __version__


def load_plan(path: str):
    """Parse and check a plan file; raise KamError with every check error."""
    return check_file(path)


def run(plan_path: str, data_dir: str, period: str | None = None, trace: bool = True):
    """Payouts of a plan on a folder of CSV exports (components only, no totals)."""
    plan = load_plan(plan_path)
    tables = load_data(plan, data_dir)
    periods = plan_periods(plan, tables, period)
    return evaluate(plan, tables, periods, trace=trace)


__all__ = ["Diagnostic", "KamError", "check", "evaluate", "load_data", "load_plan", "parse",
           "parse_file", "plan_periods", "run"]
