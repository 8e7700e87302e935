"""The team page of a large population (issue 16): at most `limit` rows per period, the
largest totals first (a page of them: `page`, from 1), while the summary, the budget and the
charts still count every payee. A population within the limit gets today's page, row for row.

`build` chooses the way: when the columnar run's payout frame and values are at hand (report/
team_values.gather) and the page is a flat list, the period's figures are summed on the frame
(polars) and Python rows are made only for the rows shown and the payouts of 0.00 (whose
reasons the summary gives): at 100,000 payees x 12 months that is some 2,000 rows a period
instead of 100,000. Otherwise (the interpreter, a reporting tree, a payee the engine handed
to the interpreter, a payment period made of several calculation periods) every row is built
(report/team.py build_team) and the page is then cut (`limit_view`); both ways write the same
page (tests/test_team_scale.py).
"""
from __future__ import annotations

from decimal import Decimal

from kamrules.check.lint import on_target_of
from kamrules.core.currencies import payee_column
from kamrules.core.numeric import Money
from kamrules.report import i18n
from kamrules.report.team import (RowContext, TeamPeriod, TeamView, _why_none, build_team, measures_of,
                                  team_row)

LIMIT = 1000  # rows per period on a page, by default


def build(plan, tables, payouts, periods, team=None, links=None, lang=None, shown=None, values=None,
          frame=None, limit: int | None = LIMIT, page: int = 1) -> TeamView:
    """build_team's page with at most `limit` rows per period (None or 0: every row), page
    `page` of them (1: the largest totals). frame: the columnar run's payout frame."""
    limit = limit or None
    if limit is not None and frame is not None and values is not None:
        tv = _large(plan, tables, frame, periods, team, links, lang, shown, values, limit, page)
        if tv is not None:
            return tv
    tv = build_team(plan, tables, payouts, periods, team, links, lang, shown, values=values)
    return limit_view(tv, limit, page) if limit is not None else tv


def limit_view(tv: TeamView, limit: int, page: int = 1) -> TeamView:
    """The view cut to `limit` rows per period: a flat list sorted by total, largest first, its
    page `page`; a tree down to the deepest level whose payees fit (subtotals kept)."""
    tv.limit = limit
    m = tv.measures[0][0] if tv.measures else None
    for tp in tv.periods:
        if len(tp.rows) <= limit:
            continue
        tp.count = len(tp.rows)
        tp.totals_all = [r.total for r in tp.rows]
        tp.measure_all = [r.measures[m] for r in tp.rows if m is not None and r.measures.get(m) is not None]
        tp.back = sorted((r.payee_id, r.total) for r in tp.rows if r.total < 0)
        if tv.tree:
            tp.depth, tp.lines = _cut_tree(tp.lines, limit)
            continue
        ranked = sorted(tp.rows, key=lambda r: (-r.total, r.payee_id))
        tp.first = _first(len(ranked), limit, page)
        tp.rows = ranked[tp.first:tp.first + limit]
        tp.lines = [("row", r) for r in tp.rows]
    return tv


def _first(count: int, limit: int, page: int) -> int:
    """The rank of the first row of page `page` (1-based; past the last: the last page)."""
    last = max(1, -(-count // limit))
    return (min(max(page, 1), last) - 1) * limit


def _cut_tree(lines: list, limit: int) -> tuple:
    """(depth, the lines down to it): the deepest level whose rows fit in `limit`, with their
    subtotals; when the top level alone does not, its first `limit` rows and their subtotals."""
    depth = lambda x: x[1].depth  # noqa: E731  (a row's, or a subtotal's manager's)
    deepest = max(depth(x) for x in lines)
    for d in range(deepest, -1, -1):
        kept = [x for x in lines if depth(x) <= d]
        if sum(1 for x in kept if x[0] == "row") <= limit:
            return d, kept
    top = [x[1].payee_id for x in lines if x[0] == "row" and depth(x) == 0][:limit]
    return 0, [x for x in lines if depth(x) == 0 and x[1].payee_id in set(top)]


def _large(plan, tables, frame, periods, team, links, lang, shown, values, limit, page) -> TeamView | None:
    """The limited page summed on the payout frame, or None when this way does not apply."""
    import polars as pl
    from kamrules.backends.polars.engine import payouts_list
    from kamrules.report.statement import payee_labels
    from kamrules.report.team import _hierarchy

    if _hierarchy(tables) is not None:
        return None
    on_target, measures = on_target_of(plan), measures_of(plan)
    if on_target is not None and on_target not in values.kinds or measures and measures[0][0] not in values.kinds:
        return None  # a value the frame does not hold: the interpreter's, row by row
    if any(len(p.subperiods(plan.period_kind)) != 1 for p in periods):
        return None
    payees = sorted(tables[plan.payees_table].rows, key=lambda r: r.id)
    if team is not None:
        payees = [p for p in payees if p.values.get("team") == team]
    ids = {p.id for p in payees}
    if ids & values.handed:
        return None
    exp = plan.round_step.as_tuple().exponent
    places = max(0, -exp) if isinstance(exp, int) else 2
    if payee_column(plan.currency) is not None or "currency" in frame.columns or \
            not isinstance(frame.schema["amount"], pl.Decimal) or frame.schema["amount"].scale < places:
        return None
    f = frame if team is None else frame.filter(pl.col("payee_id").is_in(sorted(ids)))
    cents = pl.Decimal(38, places)
    if f.filter(pl.col("amount") != pl.col("amount").cast(cents).cast(frame.schema["amount"])).height:
        return None  # an amount finer than the plan's rounding: the payouts' quantize decides
    by_key = {values.key(p): p for p in periods}
    per = f.group_by("payee_id", "period").agg(pl.col("amount").sum().cast(cents).alias("total"))
    comp = f.group_by("period", "__c").agg(pl.col("amount").sum().cast(cents).alias("sum"))
    sums: dict = {}
    for pk, c, a in comp.iter_rows():
        sums.setdefault(pk, {})[plan.components[c]] = a
    paid_keys = set(sums)
    labels = payee_labels(plan, tables)
    ctx = RowContext(values, values, measures, labels, links or {}, on_target)
    by_id = {p.id: p for p in payees}
    views, ytd_year, ytd_total, year = [], {}, Decimal(0), None
    for period in periods:
        key = values.key(period)
        if key not in paid_keys:
            continue
        fy = getattr(period, "fiscal_year_start", period.start)
        if fy != year:
            year, ytd_total = fy, Decimal(0)
            first = next(p for p in periods if getattr(p, "fiscal_year_start", p.start) == fy)
            since = None if first.start == fy else str(first)
        ytd_total += sum(sums[key].values(), Decimal(0))
        if shown is not None and period not in shown:
            continue
        ytd_year[key] = (fy, since, ytd_total)
    if not ytd_year:
        return _empty(plan, team, measures, lang, limit)
    order = {k: i for i, k in enumerate(values.key(p) for p in periods)}
    first_m = measures[0][0] if measures else None
    keys = sorted(ytd_year, key=order.get)
    per_p = per.filter(pl.col("period").is_in(keys)).partition_by("period", as_dict=True)
    v_p = values.table.filter(pl.col("period").is_in(keys)).partition_by("period", as_dict=True)
    members = pl.DataFrame({"payee_id": sorted(ids)}, schema={"payee_id": pl.String})
    plans_of = {}  # period key -> (rows, the rows shown, the payees whose rows are made, without payout)
    for key in keys:
        rows_p = per_p[(key,)]
        count = rows_p.height
        start = _first(count, limit, page)
        show = rows_p.top_k(start + limit, by=["total", "payee_id"], reverse=[False, True]).sort(
            ["total", "payee_id"], descending=[True, False]).slice(start, limit) if count > limit else \
            rows_p.sort("payee_id")
        zero = rows_p.filter(pl.col("total") == 0)["payee_id"].to_list()
        none = members.join(rows_p, on="payee_id", how="anti")["payee_id"].to_list()
        plans_of[key] = (rows_p, start, show, set(show["payee_id"].to_list()) | set(zero), zero, none)
    wanted_all = {(pid, key) for key, x in plans_of.items() for pid in x[3]}
    values.load(wanted_all)
    f_p = f.join(pl.DataFrame(sorted(wanted_all), schema={"payee_id": pl.String, "period": pl.String}, orient="row"),
                 on=["payee_id", "period"], how="semi").partition_by("period", as_dict=True)
    ytd = _ytd(per, {(pid, key) for key, x in plans_of.items() for pid in x[2]["payee_id"].to_list()},
               periods, values.key, cents)
    for key in keys:
        period = by_key[key]
        fy, since, ytd_total = ytd_year[key]
        rows_p, start, show, wanted, zero, none = plans_of[key]
        count = rows_p.height
        items: dict = {}
        for p in payouts_list(plan, f_p[(key,)], periods):
            items.setdefault(p.payee_id, []).append(p)
        made, reasons = {}, {}
        for pid in sorted(wanted):
            row, why = team_row(ctx, by_id[pid], period, items[pid])
            row.ytd = ytd.get((pid, key), Decimal(0))
            made[pid] = row
            if why is not None:
                reasons[pid] = why
        reasons.update(_why_none_all(values, v_p.get((key,)), none, by_id, period))
        totals = {c: Decimal(0) for c in plan.components}
        totals.update(sums[key])
        tp = TeamPeriod(str(period), [made[pid] for pid in show["payee_id"].to_list()], totals,
                        sum(totals.values(), Decimal(0)), sorted(none + zero), None, reasons, ytd_from=since,
                        ytd_total=ytd_total)
        tp.lines = [("row", r) for r in tp.rows]
        if on_target is not None:
            tp.budget = _budget(values, v_p.get((key,)), rows_p, on_target)
        if count > limit:
            tp.count, tp.first, tp.totals_all, tp.ordered = count, start, rows_p["total"].sort().to_list(), True
            tp.back = sorted(rows_p.filter(pl.col("total") < 0).select("payee_id", "total").iter_rows())
            if first_m is not None:
                tp.measure_all = _measure_all(plan, values, f, key, rows_p, v_p.get((key,)), first_m)
        views.append(tp)
    return TeamView(plan.name, plan.version, team, plan.currency, list(plan.components), measures, views,
                    lang=lang or i18n.DEFAULT, limit=limit)


def _ytd(per, shown: set, periods: list, key, cents) -> dict:
    """(payee id, period key) -> the year to date of each row shown: the payee's totals of the
    (fiscal) year up to that period, the earlier periods not printed (--period) included."""
    import polars as pl
    order = {key(p): i for i, p in enumerate(periods)}
    fy_of = {key(p): str(getattr(p, "fiscal_year_start", p.start)) for p in periods}
    mine = per.filter(pl.col("payee_id").is_in(sorted({pid for pid, _ in shown}))).with_columns(
        pl.col("period").replace_strict(order, return_dtype=pl.Int64).alias("_o"),
        pl.col("period").replace_strict(fy_of, return_dtype=pl.String).alias("_fy"))
    mine = mine.sort("payee_id", "_o").with_columns(pl.col("total").cum_sum().over("payee_id", "_fy")
                                                   .cast(cents).alias("ytd"))
    return {(pid, pk): v for pid, pk, v in mine.select("payee_id", "period", "ytd").iter_rows() if (pid, pk) in shown}


def _empty(plan, team, measures, lang, limit) -> TeamView:
    return TeamView(plan.name, plan.version, team, plan.currency, list(plan.components), measures, [],
                    lang=lang or i18n.DEFAULT, limit=limit)


def _why_none_all(values, table, none: list, by_id: dict, period) -> dict:
    """report/team.py _why_none of the payees `none` (no payout in the period): from the frame's
    eligibility, the interpreter asked only for a payee the frame has no row of."""
    import polars as pl
    if not none:
        return {}
    got = {} if table is None else {pid: (ok, bad) for pid, ok, bad in table.filter(
        pl.col("payee_id").is_in(none)).select("payee_id", "eligible", "eligible!").iter_rows()}
    out = {}
    for pid in none:
        if pid not in got:
            out[pid] = _why_none(values, by_id[pid], period)
        else:
            ok, bad = got[pid]
            out[pid] = "not eligible" if not bad and not ok else "no data"
    return out


def _budget(values, table, rows_p, name: str) -> Decimal | None:
    """The sum of the on-target variable of the period's rows, None when one has no value (as
    report/team.py _on_target: a value in error, or not money)."""
    import polars as pl
    if values.kinds.get(name) != "money" or table is None:
        return None
    t = table.select("payee_id", name, f"{name}!")
    got = rows_p.select("payee_id").join(t, on="payee_id", how="left")
    if got.height == 0 or got.filter(pl.col(name).is_null() | pl.col(f"{name}!").fill_null(True)).height:
        return None
    return got[name].sum()


def _measure_all(plan, values, f, key, rows_p, table, m: str) -> list:
    """The first measure's value of every row of the period that shows it (as FrameValues.
    measures: a component paid that reads it surely, or reads a pool's weights), in id order."""
    import polars as pl
    from kamrules.report.team_values import _python
    needs = [i for i, c in enumerate(plan.components) if m in values.reads.get(c, (set(), False))[0]
             or values.reads.get(c, (set(), False))[1]]
    if table is None:
        return []
    who = rows_p.select("payee_id") if len(needs) == len(plan.components) else \
        f.filter((pl.col("period") == key) & pl.col("__c").is_in(needs)).select("payee_id")
    got = table.select("payee_id", m, f"{m}!").join(who, on="payee_id", how="semi").filter(
        pl.col(m).is_not_null() & ~pl.col(f"{m}!"))
    kind = values.kinds[m]
    cur = values.fixed.get(m) or (plan.currency if payee_column(plan.currency) is None else None)
    got = got.sort(m)  # in order: the charts' bins are counted on sorted values (report/team_bins.py)
    if kind == "money":
        return [_python(v, kind, cur or values.codes.get(pid)) for pid, v in got.select("payee_id", m).iter_rows()]
    raw = got[m].to_list()
    if raw and min(raw) == max(raw):  # one value: its own digits label it (bin_format)
        return [_python(v, kind, None) for v in raw]
    return [int(v) for v in raw] if kind == "count" else [v for v in raw if isinstance(v, (Decimal, Money))]
