"""`hold when EXPR` on a component, on frames: what a held component pays (the rule is that
of the interpreter, kamrules/backends/interp/holds.py).

Per payee and fiscal year, in period order, a period releases (pays) when EXPR is false or
it is the year's last period; the periods from one release to the next form a segment, and
the releasing period pays the segment's running sum of computed amounts (what was held
plus its own); a held period pays 0.00 where the component applies. `hold_periods` adds to
the frame the earlier periods of each fiscal year (what they hold is paid later), which
are computed but not paid out.
"""
from __future__ import annotations

import polars as pl

from kamrules.core.numeric import Fallback
from kamrules.backends.polars.values import DEC, Col, Ctx, Unsupported, dec, truth


def held(plan) -> list:
    return [n for n in plan.components if getattr(plan.definitions[n].node, "hold", None) is not None]


def hold_periods(plan, calc: list) -> list:
    """The calculation periods from each fiscal year's start to the periods of `calc` that
    `calc` lacks (none for a plan without holds)."""
    if not held(plan):
        return []
    have, extra = set(calc), []
    for p in calc:
        for s in p.containing("year").subperiods(plan.period_kind):
            if s >= p:
                break
            if s not in have:
                have.add(s)
                extra.append(s)
    return extra


def apply_holds(fr) -> None:
    """Replace x.<c> (the row exists) and d.<c> (its amount) of every held component by
    what is paid, e.<c> by where a value needed is missing; Fallback when a component or
    its hold cannot be computed in a period whose amount is carried (the interpreter says
    why)."""
    plan = fr.plan
    year = {k: p.containing("year") for k, p in fr.by_key.items()}
    last = {k: p.end == year[k].end for k, p in fr.by_key.items()}
    fr.add("__year", pl.col("__pkey").replace_strict({k: y.start for k, y in year.items()}, return_dtype=pl.Date))
    fr.add("__ylast", pl.col("__pkey").replace_strict(last, return_dtype=pl.Boolean))
    for name in held(plan):
        cond = plan.definitions[name].node.hold
        fr.current = name
        h = fr.ev(cond, Ctx())
        if not isinstance(h, Col):
            raise Unsupported("a `hold when` that is not a value", cond)
        x, a = pl.col(f"x.{name}"), pl.when(pl.col(f"x.{name}")).then(pl.col(f"d.{name}")).otherwise(dec(0))
        fr.add("__hrel", ~truth(h) | pl.col("__ylast"))
        fr.add("__hrel!", h.err.fill_null(False) if h.err is not None else pl.lit(False))
        fr.add("__hseg", pl.col("__hrel").cast(pl.Int64).cum_sum().over("__payee", "__year")
               - pl.col("__hrel").cast(pl.Int64))
        fr.add("__hsum", a.cum_sum().over("__payee", "__year", "__hseg").cast(DEC))
        carry = pl.col("__hsum") - a
        active = x | (carry != 0)
        err = pl.col(f"e.{name}") | (active & pl.col("__hrel!"))
        # a carried amount that cannot be computed: the interpreter reports it
        if fr.df.select((pl.col(f"e.{name}") | (active & pl.col("__hrel!"))).any()).item():
            raise Fallback(f"a `hold when` of {name} that cannot be computed where it is needed")
        fr.add(f"e.{name}", err)
        fr.add(f"d.{name}", pl.when(pl.col("__hrel")).then(pl.col("__hsum")).otherwise(dec(0)).cast(DEC))
        fr.add(f"x.{name}", x | (pl.col("__hrel") & (carry != 0)))
