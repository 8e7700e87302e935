"""Side-by-side views of payouts: `diff` (two versions of a plan on the same data, who gains
and who loses) and `simulate` (several plans on several data scenarios, cost and ratio).

Pure views: the commands compute the payouts; this module groups them, adds them up and
renders table / CSV / JSON / GitHub markdown. Amounts stay Decimal; printed with two places.
"""
from __future__ import annotations

import io
import json
import os
from decimal import ROUND_HALF_UP, Decimal

import attrs

from kamrules.core.calendar import KINDS
from kamrules.core.numeric import CONTEXT, format_amount
from kamrules.diagnostics.textsafe import for_markdown, for_terminal, json_safe, md_code
from kamrules.report.payouts import COLUMNS, CsvWriter, safe_cell

ZERO = Decimal("0.00")


# ---------------------------------------------------------------------------- diff
@attrs.frozen
class DiffRow:
    payee_id: str
    period: str
    before: Decimal
    after: Decimal
    currency: str
    adjusts: str = ""  # with a ledger: the closed period an adjustment row corrects

    @property
    def change(self) -> Decimal:
        return self.after - self.before


def coarser_kind(*kinds: str) -> str:
    return max(kinds, key=KINDS.index)


def totals(payouts, kind: str | None = None) -> dict:
    """(payee_id, period label) -> (total, currency); periods rolled up to `kind` if given."""
    out: dict = {}
    for p in payouts:
        period = p.period.containing(kind) if kind and p.period.kind != kind else p.period
        key = (p.payee_id, str(period))
        amount, _ = out.get(key, (ZERO, p.currency))
        out[key] = (amount + p.amount, p.currency)
    return out


def ledger_totals(rows) -> dict:
    """(payee_id, period, adjusts) -> (total, currency) of the rows a run against a ledger
    pays (kamrules.ledger.store.Row: closed periods are not there, adjustments are)."""
    out: dict = {}
    for r in rows:
        key = (r.payee_id, r.period, r.adjusts)
        amount, _ = out.get(key, (ZERO, r.currency))
        out[key] = (amount + r.amount, r.currency)
    return out


def diff_rows(before: dict, after: dict) -> list[DiffRow]:
    """Rows for every payee-period (and adjustment: ledger_totals) in either run, biggest
    gain first, biggest loss last."""
    rows = []
    for key in set(before) | set(after):
        b, cur_b = before.get(key, (ZERO, None))
        a, cur_a = after.get(key, (ZERO, None))
        if cur_a and cur_b and cur_a != cur_b:  # paid in another currency: never compared as equal
            rows += [DiffRow(key[0], key[1], b, ZERO, cur_b, *key[2:]),
                     DiffRow(key[0], key[1], ZERO, a, cur_a, *key[2:])]
            continue
        rows.append(DiffRow(key[0], key[1], b, a, cur_a or cur_b, *key[2:]))
    return sorted(rows, key=lambda r: (-r.change, r.payee_id, r.period, r.adjusts, r.currency or ""))


def diff_summary(rows: list[DiffRow]) -> dict:
    """Cost before/after per currency; winners and losers counted per payee (all periods)."""
    cost: dict = {}
    by_payee: dict = {}  # payee -> {currency: change}
    for r in rows:
        b, a = cost.get(r.currency, (ZERO, ZERO))
        cost[r.currency] = (b + r.before, a + r.after)
        mine = by_payee.setdefault(r.payee_id, {})
        mine[r.currency] = mine.get(r.currency, ZERO) + r.change
    return {
        "cost": {cur: {"before": b, "after": a, "change": a - b} for cur, (b, a) in sorted(cost.items())},
        **counts(list(by_payee.values())),
    }


def counts(changes: list) -> dict:
    """Winners, losers and unchanged among payees, each given as {currency: its change}: a
    payee whose changes in two currencies go opposite ways (paid in another currency) is none."""
    return {"winners": sum(1 for c in changes if all(v > 0 for v in c.values())),
            "losers": sum(1 for c in changes if all(v < 0 for v in c.values())),
            "unchanged": sum(1 for c in changes if all(v == 0 for v in c.values()))}


def signed(amount: Decimal, thousands: bool = False) -> str:
    text = grouped(amount) if thousands else format_amount(amount)
    return ("+" + text) if amount > 0 else text


def grouped(amount: Decimal) -> str:
    text = format_amount(amount)
    sign, body = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, cents = body.split(".")
    return f"{sign}{int(whole):,}.{cents}"


def _percent(change: Decimal, before: Decimal) -> str:
    if before == 0:
        return "n/a"
    pct = (change * 100 / before).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP, context=CONTEXT)
    return ("+" if pct > 0 else "") + f"{pct}%"


def summary_line(summary: dict, thousands: bool = False) -> str:
    fmt = grouped if thousands else format_amount
    costs = [f"{fmt(c['before'])} -> {fmt(c['after'])} {cur} ({signed(c['change'], thousands)}, "
             f"{_percent(c['change'], c['before'])})" for cur, c in summary["cost"].items()]
    return (f"total cost {'; '.join(costs) or '0.00 -> 0.00'}; {summary['winners']} payee(s) gain, "
            f"{summary['losers']} lose, {summary['unchanged']} unchanged")


def aligned(header: tuple, rows: list[tuple], numeric: set) -> str:
    """Columns padded to their widest cell; cells escaped for a terminal (textsafe)."""
    header = tuple(for_terminal(c) for c in header)
    rows = [tuple(for_terminal(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    return "\n".join("  ".join(r[i].rjust(widths[i]) if i in numeric else r[i].ljust(widths[i])
                               for i in range(len(header))).rstrip() for r in [header] + rows)


def diff_table(rows: list[DiffRow], summary: dict, ledger: bool = False) -> str:
    """ledger: an `adjusts` column after the period (diff --ledger)."""
    body = [(r.payee_id, r.period, *((r.adjusts,) if ledger else ()), format_amount(r.before),
             format_amount(r.after), signed(r.change), r.currency) for r in rows]
    head = ("payee", "period", *(("adjusts",) if ledger else ()), "before", "after", "change", "currency")
    first = 3 if ledger else 2
    return (aligned(head, body, {first, first + 1, first + 2})
            + "\n\n" + summary_line(summary) + "\n")


def diff_csv(rows: list[DiffRow], ledger: bool = False) -> str:
    buf = io.StringIO()
    w = CsvWriter(buf)
    w.writerow(("payee_id", "period", *(("adjusts",) if ledger else ()), "before", "after", "change", "currency"))
    for r in rows:
        w.writerow((safe_cell(r.payee_id), r.period, *((safe_cell(r.adjusts),) if ledger else ()), format_amount(r.before),
                    format_amount(r.after), format_amount(r.change), r.currency))
    return buf.getvalue()


def diff_json(rows: list[DiffRow], summary: dict, old: str, new: str, ledger: bool = False) -> str:
    out = {
        "old": old, "new": new,
        "summary": {"cost": {cur: {k: format_amount(v) for k, v in c.items()}
                             for cur, c in summary["cost"].items()},
                    "winners": summary["winners"], "losers": summary["losers"],
                    "unchanged": summary["unchanged"]},
        "rows": [{"payee_id": r.payee_id, "period": r.period, **({"adjusts": r.adjusts} if ledger else {}),
                  "before": format_amount(r.before), "after": format_amount(r.after),
                  "change": format_amount(r.change), "currency": r.currency}
                 for r in rows],
    }
    return json_safe(json.dumps(out, indent=2, ensure_ascii=False)) + "\n"


def diff_markdown(rows: list[DiffRow], summary: dict, old: str, new: str) -> str:
    lines = [f"### Payout change: {md_code(os.path.basename(old))} → {md_code(os.path.basename(new))}", "",
             "**" + summary_line(summary, thousands=True) + "**", ""]
    changed = [r for r in rows if r.change != 0]
    if changed:
        lines += ["| Payee | Period | Before | After | Change |", "|---|---|---:|---:|---:|"]
        for r in changed:
            period = f"{r.period} (adjusts {for_markdown(r.adjusts, in_table=True)})" if r.adjusts else r.period
            lines.append(f"| {for_markdown(r.payee_id, in_table=True)} | {period} | {grouped(r.before)} {r.currency} | "
                         f"{grouped(r.after)} {r.currency} | {signed(r.change, True)} |")
    else:
        lines.append("No payout changes.")
    unchanged = len(rows) - len(changed)
    if unchanged and changed:
        lines += ["", f"{unchanged} payee-period row(s) unchanged."]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- simulate
@attrs.frozen
class SimResult:
    scenario: str
    tag: str  # the plan's short name (file stem minus the prefix common to the plans)
    plan: str  # the plan file path
    currency: str
    payouts: tuple
    fixed: Decimal | None  # None: the payees input does not declare annual_fixed
    revenue: Decimal | None  # None: no --revenue measure
    totals: dict | None = None  # payee -> sum of its payouts, when known (a columnar run's frame)

    @property
    def variable(self) -> Decimal:
        if self.totals is not None:
            return sum(self.totals.values(), start=ZERO)
        return sum((p.amount for p in self.payouts), start=ZERO)

    @property
    def cost(self) -> Decimal | None:
        return None if self.fixed is None else self.fixed + self.variable

    @property
    def ratio(self) -> Decimal | None:
        """revenue / (fixed + variable), to two places (half up); None when not computable."""
        if self.revenue is None or self.cost is None or self.cost == 0:
            return None
        return (self.revenue / self.cost).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP, context=CONTEXT)

    def per_payee(self) -> dict:
        if self.totals is not None:
            return self.totals
        out: dict = {}
        for p in self.payouts:
            out[p.payee_id] = out.get(p.payee_id, ZERO) + p.amount
        return out


def plan_tags(paths: list[str]) -> list[str]:
    """Short names: each stem minus the prefix common to all stems (kam-uncapped, kam-capped ->
    uncapped, capped), cut back to a separator; the whole stems when that leaves a clash."""
    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    prefix = os.path.commonprefix(stems) if len(stems) > 1 else ""
    if prefix and not prefix[-1] in "-_. ":
        cut = max(prefix.rfind(c) for c in "-_. ")
        prefix = prefix[:cut + 1] if cut >= 0 else ""
    tags = [s[len(prefix):] for s in stems]
    if any(not t for t in tags) or len(set(tags)) < len(tags):
        tags = stems
    if len(set(tags)) < len(tags):
        tags = [f"{t}{i + 1}" for i, t in enumerate(tags)]
    return tags


def _opt(v: Decimal | None) -> str:
    return "n/a" if v is None else format_amount(v)


def simulate_table(results: list[SimResult]) -> str:
    head = ("scenario", "plan", "fixed", "variable", "fixed+variable", "revenue", "ratio", "currency")
    body = [(r.scenario, r.tag, _opt(r.fixed), format_amount(r.variable), _opt(r.cost), _opt(r.revenue),
             "n/a" if r.ratio is None else str(r.ratio), r.currency) for r in results]
    out = [aligned(head, body, {2, 3, 4, 5, 6}), "", "variable per payee:"]
    columns = list(dict.fromkeys(f"{r.scenario}/{r.tag}" for r in results))
    payees = sorted({pid for r in results for pid in r.per_payee()})
    per = {c: {} for c in columns}  # a plan paid per payee's currency: one result per currency
    several = len(columns) < len(results)
    for r in results:
        per[f"{r.scenario}/{r.tag}"].update({k: f"{format_amount(v)} {r.currency}" if several else format_amount(v)
                                            for k, v in r.per_payee().items()})
    rows = [(pid, *(m.get(pid, format_amount(ZERO)) for m in per.values())) for pid in payees]
    out.append(aligned(("payee", *columns), rows, set(range(1, len(columns) + 1))))
    return "\n".join(out) + "\n"


def simulate_csv(results: list[SimResult]) -> str:
    """The payout contract, component named `component@tag`; plus a `scenario` column when
    several scenarios are compared. Rows by scenario, payee, period, then plan order."""
    scenarios = list(dict.fromkeys(r.scenario for r in results))
    buf = io.StringIO()
    w = CsvWriter(buf)
    w.writerow(COLUMNS + (("scenario",) if len(scenarios) > 1 else ()))
    for scenario in scenarios:
        mine = [r for r in results if r.scenario == scenario]
        grouped_by: dict = {}  # (payee, period) -> [(result, payout)] in plan then payout order
        for r in mine:
            for p in r.payouts:
                grouped_by.setdefault((p.payee_id, p.period), []).append((r, p))
        for (payee, period), items in sorted(grouped_by.items(), key=lambda kv: kv[0]):
            for r, p in items:
                row = [safe_cell(payee), str(period), safe_cell(f"{p.component}@{r.tag}"),
                       format_amount(p.amount), p.currency]
                w.writerow(row + ([scenario] if len(scenarios) > 1 else []))
    return buf.getvalue()


def simulate_json(results: list[SimResult]) -> str:
    out = []
    for r in results:
        out.append({"scenario": r.scenario, "plan": r.plan, "tag": r.tag, "currency": r.currency,
                    "fixed": None if r.fixed is None else format_amount(r.fixed),
                    "variable": format_amount(r.variable),
                    "cost": None if r.cost is None else format_amount(r.cost),
                    "revenue": None if r.revenue is None else format_amount(r.revenue),
                    "ratio": None if r.ratio is None else str(r.ratio),
                    "per_payee": {k: format_amount(v) for k, v in sorted(r.per_payee().items())},
                    "payouts": [{"payee_id": p.payee_id, "period": str(p.period), "component": p.component,
                                 "amount": format_amount(p.amount), "currency": p.currency}
                                for p in r.payouts]})
    return json_safe(json.dumps(out, indent=2, ensure_ascii=False)) + "\n"
