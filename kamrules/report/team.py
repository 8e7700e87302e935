"""The team view for managers: one page with every payee's measures, components and total
per period, the team's totals (they reconcile with `kamrules run`), and distribution charts
(SVG histograms of payouts and of the first measure), in a locale (report/i18n.py: labels
through the gettext catalogs, numbers with Babel).

Measures are the plan's own (`measures_of`): the lets passed to a curve or table and the lets
a component reads, when built on data rows. Their values are read from the payouts' traces,
so they are the very numbers the payouts were computed from (evaluated when a tree does not
hold them). Output is html (self-contained), md or text; every text from the plan or the
data is escaped for its format (textsafe).
"""
from __future__ import annotations

from decimal import Decimal

import attrs

from kamrules.core.builtins import AGGREGATES
from kamrules.check.lint import on_target_of
from kamrules.syntax import ast
from kamrules.core.currencies import payee_column
from kamrules.backends.interp.arith import Problem
from kamrules.backends.interp.evaluator import Evaluator
from kamrules.backends.interp.hierarchy import HIERARCHY_COLUMNS, Hierarchy, HierarchyError
from kamrules.core.numeric import Money, places_of
from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.diagnostics.textsafe import for_html, for_markdown, for_terminal
from kamrules.report import i18n, words
from kamrules.report.svg import histogram_svg
from kamrules.report.team_bins import chart_bins, span
from kamrules.trace.tree import calculation_parts

BINS = 8  # bars of a histogram


@attrs.define
class TeamRow:
    payee_id: str
    name: str | None
    team: str | None
    measures: dict  # measure name -> value (or None)
    amounts: dict  # component -> Decimal
    total: Decimal
    ytd: Decimal = Decimal(0)  # this period and the earlier ones of its year on the page
    link: str | None = None  # the payee's statement (html)
    depth: int = 0  # in the reporting tree (reports_to): 0 at the top
    on_target: Decimal | None = None  # the plan's on-target variable for this payee and period


@attrs.define
class TeamPeriod:
    period: str
    rows: list
    totals: dict  # component -> Decimal
    total: Decimal
    without_payout: list  # payee ids with no payout in the period, or a payout of 0.00 (in id order)
    currency: str | None = None  # a plan paid per payee's currency: one TeamPeriod per currency
    # payee id -> why no payout: "not eligible", "no data", or ("at zero", [components]) for a
    # payee whose every component paid 0.00 (a row of the table, not counted as paid)
    reasons: dict = attrs.Factory(dict)
    lines: list = attrs.Factory(list)  # tree order: ("row", TeamRow) and ("subtotal", TeamRow, total, n)
    budget: Decimal | None = None  # the sum of the on-target variables of the payees paid
    ytd_from: str | None = None  # the first period the year to date counts, when not its year's first
    # the year to date of every payee of the page paid so far in the year, also those with no
    # payout in this period (a leaver's earlier quarters are still the year's cost)
    ytd_total: Decimal = Decimal(0)
    # a period of more rows than the page's limit (report/team_scale.py): `rows` are a page of
    # them, largest total first, and the summary and charts read the population's figures
    count: int | None = None  # rows of the whole population (None: `rows` are all)
    first: int = 0  # the rank of the first row shown (0: the largest total)
    totals_all: list | None = None  # every row's total
    measure_all: list | None = None  # the first measure's value of every row that shows one
    back: list | None = None  # [(payee id, total)] of every row taken back (a negative total)
    depth: int | None = None  # a tree cut at this depth (the lines below it left out)
    ordered: bool = False  # totals_all and measure_all in increasing order (their ends are the min and max)


@attrs.define
class TeamView:
    plan_name: str
    plan_version: str | None
    team: str | None
    currency: str
    components: list
    measures: list  # [(name, unit)]
    periods: list
    # with --ledger: ({period: "open"|"closed"}, {payee: (paid to date, currency)}, [balance on
    # account: ledger.balance.Balance], {payee: {open period: (computed, adjustments, currency)}})
    ledger: tuple | None = None
    tree: bool = False  # rows nested by the reports_to input, with subtotals
    limit: int | None = None  # rows shown per period (report/team_scale.py), None: every row
    pager: str | None = None  # the address of a page of rows, {page} in it (the portal's /team?page=)
    lang: str = i18n.DEFAULT  # labels and number formats (report/i18n.py)

    @property
    def locale(self) -> i18n.Locale:
        return i18n.get(self.lang)


def measures_of(plan) -> list:
    """[(let name, unit)] in plan order: the plan's measures, the numbers a payee steers by —
    the lets passed to a decision (attainments read by a curve or table) and the lets a
    component reads, when they come from data rows (an aggregation, or a let built on one) or
    prorate the pay (`prorate(payee.start_date, payee.end_date)`); never a let of rows, nor one
    computed from the payee's own columns only (`annual_variable / 4`)."""
    decisions = {n for n, d in plan.definitions.items() if d.kind == "decision"}
    fed, read = set(), set()
    for d in plan.definitions.values():
        if d.kind == "decision":
            continue
        for call in _calls(d.node.expr, decisions):
            fed |= _names(plan, call.args)
        if d.kind == "component":
            read |= _names(plan, [d.node.expr], deep=True)
    rows_based = set()
    for name, d in plan.definitions.items():  # dependency order: a let's inputs come first
        if d.kind == "let" and (any(dep in rows_based for dep in d.deps) or words.find_nodes(
                d.node.expr, lambda n: isinstance(n, ast.Call) and n.func in AGGREGATES)):
            rows_based.add(name)
    # a prorate factor (`let presence = prorate(payee.start_date, payee.end_date)`): what a pool's
    # weight or a variable is cut by for a joiner or a leaver, though built on the payee's own dates
    prorated = {name for name, d in plan.definitions.items() if d.kind == "let" and words.find_nodes(
        d.node.expr, lambda n: isinstance(n, ast.Call) and n.func == "prorate")}
    return [(name, d.type.kind) for name, d in plan.definitions.items()
            if d.kind == "let" and (name in rows_based or name in prorated) and (name in fed or name in read)
            and d.type.kind in ("money", "rate", "number", "count")]


def _names(plan, exprs, deep: bool = False) -> set:
    """The definitions named in exprs (deep: anywhere inside, else only the exprs themselves)."""
    out = set()
    for e in exprs:
        for n in (words.find_nodes(e, lambda x: isinstance(x, ast.Name)) if deep else [e]):
            r = plan.resolution.get(id(n)) if isinstance(n, ast.Name) else None
            if r is not None and r[0] == "def":
                out.add(r[1])
    return out


def _calls(expr, names: set) -> list:
    return words.find_nodes(expr, lambda n: isinstance(n, ast.Call) and n.func in names)


def build_team(plan, tables, payouts: list, periods: list, team: str | None = None,
               links: dict | None = None, lang: str | None = None, shown: list | None = None,
               values=None) -> TeamView:
    """links: payee id -> the address of their statement (html links), when known. A period
    (or a period's currency, for a plan paid in each payee's) in which nobody has a payout is
    left out, as `kamrules run` prints no row for it. lang: the page's locale (en default).
    shown: the periods printed (--period), when `periods` also holds the earlier periods of
    their years (Session.with_year_to_date): those count in the year to date, not printed.
    values: report/team_values.FrameValues, the measures, eligibility and on-target variable
    read from a columnar run (the payouts then carry no trees); else the interpreter evaluates
    them on `tables` and the measures are read from the payouts' trees."""
    from kamrules.report.statement import payee_labels
    labels = payee_labels(plan, tables)
    ev = values if values is not None else Evaluator(plan, tables, trace=False)
    on_target = on_target_of(plan)
    hierarchy = _hierarchy(tables)
    links = links or {}
    payees = sorted(tables[plan.payees_table].rows, key=lambda r: r.id)
    if team is not None:
        payees = [p for p in payees if p.values.get("team") == team]
    ids = {p.id for p in payees}
    measures = measures_of(plan)
    ctx = RowContext(ev, values, measures, labels, links, on_target)
    by_key: dict = {}
    for p in payouts:
        if p.payee_id in ids:
            by_key.setdefault((p.payee_id, p.period), []).append(p)
    views = []
    ytd: dict = {}
    year = None
    paid_periods = {k[1] for k in by_key}
    column = payee_column(plan.currency)  # `currency payee.COLUMN`: a total per currency, never one
    groups = [(None, payees)] if column is None else \
        [(c, [p for p in payees if p.values.get(column) == c]) for c in sorted({p.values.get(column) for p in payees})]
    for period, (cur, members) in ((p, g) for p in periods for g in groups):
        if period not in paid_periods or not any((m.id, period) in by_key for m in members):
            continue
        fy = getattr(period, "fiscal_year_start", period.start)
        if fy != year:
            ytd, year = {}, fy
            first = next(p for p in periods if getattr(p, "fiscal_year_start", p.start) == fy)
            since = None if first.start == fy else str(first)  # the year's start not computed
        if shown is not None and period not in shown:  # an earlier period of the year: its totals only
            for m in members:
                ytd[m.id] = ytd.get(m.id, Decimal(0)) + sum((p.amount for p in by_key.get((m.id, period), ())),
                                                            Decimal(0))
            continue
        rows, without, reasons = [], [], {}
        totals = {c: Decimal(0) for c in plan.components}
        for payee in members:
            items = by_key.get((payee.id, period))
            if not items:
                without.append(payee.id)
                reasons[payee.id] = _why_none(ev, payee, period)
                continue
            row, why = team_row(ctx, payee, period, items)
            for c, a in row.amounts.items():
                totals[c] += a
            ytd[payee.id] = row.ytd = ytd.get(payee.id, Decimal(0)) + row.total
            if why is not None:  # a payout of 0.00 is no payout: said with its reason, not counted as paid
                without.append(payee.id)
                reasons[payee.id] = why
            rows.append(row)
        tp = TeamPeriod(str(period) + (f" {cur}" if cur else ""), rows, totals, sum(totals.values(), Decimal(0)),
                        without, cur, reasons, ytd_from=since,
                        ytd_total=sum((ytd.get(m.id, Decimal(0)) for m in members), Decimal(0)))
        if on_target is not None and rows and all(r.on_target is not None for r in rows):
            tp.budget = sum((r.on_target for r in rows), Decimal(0))
        tp.lines = _tree(rows, hierarchy, period.end) if hierarchy is not None else [("row", r) for r in rows]
        views.append(tp)
    shown = plan.currency if column is None else ", ".join(c for c, _ in groups)
    return TeamView(plan.name, plan.version, team, shown, list(plan.components), measures, views,
                    tree=hierarchy is not None, lang=lang or i18n.DEFAULT)


@attrs.define
class RowContext:
    """What team_row reads: the evaluator (or the frame's values), the plan's measures, the
    payees' names, the statements' links and the on-target variable's name."""
    ev: object
    values: object
    measures: list
    labels: dict
    links: dict
    on_target: str | None


def team_row(ctx: RowContext, payee, period, items: list) -> tuple:
    """(the TeamRow of a payee's payouts `items` in a period, its year to date left at 0, and
    why it is no payout when its total is 0.00, else None)."""
    ev, values, measures = ctx.ev, ctx.values, ctx.measures
    amounts = {p.component: p.amount for p in items}
    found = None if values is None else values.measures(payee, period, items)
    found, pooled = found or _traced_measures(items if values is None else values.traced(
        payee.id, period, items), {m for m, _ in measures})
    for m, _ in measures:  # a pool's weights are traced apart, not in the payee's tree: evaluated
        if pooled and m not in found:
            found[m] = _value(ev, payee, period, m)
    name = ctx.labels.get(payee.id, (None, None))[0]
    total = sum(amounts.values(), Decimal(0))
    why = _why_zero(ev, payee, period, amounts, found) if total == 0 else None
    return TeamRow(payee.id, name if isinstance(name, str) else None,
                   payee.values.get("team") if isinstance(payee.values.get("team"), str) else None,
                   {m: found.get(m) for m, _ in measures}, amounts, total, Decimal(0),
                   ctx.links.get(payee.id), on_target=_on_target(ev, payee, period, ctx.on_target)), why


def _traced_measures(items, names: set) -> tuple[dict, bool]:
    """The measures' values read in the payouts' trees, and whether a pool (share) is traced.
    A payment period made of several calculation periods (`payment quarter` on a monthly plan)
    has one subtree per calculation period, each with its own value of a measure: the value is
    shown only when they agree (a month's billing is not the quarter's, and a sum would be
    wrong for a cumulative measure), else it is left out (None), never the first month's."""
    found, pooled, mixed = {}, False, set()
    for p in items:
        if p.trace is None:
            continue
        for part in calculation_parts(p.trace):
            seen = {}
            for n in _own(part):
                pooled = pooled or n.kind == "share"
                if n.kind == "let" and n.name in names and n.name not in seen:
                    seen[n.name] = n.value
            for name, value in seen.items():
                if name in found and found[name] != value:
                    mixed.add(name)
                found.setdefault(name, value)
    return {n: (None if n in mixed else v) for n, v in found.items()}, pooled


def _own(node):
    """The nodes of a payout's tree but those under `paid(...)`: the earlier periods' payouts
    (`paid(advance, period.quarter)`) read their own months' measures, not this period's."""
    yield node
    if node.kind != "paid":
        for c in node.children:
            yield from _own(c)


def _why_none(ev, payee, period) -> str:
    """Why a payee has no payout in a period: not eligible, or no component applies."""
    try:
        if not ev.is_eligible(ev.context(payee, period)):
            return "not eligible"
    except (Problem, LookupError, TypeError, ArithmeticError):
        pass
    return "no data"


def _why_zero(ev, payee, period, amounts: dict, measures: dict):
    """Why a payee's components all paid 0.00: not eligible; no data when every measure is
    zero or unknown; else the components at zero."""
    if _why_none(ev, payee, period) == "not eligible":
        return "not eligible"
    moved = sorted(c for c, a in amounts.items() if a != 0)
    if moved:  # a clawback and a payment of the same period (-6,400 and +6,400): they cancel out
        return ("cancel out", moved)
    if all(v is None or (v.amount if isinstance(v, Money) else v) == 0 for v in measures.values()
           if isinstance(v, (Money, Decimal, int)) or v is None):
        return "no data"
    return ("at zero", sorted(amounts))


def _reason(L, reason) -> str:
    if isinstance(reason, tuple) and reason[0] == "cancel out":
        return L._("{components} cancel out", components=", ".join(reason[1]))
    if isinstance(reason, tuple):
        return L._("{components} at zero", components=", ".join(reason[1]))
    return L._(reason)


def _value(ev, payee, period, name):
    """The value of definition `name` for a payee and period, None when it cannot be had."""
    try:
        return ev.definition(ev.context(payee, period), name)
    except (Problem, LookupError, TypeError, ArithmeticError):
        return None


def _on_target(ev, payee, period, name) -> Decimal | None:
    v = None if name is None else _value(ev, payee, period, name)
    return v.amount if isinstance(v, Money) else None


def _hierarchy(tables):
    """The reports_to input as a Hierarchy (checked whole: KR450, KR451), or None without one."""
    t = tables.get("reports_to")
    if t is None or not all(c in t.spec.columns for c in HIERARCHY_COLUMNS):
        return None
    h = Hierarchy.of(t.path, ((r.number, r.values["payee_id"], r.values["manager_id"], r.values["start_date"],
                               r.values["end_date"]) for r in t.rows))
    try:
        h.validate()
    except HierarchyError as err:
        raise KamError([Diagnostic(err.code, err.message, hint=err.hint)]) from None
    return h


def _tree(rows: list, h, day) -> list:
    """The rows in reporting order on `day`: each manager followed by their reports (nested,
    depth set), then a subtotal of the manager and everyone below them on the page. A payee
    whose manager is not on the page hangs from the nearest manager above who is, else the top."""
    by_id = {r.payee_id: r for r in rows}
    parent = {}
    for r in rows:
        up = r.payee_id
        while True:
            found = h.line(up, day)
            if found is None:
                break
            up = found[1]
            if up in by_id:
                parent[r.payee_id] = up
                break
    kids: dict = {}
    for r in rows:
        kids.setdefault(parent.get(r.payee_id), []).append(r)
    out: list = []

    def visit(r, depth):
        r.depth = depth
        out.append(("row", r))
        below = kids.get(r.payee_id, [])
        if not below:
            return r.total, 1
        total, n = r.total, 1
        for k in below:
            t, c = visit(k, depth + 1)
            total, n = total + t, n + c
        out.append(("subtotal", r, total, n))
        return total, n

    for r in kids.get(None, []):
        visit(r, 0)
    return out


def _measure(L, v, unit) -> str:
    """A measure's value; money to its currency's minor unit (`30,000 JPY`, `6,510.00 EUR`;
    `6 510,00 €` in French), exact in the statement's derivation."""
    if v is None:
        return "—"
    if isinstance(v, Money):
        return f"{L.amount(v.amount, v.currency)} {v.currency}" if L.lang == i18n.DEFAULT else L.money(v)
    return words.value(v, unit, L)


def _amount(L, v, currency: str | None) -> str:
    """An amount of the period's currency (named once, above the tables), to its minor unit:
    18,600.00 (EUR, en), 18 600,00 (fr), 6,234 (JPY); to the cent when the plan pays finer
    (1.50 JPY), so that a payee's components add up to their total as shown (i18n.paid)."""
    return L.paid(v, currency, sign=False)


def _cur(tv: TeamView, tp: TeamPeriod) -> str:
    """The currency of a period's amounts (a plan paid per payee's currency: the period's)."""
    return tp.currency or tv.currency


def _header(tv: TeamView, tp: TeamPeriod) -> list:
    L = tv.locale
    ytd = L._("year to date") if tp.ytd_from is None else L._("year to date from {period}", period=tp.ytd_from)
    return [L._("payee")] + [m for m, _ in tv.measures] + tv.components + [L._("total"), ytd]


def _cells(tv: TeamView, r: TeamRow, cur: str) -> list:
    L = tv.locale
    who = r.payee_id + (f" ({r.name})" if r.name else "")
    return ([who] + [_measure(L, r.measures[m], u) for m, u in tv.measures]
            + [_amount(L, r.amounts[c], cur) if c in r.amounts else "—" for c in tv.components]
            + [_amount(L, r.total, cur), _amount(L, r.ytd, cur)])


def _line_cells(tv: TeamView, tp: TeamPeriod, line) -> list:
    """The cells of a row of the tree (its first cell indented by depth) or of a subtotal."""
    cur = _cur(tv, tp)
    if line[0] == "row":
        cells = _cells(tv, line[1], cur)
        if tv.tree:
            cells[0] = "· " * line[1].depth + cells[0]
        return cells
    _, r, total, n = line
    L = tv.locale
    return ([f"{'· ' * r.depth}" + L._("subtotal {payee} and reports ({n} payees)", payee=r.payee_id, n=str(n))]
            + ["" for _ in tv.measures] + ["" for _ in tv.components] + [_amount(L, total, cur), ""])


def _total_cells(tv: TeamView, tp: TeamPeriod) -> list:
    L, cur = tv.locale, _cur(tv, tp)
    return ([L._("total")] + ["" for _ in tv.measures] + [_amount(L, tp.totals[c], cur) for c in tv.components]
            + [_amount(L, tp.total, cur), _amount(L, tp.ytd_total, cur)])


def _title(tv: TeamView) -> str:
    L = tv.locale
    return L._("Team view: {plan}", plan=tv.plan_name) + \
        (L._(", version {version}", version=tv.plan_version) if tv.plan_version else "") + \
        (L._(", team {team}", team=tv.team) if tv.team else "")


LISTED = 20  # payees named in a summary's list past the page's limit (the others counted)


def _listed(L, items: list, limited: bool) -> str:
    """`kam-001 (…), kam-002 (…)`; past LISTED on a limited page, the first LISTED and a count."""
    if not limited or len(items) <= LISTED:
        return ", ".join(items)
    return L._("{payees} and {n} more", payees=", ".join(items[:LISTED]), n=L.number(len(items) - LISTED))


def _summary(tv: TeamView, tp: TeamPeriod) -> str:
    L = tv.locale
    limited = tp.count is not None
    everyone = tp.totals_all if limited else [r.total for r in tp.rows]
    paid = [t for t in everyone if t > 0]  # a negative total is taken back, not paid
    n = len(paid)
    avg = sum(paid, Decimal(0)) / n if n else Decimal(0)
    cur = _cur(tv, tp)
    if n:
        s = L._("{n} payee paid, total {total} {currency}, average {average} {currency}" if L.one(n) else
                "{n} payees paid, total {total} {currency}, average {average} {currency}",
                n=str(n), total=_amount(L, tp.total, cur), average=L.amount(avg, cur), currency=cur)
    else:  # an average over nobody is no figure (a period of clawbacks only: total -6,600.00)
        s = L._("{n} payee paid, total {total} {currency}" if L.one(n) else "{n} payees paid, total {total} {currency}",
                n=str(n), total=_amount(L, tp.total, cur), currency=cur)
    back = tp.back if limited else sorted((r.payee_id, r.total) for r in tp.rows if r.total < 0)
    if back:  # a clawback larger than the period's pay: what the payee owes back
        s += L.semicolon() + L._("taken back: {payees}", payees=_listed(
            L, [f"{pid} ({_amount(L, total, cur)})" for pid, total in back], limited))
    if tp.budget is not None:
        pct = L.share(tp.total / tp.budget) if tp.budget else "—"
        s += L.semicolon() + L._("cost {total} {currency} against an on-target budget of {budget} {currency} ({pct})",
                        total=_amount(L, tp.total, cur), currency=cur, budget=_amount(L, tp.budget, cur), pct=pct)
    if tp.without_payout:
        s += L.semicolon() + L._("no payout: {payees}", payees=_listed(
            L, [f"{p} ({_reason(L, tp.reasons.get(p, 'no data'))})" for p in sorted(tp.without_payout)], limited))
    return s


def _shown(tv: TeamView, tp: TeamPeriod) -> str | None:
    """On a limited page, which rows are shown and how to see the others; None otherwise."""
    if tp.count is None:
        return None
    L = tv.locale
    if tp.depth is not None:
        return L._("the reporting tree down to depth {depth}: {shown} of {n} payees; every payee: --limit 0",
                   depth=str(tp.depth), shown=L.number(sum(1 for x in tp.lines if x[0] == "row")), n=L.number(tp.count))
    size = tv.limit or len(tp.rows)
    text = L._("payees {start} to {end} of {n}, largest total first",
               start=L.number(tp.first + 1), end=L.number(tp.first + len(tp.rows)), n=L.number(tp.count))
    page, last = tp.first // size + 1, -(-tp.count // size)
    if tv.pager is None:
        return text + L.semicolon() + L._("page {page} of {last}: --page K for another, --limit 0 for every row",
                                 page=str(page), last=str(last))
    return text + L.semicolon() + L._("page {page} of {last}", page=str(page), last=str(last))


def _pager_html(tv: TeamView, tp: TeamPeriod) -> str:
    """The portal's links to the previous and next pages of rows (tv.pager)."""
    if tp.count is None or tv.pager is None or tp.depth is not None:
        return ""
    L, e = tv.locale, for_html
    size = tv.limit or len(tp.rows)
    page, last = tp.first // size + 1, -(-tp.count // size)
    links = [f'<a rel="prev" href="{e(tv.pager.format(page=page - 1))}">{e(L._("previous page"))}</a>'] if page > 1 else []
    links += [f'<a rel="next" href="{e(tv.pager.format(page=page + 1))}">{e(L._("next page"))}</a>'] if page < last else []
    return f'<nav class="pages">{" · ".join(links)}</nav>' if links else ""


def ledger_lines(tv: TeamView) -> list:
    """With --ledger: each period's status, then what each payee was paid to date (every close,
    adjustments included; kamrules/ledger/history.py)."""
    if tv.ledger is None:
        return []
    L = tv.locale
    status, paid, balances, owed = tv.ledger
    out = [L._("periods: {statuses}", statuses=", ".join(f"{p} {L._(s)}" for p, s in sorted(status.items())))]
    out += [L._("{payee} paid to date: {amount} {currency}", payee=pid, amount=_amount(L, amount, cur), currency=cur)
            for pid, (amount, cur) in sorted(paid.items())]
    for pid, periods in sorted(owed.items()):
        out += [L._("{payee} to pay for {period}: {amount} {currency} (computed {computed}, adjustments "
                    "{adjustments})", payee=pid, period=p, amount=_amount(L, c + a, cur), currency=cur,
                    computed=_amount(L, c, cur), adjustments=_amount(L, a, cur))
                for p, (c, a, cur) in sorted(periods.items())]
    out += [L._("{payee} paid on account, netted by {reader} in {window}: {amount} {currency}", payee=b.payee_id,
                reader=b.reader, window=b.window, amount=_amount(L, b.amount, b.currency), currency=b.currency)
            for b in balances]
    return out


def render_text(tv: TeamView) -> str:
    L = tv.locale
    out = [for_terminal(_title(tv)), ""]
    for tp in tv.periods:
        out += [for_terminal(f"{tp.period}: {_summary(tv, tp)}")]
        if _shown(tv, tp):
            out += [for_terminal(_shown(tv, tp))]
        table = [_header(tv, tp)] + [_line_cells(tv, tp, x) for x in tp.lines] + [_total_cells(tv, tp)]
        table = [[for_terminal(c) for c in row] for row in table]
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        for row in table:
            out.append("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                        for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        out.append("")
    if tv.ledger is not None:
        out += [L._("Ledger")] + [for_terminal(f"  {x}") for x in ledger_lines(tv)] + [""]
    out.append(for_terminal(L._("amounts in {currency}", currency=tv.currency)))
    return "\n".join(out) + "\n"


def render_md(tv: TeamView) -> str:
    L = tv.locale
    md = lambda t: for_markdown(t, in_table=True)  # noqa: E731
    out = [f"# {md(_title(tv))}", "", md(L._("Amounts in {currency}.", currency=tv.currency)), ""]
    for tp in tv.periods:
        out += [f"## {md(tp.period)}", "", for_markdown(_summary(tv, tp)) + ".", ""]
        if _shown(tv, tp):
            out += [for_markdown(_shown(tv, tp)) + ".", ""]
        head = _header(tv, tp)
        out.append("| " + " | ".join(md(h) for h in head) + " |")
        out.append("|---" + "|---:" * (len(head) - 1) + "|")
        for x in tp.lines:
            out.append("| " + " | ".join(md(c) for c in _line_cells(tv, tp, x)) + " |")
        out.append("| " + " | ".join(f"**{md(c)}**" if c else "" for c in _total_cells(tv, tp)) + " |")
        out.append("")
    if tv.ledger is not None:
        out += [f"## {md(L._('Ledger'))}", ""] + [f"- {for_markdown(x)}" for x in ledger_lines(tv)] + [""]
    return "\n".join(out)


CSS = """*{box-sizing:border-box}body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
margin:0;color:#1f2328;background:#f6f8fa}main{max-width:80rem;margin:0 auto;padding:1rem}
section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:.8rem;margin:.8rem 0}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
td,th{padding:.3rem .5rem;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
td:first-child,th:first-child{text-align:left}th{white-space:normal;overflow-wrap:break-word;vertical-align:bottom}
td:first-child{white-space:normal;min-width:8rem}tr.total td{font-weight:700;border-top:2px solid #888}
.charts{display:flex;flex-wrap:wrap;gap:1rem}.charts figure{margin:0;flex:1 1 280px}
svg.chart{width:100%;max-width:480px;height:auto}figcaption{font-size:.85rem;color:#57606a}
ul.bins{margin:.2rem 0;padding-left:1.1rem}
tr.subtotal td{font-style:italic;border-bottom:1px solid #bbb}h1{font-size:1.4rem;overflow-wrap:anywhere}
p{overflow-wrap:anywhere}
@media (max-width:600px){body{font-size:14px}main{padding:.5rem}section{padding:.5rem}
table,tbody,tr,td{display:block;width:100%}tr:first-child{display:none}tr{border-bottom:1px solid #ddd;
padding:.3rem 0}td{border:0;padding:.1rem .3rem;white-space:normal;overflow-wrap:anywhere;text-align:right}
td[data-label]::before{content:attr(data-label);float:left;color:#57606a;font-weight:400;
margin-right:.5rem}td:first-child{text-align:left;font-weight:600}td:empty{display:none}}"""


def _breakable(html: str) -> str:
    """A column head that may wrap after each underscore (`month_<wbr>performance`)."""
    return html.replace("_", "_<wbr>")


def bin_format(L, values: list, unit: str, currency: str | None):
    """How a histogram's bin edges are labelled: with the fewest decimals that keep adjacent
    edges distinct (93.4%, not 93.375%), from a whole percent, a whole unit of the currency
    (1,250) or a whole number up to a rate's four decimals of a percent, the currency's minor
    unit, a number's six."""
    if unit == "rate":
        at, most = (lambda d: lambda v: L.percent(v, d)), 4
    elif unit == "money":
        at, most = (lambda d: lambda v: L._money(v, None, d)), i18n.precision(currency) if currency else 2
    else:
        at, most = (lambda d: lambda v: L._decimal(Decimal(v), d)), 6
    if min(values) == max(values):  # one value, no bins to tell apart: its own decimals (0, not 0.0)
        return at(min(places_of(Decimal(values[0])), most))
    lo, _, width = span(values, BINS)
    edges = [lo + width * k for k in range(BINS + 1)]
    for d in range(most):
        labels = [at(d)(e) for e in edges]
        if all(a != b for a, b in zip(labels, labels[1:])):
            return at(d)
    return at(most)


def _ends(tp: TeamPeriod, values: list) -> list:
    """What bin_format reads of a chart's values (their min and max): the ends of an ordered list."""
    return [values[0], values[-1]] if tp.ordered and values else values


def render_html(tv: TeamView) -> str:
    e = for_html
    L = tv.locale
    out = [f'<!DOCTYPE html>\n<html lang="{L.lang}"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{e(_title(tv))}</title><style>{CSS}</style></head><body><main>",
           f"<h1>{e(_title(tv))}</h1><p>{e(L._('Amounts in {currency}.', currency=tv.currency))}</p>"]
    count = lambda n: L._("payee") if L.one(n) else L._("payees")  # noqa: E731
    for tp in tv.periods:
        out.append(f'<section data-period="{e(tp.period)}"><h2>{e(tp.period)}</h2><p>{e(_summary(tv, tp))}</p>')
        if _shown(tv, tp):
            out.append(f'<p class="shown">{e(_shown(tv, tp))}</p>{_pager_html(tv, tp)}')
        out.append('<div class="scroll"><table><tr>' + "".join(f"<th>{_breakable(e(h))}</th>" for h in _header(tv, tp)) + "</tr>")
        head = _header(tv, tp)
        for x in tp.lines:
            cells = _line_cells(tv, tp, x)
            r = x[1]
            pad = f' style="padding-left:{0.5 + 1.2 * r.depth:.1f}rem"' if tv.tree else ""
            label = [f'<td data-label="{e(h)}">{e(c)}</td>' for h, c in zip(head[1:], cells[1:])]
            if x[0] == "subtotal":
                out.append(f'<tr class="subtotal" data-manager="{e(r.payee_id)}"><td{pad}>{e(cells[0])}</td>'
                           + "".join(label) + "</tr>")
                continue
            first = f'<a href="{e(r.link)}">{e(cells[0])}</a>' if r.link else e(cells[0])
            depth = f' data-depth="{r.depth}"' if tv.tree else ""
            out.append(f'<tr data-payee="{e(r.payee_id)}"{depth}><td{pad}>{first}</td>'
                       + "".join(label) + "</tr>")
        out.append('<tr class="total">' + "".join(f'<td data-label="{e(h)}">{e(c)}</td>' if i else f"<td>{e(c)}</td>"
                                                  for i, (h, c) in enumerate(zip(head, _total_cells(tv, tp))))
                   + "</tr></table></div>")
        charts = []
        if tp.rows:
            totals = tp.totals_all if tp.count is not None else [r.total for r in tp.rows]
            charts.append((totals, bin_format(L, _ends(tp, totals), "money", _cur(tv, tp)), L._("payouts {period}", period=tp.period),
                           L._("payees per payout bin ({currency}); each bar: its bin and count",
                               currency=tp.currency or tv.currency)))
        if tv.measures:
            m, unit = tv.measures[0]
            vals = tp.measure_all if tp.count is not None else \
                [r.measures[m] for r in tp.rows if r.measures.get(m) is not None]
            curs = {v.currency for v in vals if isinstance(v, Money)}
            vals = [v.amount if isinstance(v, Money) else v for v in vals if isinstance(v, (Decimal, Money))]
            if vals and len(curs) <= 1:  # a measure's money in its own currency (USD deals on a JPY plan)
                fmt = bin_format(L, _ends(tp, vals), unit, next(iter(curs), _cur(tv, tp)))
                charts.append((vals, fmt, f"{m} {tp.period}", L._("payees per {measure} bin", measure=m)))
        if charts:  # each bin that holds a payee said in words under its chart, as in the bar's title
            out.append('<div class="charts">' + "".join(
                f"<figure>{histogram_svg(vals, BINS, fmt, title, count, binned[0])}<figcaption>{e(cap)}"
                "<ul class=\"bins\">"
                + "".join("<li>" + e(L._("{bin}: {n} {payees}", bin=fmt(lo) if lo == hi else f"{fmt(lo)} – {fmt(hi)}",
                                          n=str(n), payees=count(n))) + "</li>"
                          for lo, hi, n in binned[1])
                + "</ul></figcaption></figure>"
                for vals, fmt, title, cap, binned in ((*c, chart_bins(c[0], BINS)) for c in charts)) + "</div>")
        out.append("</section>")
    if tv.ledger is not None:
        out.append(f"<section><h2>{e(L._('Ledger'))}</h2><ul>" + "".join(f"<li>{e(x)}</li>" for x in ledger_lines(tv))
                   + "</ul></section>")
    out.append("</main></body></html>\n")
    return "".join(out)


def render(tv: TeamView, fmt: str) -> str:
    return {"html": render_html, "md": render_md}.get(fmt, render_text)(tv)
