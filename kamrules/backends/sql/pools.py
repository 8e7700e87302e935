"""Values over the payees of a pool in a period (the frame's rows of that period and team):
team_total() and share(), as window functions over columns computed first.

team_total(x) / team_total(x, by EXPR): the sum of x over the eligible payees of the payee's
team (payee.team, or the `by` value: an empty one is a pool too) in the period.

share(total, weight) / share(..., by EXPR): core.numeric.allocate per period and pool. The
active members are the eligible payees whose weight is present and > 0; with S the sum of
their weights, each one's exact part total x w / S is floored to the cent (as the
interpreter does: exactly when it terminates within 24 places, else after snapping it to 16,
exact.round_ratio); the cents left over go one each to the largest remainders (snapped to 16
places), ties to the lowest payee id (row_number() over the pool). Doubt, where the run goes
to the interpreter: a part terminating with 17 to 24 places (the interpreter sorts it on its
exact remainder), totals not the same for every member (KR416), an empty or failing value.
A weight that is itself an unrounded quotient is refused: the interpreter sums such weights
at 80 digits, which SQL does not reproduce exactly.
"""
from __future__ import annotations

from decimal import Decimal

from kamrules.backends.sql import ratio
from kamrules.backends.sql.exact import GUARD, cast, ints, round_exact, round_ratio, snapped_units
from kamrules.backends.sql.values import NUMERIC, Refused, Val, any_err, q

CENT = Decimal("0.01")
DISTINCT_DENOMINATORS = 8  # a pool's quotient weights with more distinct denominators: the interpreter


def _pool(tr, node, ctx) -> tuple[str, str | None]:
    """(SQL of the window's partition, the error of the `by` value: every eligible payee's
    pool is computed in the period, so any failing one stops the run)."""
    if node.by is None:
        return "f.__pi", None
    b = tr.loose(node.by, ctx)
    if b.ratio is not None:
        raise Refused(f"{node.func}() by a quotient", node.by)
    b = tr.column_of(b, b.kind)
    err = None
    if b.err:
        err = f"bool_or({tr.elig} AND coalesce({b.err}, FALSE)) OVER (PARTITION BY f.__pi)"
    return f"f.__pi, {b.sql}", err


def _frame_level(tr, node, ctx):
    if ctx.rows or tr.elig is None:
        raise Refused(f"{node.func}() inside a row or the eligibility", node)


def team_total(tr, node, ctx) -> Val:
    _frame_level(tr, node, ctx)
    v = tr.value(node.args[0], ctx)
    if v.ratio is not None or v.kind not in NUMERIC:
        raise Refused("team_total() of something other than an exact amount", node)
    if node.by is None:
        if "team" not in tr.plan.inputs[tr.plan.payees_table].columns:
            raise Refused("team_total() without a payee column `team`", node)
        part, by_err = f"f.__pi, f.{q('payee.team')}", None
    else:
        part, by_err = _pool(tr, node, ctx)
    kind = node.type.kind if node.type else v.kind
    member = tr.column_of(Val(f"CASE WHEN {tr.elig} THEN {cast(v.sql, v.scale)} END", v.kind, v.scale,
                              f"{tr.elig} AND (({v.sql}) IS NULL OR coalesce({v.err or 'FALSE'}, FALSE))"), v.kind)
    window = f"OVER (PARTITION BY {part})"
    err = any_err(f"bool_or({member.err}) {window}", by_err)
    return tr.column_of(Val(cast(f"coalesce(sum({member.sql}) {window}, 0)", v.scale), kind, v.scale, err), kind)


def share(tr, node, ctx) -> Val:
    _frame_level(tr, node, ctx)
    t = tr.value(node.args[0], ctx)
    w = tr.loose(node.args[1], ctx)
    if t.ratio is not None or t.kind != "money":
        raise Refused("share() of a total that is not an exact amount", node)
    if w.kind not in NUMERIC:
        raise Refused("share() by a weight that is not a number", node.args[1])
    part, by_err = _pool(tr, node, ctx)
    window = f"OVER (PARTITION BY {part})"
    el = tr.elig
    # the members' weights (NULL: no part) and totals, their errors
    if w.ratio is not None:  # a quotient: integer weights with the same shares (rational_weights)
        w = rational_weights(tr, w, part, window, el)
    wt = tr.column_of(Val(f"CASE WHEN {el} AND ({w.sql}) > 0 THEN {cast(w.sql, w.scale)} END", w.kind, w.scale,
                          f"{el} AND coalesce({w.err or 'FALSE'}, FALSE)"), w.kind)
    tt = tr.column_of(t, "money")
    mine = f"CASE WHEN {el} THEN {tt.sql} END"
    one_total = (f"(min({mine}) {window} <> max({mine}) {window}) OR ({tt.sql} <> min({mine}) {window}) "
                 f"OR bool_or({el} AND ({tt.sql} IS NULL OR coalesce({tt.err or 'FALSE'}, FALSE))) {window}")
    total_w = tr.column_of(Val(cast(f"sum({wt.sql}) {window}", w.scale), w.kind, w.scale,
                               any_err(f"bool_or({wt.err}) {window}", one_total, by_err)), w.kind)
    n = ratio.mul(tt, wt)  # the part total x w / S
    d = total_w
    if n.scale > 24:
        raise Refused(f"share() with a total x weight of {n.scale} decimal places (more than 24)", node)
    pair = Val("NULL", "money", 0, None, (n, d))
    snapped = tr.column_of(Val(f"CASE WHEN {wt.sql} IS NOT NULL THEN {snapped_units(n.sql, n.scale, d.sql, d.scale)} END",
                               "units", 0, f"{wt.sql} IS NOT NULL AND {ratio.doubt_places(pair, GUARD)}"), "units")
    fl, _ = round_ratio(n.sql, n.scale, d.sql, d.scale, CENT, "floor", f"CAST({snapped.sql} AS HUGEINT)")
    floor = tr.column_of(Val(f"CASE WHEN {wt.sql} IS NOT NULL THEN {fl} END", "money", 2, snapped.err), "money")
    # the remainder snapped to 16 places, in 10^-16 units: the order of the leftover cents
    key = f"CAST({snapped.sql} AS HUGEINT) - {ints(floor.sql, 2)} * {10 ** (GUARD - 2)}"
    ls = max(tt.scale, 2)
    left_sql, _ = round_exact(cast(f"{cast(tt.sql, ls)} - coalesce(sum({floor.sql}) {window}, 0)", ls), ls, CENT, "half_even")
    rank = tr.column_of(Val(f"CASE WHEN {wt.sql} IS NOT NULL AND row_number() OVER (PARTITION BY {part} ORDER BY "
                            f"({wt.sql} IS NULL), {key} DESC, f.__payee) <= {ints(left_sql, 2)} THEN 1 ELSE 0 END",
                            "count", 0), "count")
    amount = f"CASE WHEN {wt.sql} IS NULL THEN {cast('0', 2)} ELSE {floor.sql} + {cast('0.01', 2)} * {rank.sql} END"
    return Val(cast(amount, 2), "money", 2, any_err(tt.err, total_w.err, floor.err))


def rational_weights(tr, w: Val, part: str, window: str, el: str) -> Val:
    """Integer weights M_i proportional, per pool, to the quotient weights w_i = n_i / d_i:
    with N_i / D_i the quotient in integer units (D_i > 0), P the product of the pool's
    distinct D (at most DISTINCT_DENOMINATORS of them), M_i = N_i x P / D_i, so that
    T x M_i / sum(M) is exactly T x w_i / sum(w). An integer overflow (DuckDB stops on it)
    or more distinct denominators hand the run to the interpreter, as does a weight that is
    exactly 0 when a + or - of a quotient computed it (the interpreter's 80-digit value may
    then be a tiny number, positive or not; a product or a quotient of an exact 0 is 0 to
    it too)."""
    n, d = w.ratio
    num, den = ints(n.sql, n.scale), ints(d.sql, d.scale)
    # the sign on the numerator, a positive denominator; NULL outside the active members
    member = f"{el} AND ({den}) <> 0 AND sign({num}) * sign({den}) > 0"
    wn = tr.column_of(Val(f"CASE WHEN {member} THEN {cast(f'abs({num})', 0)} END", "number", 0), "number")
    wd = tr.column_of(Val(f"CASE WHEN {member} THEN {cast(f'abs({den})', 0)} END", "number", 0), "number")
    rank = tr.column_of(Val(f"CASE WHEN {wd.sql} IS NOT NULL THEN dense_rank() OVER (PARTITION BY {part}, "
                            f"({wd.sql} IS NULL) ORDER BY {wd.sql}) END", "count", 0), "count")
    factors = [f"coalesce(max(CASE WHEN {rank.sql} = {k} THEN {ints(wd.sql, 0)} END) {window}, 1)"
               for k in range(1, DISTINCT_DENOMINATORS + 1)]
    many = f"coalesce(max({rank.sql}) {window}, 0) > {DISTINCT_DENOMINATORS}"
    prod = tr.column_of(Val(cast(" * ".join(factors), 0), "number", 0, many), "number")
    m = f"CASE WHEN {wd.sql} IS NOT NULL THEN {cast(f'{ints(wn.sql, 0)} * kr_fdiv({ints(prod.sql, 0)}, {ints(wd.sql, 0)})', 0)} END"
    zero = f"{el} AND ({num}) = 0" if w.summed else None
    err = any_err(w.err, zero, f"bool_or(coalesce({prod.err}, FALSE)) {window}")
    return tr.column_of(Val(m, "number", 0, err), "number")
