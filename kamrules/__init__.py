"""kamrules: sales variable-compensation plans as code.

The facade: `load_plan` (parse + check), `load_data`, `run` (payouts with traces).
Pipeline (one package per stage, imports point down this list only):
  diagnostics -> core -> files -> syntax -> check -> trace -> data -> backends (interp, polars)
  -> report -> run -> cli.
The facade's names are imported on first use (PEP 562), so that `python -m kamrules --help`,
which imports this package first, does not load the parser, the checker or the engines.
"""
from __future__ import annotations

import importlib

from kamrules.version import __version__

_LAZY = {
    "check": "kamrules.check.checker", "check_file": "kamrules.check.checker",
    "load_data": "kamrules.data.strict",
    "Diagnostic": "kamrules.diagnostics.diagnostic", "KamError": "kamrules.diagnostics.diagnostic",
    "evaluate": "kamrules.backends.interp", "plan_periods": "kamrules.backends.interp",
    "parse": "kamrules.syntax.parser", "parse_file": "kamrules.syntax.parser",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kamrules' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def load_plan(path: str):
    """Parse and check a plan file; raise KamError with every check error."""
    from kamrules.check.checker import check_file

    return check_file(path)


def run(plan_path: str, data_dir: str, period: str | None = None, trace: bool = True):
    """Payouts of a plan on a folder of CSV exports (components only, no totals)."""
    from kamrules.backends.interp import evaluate, plan_periods
    from kamrules.data.strict import load_data

    plan = load_plan(plan_path)
    tables = load_data(plan, data_dir)
    periods = plan_periods(plan, tables, period)
    return evaluate(plan, tables, periods, trace=trace)


__all__ = ["Diagnostic", "KamError", "check", "evaluate", "load_data", "load_plan", "parse",
           "parse_file", "plan_periods", "run"]
