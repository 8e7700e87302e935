"""The team view for managers: one page with every payee's measures, components and total
per period, the team's totals (they reconcile with `kamrules run`), and distribution charts
(SVG histograms of payouts and of the first attainment measure).

Measures are the plan's attainment lets: a let whose name contains "attainment", or a Rate
let passed to a curve or table. Their values are read from the payouts' traces, so they are
the very numbers the payouts were computed from. Output is html (self-contained), md or text;
every text from the plan or the data is escaped for its format (textsafe).
"""
from __future__ import annotations

from decimal import Decimal

import attrs

from kamrules.syntax import ast
from kamrules.core.currencies import payee_column
from kamrules.core.numeric import Money
from kamrules.diagnostics.textsafe import for_html, for_markdown, for_terminal
from kamrules.report import words
from kamrules.report.svg import histogram_svg


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


@attrs.define
class TeamPeriod:
    period: str
    rows: list
    totals: dict  # component -> Decimal
    total: Decimal
    without_payout: list  # payee ids with no payout in the period
    currency: str | None = None  # a plan paid per payee's currency: one TeamPeriod per currency


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


def measures_of(plan) -> list:
    """[(let name, unit)] in plan order: attainment lets and Rate lets that feed a decision."""
    fed = set()
    decisions = {n for n, d in plan.definitions.items() if d.kind == "decision"}
    for d in plan.definitions.values():
        if d.kind == "decision":
            continue
        for call in _calls(d.node.expr, decisions):
            for arg in call.args:
                r = plan.resolution.get(id(arg)) if isinstance(arg, ast.Name) else None
                if r is not None and r[0] == "def":
                    fed.add(r[1])
    out = []
    for name, d in plan.definitions.items():
        if d.kind != "let":
            continue
        if "attainment" in name or (name in fed and d.type.kind == "rate"):
            out.append((name, d.type.kind))
    return out


def _calls(expr, names: set) -> list:
    return words.find_nodes(expr, lambda n: isinstance(n, ast.Call) and n.func in names)


def build_team(plan, tables, payouts: list, periods: list, team: str | None = None,
               links: dict | None = None) -> TeamView:
    """links: payee id -> the address of their statement (html links), when known. A period
    in which nobody has a payout is left out, as `kamrules run` prints no row for it."""
    from kamrules.report.statement import payee_labels
    labels = payee_labels(plan, tables)
    links = links or {}
    payees = sorted(tables[plan.payees_table].rows, key=lambda r: r.id)
    if team is not None:
        payees = [p for p in payees if p.values.get("team") == team]
    ids = {p.id for p in payees}
    measures = measures_of(plan)
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
        if period not in paid_periods:
            continue
        fy = getattr(period, "fiscal_year_start", period.start)
        if fy != year:
            ytd, year = {}, fy
        rows, without = [], []
        totals = {c: Decimal(0) for c in plan.components}
        for payee in members:
            items = by_key.get((payee.id, period))
            if not items:
                without.append(payee.id)
                continue
            amounts = {p.component: p.amount for p in items}
            found = {}
            for p in items:
                if p.trace is not None:
                    for n in p.trace.walk():
                        if n.kind == "let" and n.name not in found and any(n.name == m for m, _ in measures):
                            found[n.name] = n.value
            for c, a in amounts.items():
                totals[c] += a
            name = labels.get(payee.id, (None, None))[0]
            total = sum(amounts.values(), Decimal(0))
            ytd[payee.id] = ytd.get(payee.id, Decimal(0)) + total
            rows.append(TeamRow(payee.id, name if isinstance(name, str) else None,
                                payee.values.get("team") if isinstance(payee.values.get("team"), str) else None,
                                {m: found.get(m) for m, _ in measures}, amounts, total, ytd[payee.id],
                                links.get(payee.id)))
        views.append(TeamPeriod(str(period) + (f" {cur}" if cur else ""), rows, totals,
                                sum(totals.values(), Decimal(0)), without, cur))
    shown = plan.currency if column is None else ", ".join(c for c, _ in groups)
    return TeamView(plan.name, plan.version, team, shown, list(plan.components), measures, views)


def _measure(v, unit) -> str:
    if v is None:
        return "—"
    return words.value(v, unit)


def _header(tv: TeamView) -> list:
    return ["payee"] + [m for m, _ in tv.measures] + tv.components + ["total", "year to date"]


def _cells(tv: TeamView, r: TeamRow) -> list:
    who = r.payee_id + (f" ({r.name})" if r.name else "")
    return ([who] + [_measure(r.measures[m], u) for m, u in tv.measures]
            + [words.amount(r.amounts[c]) if c in r.amounts else "—" for c in tv.components]
            + [words.amount(r.total), words.amount(r.ytd)])


def _total_cells(tv: TeamView, tp: TeamPeriod) -> list:
    return (["total"] + ["" for _ in tv.measures] + [words.amount(tp.totals[c]) for c in tv.components]
            + [words.amount(tp.total), words.amount(sum((r.ytd for r in tp.rows), Decimal(0)))])


def _title(tv: TeamView) -> str:
    return f"Team view: {tv.plan_name}" + (f", version {tv.plan_version}" if tv.plan_version else "") + \
        (f", team {tv.team}" if tv.team else "")


def _summary(tv: TeamView, tp: TeamPeriod) -> str:
    n = len(tp.rows)
    avg = tp.total / n if n else Decimal(0)
    cur = tp.currency or tv.currency
    s = (f"{n} payee{'s' * (n != 1)} paid, total {words.amount(tp.total)} {cur}, "
         f"average {words.amount(avg)} {cur}")
    if tp.without_payout:
        s += f"; no payout: {', '.join(tp.without_payout)}"
    return s


def ledger_lines(tv: TeamView) -> list:
    """With --ledger: each period's status, then what each payee was paid to date (every close,
    adjustments included; kamrules/ledger/history.py)."""
    if tv.ledger is None:
        return []
    status, paid, balances, owed = tv.ledger
    out = ["periods: " + ", ".join(f"{p} {s}" for p, s in sorted(status.items()))]
    out += [f"{pid} paid to date: {words.amount(amount)} {cur}" for pid, (amount, cur) in sorted(paid.items())]
    for pid, periods in sorted(owed.items()):
        out += [f"{pid} to pay for {p}: {words.amount(c + a)} {cur} (computed {words.amount(c)}, adjustments "
                f"{words.amount(a)})" for p, (c, a, cur) in sorted(periods.items())]
    out += [f"{b.payee_id} paid on account, netted by {b.reader} in {b.window}: {words.amount(b.amount)} "
            f"{b.currency}" for b in balances]
    return out


def render_text(tv: TeamView) -> str:
    out = [for_terminal(_title(tv)), ""]
    for tp in tv.periods:
        out += [for_terminal(f"{tp.period}: {_summary(tv, tp)}")]
        table = [_header(tv)] + [_cells(tv, r) for r in tp.rows] + [_total_cells(tv, tp)]
        table = [[for_terminal(c) for c in row] for row in table]
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        for row in table:
            out.append("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                        for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        out.append("")
    if tv.ledger is not None:
        out += ["Ledger"] + [for_terminal(f"  {x}") for x in ledger_lines(tv)] + [""]
    out.append(for_terminal(f"amounts in {tv.currency}"))
    return "\n".join(out) + "\n"


def render_md(tv: TeamView) -> str:
    md = lambda t: for_markdown(t, in_table=True)  # noqa: E731
    out = [f"# {md(_title(tv))}", "", f"Amounts in {md(tv.currency)}.", ""]
    for tp in tv.periods:
        out += [f"## {md(tp.period)}", "", for_markdown(_summary(tv, tp)) + ".", ""]
        head = _header(tv)
        out.append("| " + " | ".join(md(h) for h in head) + " |")
        out.append("|---" + "|---:" * (len(head) - 1) + "|")
        for r in tp.rows:
            out.append("| " + " | ".join(md(c) for c in _cells(tv, r)) + " |")
        out.append("| " + " | ".join(f"**{md(c)}**" if c else "" for c in _total_cells(tv, tp)) + " |")
        out.append("")
    if tv.ledger is not None:
        out += ["## Ledger", ""] + [f"- {for_markdown(x)}" for x in ledger_lines(tv)] + [""]
    return "\n".join(out)


CSS = """*{box-sizing:border-box}body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
margin:0;color:#1f2328;background:#f6f8fa}main{max-width:64rem;margin:0 auto;padding:1rem}
section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:.8rem;margin:.8rem 0}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
td,th{padding:.3rem .5rem;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
td:first-child,th:first-child{text-align:left}tr.total td{font-weight:700;border-top:2px solid #888}
.charts{display:flex;flex-wrap:wrap;gap:1rem}.charts figure{margin:0;flex:1 1 280px}
svg.chart{width:100%;max-width:480px;height:auto}figcaption{font-size:.85rem;color:#57606a}
@media (max-width:600px){body{font-size:14px}main{padding:.5rem}}"""


def render_html(tv: TeamView) -> str:
    e = for_html
    out = ['<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{e(_title(tv))}</title><style>{CSS}</style></head><body><main>",
           f"<h1>{e(_title(tv))}</h1><p>Amounts in {e(tv.currency)}.</p>"]
    money_fmt = words.amount
    for tp in tv.periods:
        out.append(f'<section data-period="{e(tp.period)}"><h2>{e(tp.period)}</h2><p>{e(_summary(tv, tp))}</p>')
        out.append('<div class="scroll"><table><tr>' + "".join(f"<th>{e(h)}</th>" for h in _header(tv)) + "</tr>")
        for r in tp.rows:
            cells = _cells(tv, r)
            first = f'<a href="{e(r.link)}">{e(cells[0])}</a>' if r.link else e(cells[0])
            out.append(f'<tr data-payee="{e(r.payee_id)}"><td>{first}</td>' + "".join(
                f"<td>{e(c)}</td>" for c in cells[1:-2]) + f'<td class="total">{e(cells[-2])}</td>'
                f"<td>{e(cells[-1])}</td></tr>")
        out.append('<tr class="total">' + "".join(f"<td>{e(c)}</td>" for c in _total_cells(tv, tp))
                   + "</tr></table></div>")
        charts = []
        if tp.rows:
            charts.append((histogram_svg([r.total for r in tp.rows], 8, money_fmt,
                                         f"payouts {tp.period}"), f"payouts per payee ({tp.currency or tv.currency})"))
        if tv.measures:
            m, unit = tv.measures[0]
            vals = [r.measures[m] for r in tp.rows if r.measures.get(m) is not None]
            vals = [v.amount if isinstance(v, Money) else v for v in vals if isinstance(v, (Decimal, Money))]
            if vals:
                fmt = words.percent if unit == "rate" else words.value
                charts.append((histogram_svg(vals, 8, fmt, f"{m} {tp.period}"), m))
        if charts:
            out.append('<div class="charts">' + "".join(
                f"<figure>{svg}<figcaption>{e(cap)}</figcaption></figure>" for svg, cap in charts) + "</div>")
        out.append("</section>")
    if tv.ledger is not None:
        out.append("<section><h2>Ledger</h2><ul>" + "".join(f"<li>{e(x)}</li>" for x in ledger_lines(tv))
                   + "</ul></section>")
    out.append("</main></body></html>\n")
    return "".join(out)


def render(tv: TeamView, fmt: str) -> str:
    return {"html": render_html, "md": render_md}.get(fmt, render_text)(tv)
