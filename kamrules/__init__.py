"""kamrules: sales variable-compensation plans as code.

The facade: `load_plan` (parse + check), `load_data`, `run` (payouts with traces).
Pipeline: source -> parser -> checker -> ir -> data -> engine -> trace -> report -> cli.
"""
from __future__ import annotations

from .checker import check
from .data import load_data
from .diagnostics import Diagnostic, KamError
from .engine import evaluate, plan_periods
from .parser import parse, parse_file

__version__ = "0.1.0"


def load_plan(path: str):
    """Parse and check a plan file; raise KamError with every check error."""
    plan, source = parse_file(path)
    checked, diags = check(plan, source)
    errors = [d for d in diags if d.is_error]
    if errors:
        raise KamError(errors)
    return checked


def run(plan_path: str, data_dir: str, period: str | None = None, trace: bool = True):
    """Payouts of a plan on a folder of CSV exports (components only, no totals)."""
    plan = load_plan(plan_path)
    tables = load_data(plan, data_dir)
    periods = plan_periods(plan, tables, period)
    return evaluate(plan, tables, periods, trace=trace)


__all__ = ["Diagnostic", "KamError", "check", "evaluate", "load_data", "load_plan", "parse",
           "parse_file", "plan_periods", "run"]
