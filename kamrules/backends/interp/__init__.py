"""The engine: evaluates a checked plan on loaded tables, payee by payee and period by period.

`select` is the aggregation layer (rows per payee-period through indexes), `evaluator` the
expression interpreter with its trace, `run` the loop over payees and periods with the
ledger of earlier payments. The engine never imports the parser.
"""
from kamrules.backends.interp.run import evaluate, plan_periods

__all__ = ["evaluate", "plan_periods"]
