"""`kamrules simulate PLAN... --data DIR...`: every plan on every data scenario, side by side.

Per plan x scenario: total fixed (sum of `annual_fixed` of the payees when the payees input
declares it, prorated to the months simulated), total variable, fixed + variable, the
revenue measure (`--revenue LET`: a let of the plans, summed over payees and periods) and
the cost ratio revenue / (fixed + variable); then the variable per payee. `--format csv`
prints the payout rows with components named `component@tag` (tag = the plan's file stem
minus the prefix the plans share), as in examples/04-uncapped-scenarios/*/expected.csv.
"""
from __future__ import annotations

import decimal
import os
from decimal import Decimal

from kamrules.diagnostics.diagnostic import Diagnostic, KamError, did_you_mean
from kamrules.core.currencies import is_per_payee
from kamrules.backends.interp.arith import Problem, fail
from kamrules.backends.interp.evaluator import Evaluator
from kamrules.core.numeric import CONTEXT, Money
from kamrules.report import compare
from kamrules.files.outputs import write_text
from kamrules.run.session import Session, add_engine_arg
from kamrules.cli.common import guard_outputs

FIXED_COLUMN = "annual_fixed"


def _load(path: str, revenue: str | None):
    checked = Session(path).check()
    if revenue is not None:
        d = checked.definitions.get(revenue)
        lets = [n for n, x in checked.definitions.items()  # the amounts --revenue can name
                if x.kind in ("let", "param") and getattr(x.type, "kind", None) in ("money", "number", "count")]
        if d is None or d.kind not in ("let", "param"):
            raise KamError([Diagnostic("KR101", f"--revenue {revenue}: {path} has no let `{revenue}`",
                                       hint=did_you_mean(revenue, lets) or "lets: " + ", ".join(lets[:12]))])
        if d.type.kind not in ("money", "number", "count"):
            raise KamError([Diagnostic("KR201", f"--revenue {revenue} is a {d.type}, not an amount",
                                       d.span, "name a let that is Money (e.g. the expansion booked)")])
    return checked


def fixed_cost(plan, session, periods) -> Decimal | None:
    spec = plan.inputs[plan.payees_table]
    if FIXED_COLUMN not in spec.columns:
        return None
    months = sum(p.months for p in periods)
    total = Decimal(0)
    for v in session.column(plan.payees_table, FIXED_COLUMN):
        if v is not None:
            total += v.amount if isinstance(v, Money) else v
    with decimal.localcontext(CONTEXT):
        return total * months / 12


def revenue_measure(plan, tables, periods, name: str) -> Decimal:
    """Sum of a let over every eligible payee and calculation period (read-only engine use)."""
    total = Decimal(0)
    with decimal.localcontext(CONTEXT):
        ev = Evaluator(plan, tables, trace=False)
        for payee in sorted(ev.payees, key=lambda r: r.id):
            for period in periods:
                for calc in period.subperiods(plan.period_kind):
                    c = ev.context(payee, calc)
                    try:
                        if not ev.is_eligible(c):
                            continue
                        v = ev.definition(c, name)
                    except Problem as p:
                        fail(p, c)
                    if v is not None:
                        total += v.amount if isinstance(v, Money) else v
    return total


def scenario_names(folders: list[str]) -> list[str]:
    names = [os.path.basename(os.path.normpath(f)) for f in folders]
    return names if len(set(names)) == len(names) else [os.path.normpath(f) for f in folders]


def cmd_simulate(args) -> int:
    plans = [_load(p, args.revenue) for p in args.plans]
    guard_outputs(args, list(zip(args.plans, plans)), args.data)
    tags = compare.plan_tags(args.plans)
    results = []
    for folder, scenario in zip(args.data, scenario_names(args.data)):
        first = None
        for path, plan, tag in zip(args.plans, plans, tags):
            session = Session(path, folder, args.period, args.engine, plan=plan, share=first)
            first = first or session
            run = session.execute()
            payouts, periods = run.payouts, run.periods
            if is_per_payee(plan.currency):  # each payee's currency: one result (total) per currency,
                for cur in sorted({p.currency for p in payouts}):  # no fixed cost nor revenue ratio
                    results.append(compare.SimResult(scenario, tag, path, cur, tuple(
                        p for p in payouts if p.currency == cur), None, None))
                continue
            totals = None
            if getattr(run, "table", None) is not None:  # columnar: every payout in the plan's currency
                from kamrules.report.diff_frames import payee_totals
                totals = payee_totals(plan, run)  # the Payout objects are built only for csv/json
            else:
                currencies = {p.currency for p in payouts} | {plan.currency}
                if len(currencies) > 1:
                    raise KamError([Diagnostic("KR202", f"{path} pays in {', '.join(sorted(currencies))} on "
                                               f"{scenario}: simulate adds amounts of one currency only")])
                payouts = tuple(payouts)
            revenue = revenue_measure(plan, session.load(), periods, args.revenue) if args.revenue else None
            results.append(compare.SimResult(scenario, tag, path, plan.currency, payouts,
                                             fixed_cost(plan, session, periods), revenue, totals))
    if args.format == "csv":
        text = compare.simulate_csv(results)
    elif args.format == "json":
        text = compare.simulate_json(results)
    else:
        text = compare.simulate_table(results)
    write_text(text, args.output)
    return 0


def register(sub):
    from kamrules.cli import examples

    s = sub.add_parser("simulate", help="several plans on several data scenarios, side by side",
                     **examples(
        "kamrules simulate plans/kam-capped.kam plans/kam-uncapped.kam --data examples/04-uncapped-scenarios/scenario-b --revenue expansion",
        "kamrules simulate plans/kam-uncapped.kam --data examples/04-uncapped-scenarios/scenario-b --format csv -o scenarios.csv"))
    s.add_argument("plans", nargs="+", metavar="PLAN")
    s.add_argument("--data", nargs="+", action="extend", required=True, metavar="DIR", help="one folder of CSV exports per scenario")
    s.add_argument("--revenue", metavar="LET", help="the let that measures revenue (e.g. expansion), "
                   "summed over payees, for the cost ratio revenue / (fixed + variable)")
    s.add_argument("--period", action="append",
                   help="simulate this period only (2025-Q1, 2025); repeatable")
    s.add_argument("--format", choices=("table", "csv", "json"), default="table")
    s.add_argument("-o", "--output", help="write to this file instead of stdout")
    add_engine_arg(s)
    s.set_defaults(func=cmd_simulate)
