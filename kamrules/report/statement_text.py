"""A statement in words, in its locale: the sentences every format shares (headline, one
sentence per component, what more business pays, the curves read, why a zero), and the
Markdown and plain-text renderings. Every text from the plan or the data is escaped for
the format (textsafe): no raw HTML or link in Markdown, no control character anywhere.
"""
from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

import attrs

from kamrules.diagnostics.textsafe import for_markdown, for_terminal, md_code, md_inline
from kamrules.report import i18n, whatif, whatif_count, whatif_rows, words


def kind_fmt(L, kind: str | None, currency: str | None):
    if kind == "rate":
        return L.percent
    if kind == "money":
        return lambda v: L.money(v, currency)
    return L.number


def point_fmt(L, cv):
    """How the payee's own value on a curve's axis is written: an attainment (a rate) with at
    most one decimal, rounded down (L.attained); the exact value is in the derivation."""
    return L.attained if cv.xkind == "rate" else kind_fmt(L, cv.xkind, cv.xcur)


def who(st) -> str:
    return st.payee_name or st.payee_id


def subtitle(st) -> str:
    L = st.locale
    parts = [st.role] if st.role else []
    parts.append(st.payee_id)
    parts.append(L._("plan {name}", name=st.plan_name) + (f" {st.plan_version}" if st.plan_version else ""))
    return " · ".join(parts)


def dates(L, pv) -> str:
    return f"{L.date(pv.start)} – {L.date(pv.end)}"


def total_label(pv) -> str:
    """The label of the period's total: what it pays. Without holds it is what the period
    earned; with `hold when`, what was earned is held or paid later, and the total is what
    the period pays (the earned, held and released amounts on the line after)."""
    return "Earned this period" if pv.held is None and pv.released is None else "Paid this period"


def ineligible_text(L, pv) -> str:
    """"Not eligible this period", and why: each test of `eligible when` the evaluation reached,
    its value and the data it read ("`payee.start_date <= period.end` is false
    (payee.start_date = 2025-04-01, period.end = 2025-03-31)")."""
    if not pv.ineligible:
        return L._("Not eligible this period")
    said = []
    for test, value, operands in pv.ineligible:
        test = f"`{test}`"  # (code in Markdown, as the other sentences' plan text)
        text = L._("{test} is true", test=test) if value else L._("{test} is false", test=test)
        if operands:
            text += " (" + ", ".join(f"{name} = {words.value(v, unit, L)}" for name, v, unit in operands) + ")"
        said.append(text)
    return L._("Not eligible this period: {why}", why="; ".join(said))


def headline(st, pv) -> list:
    """The period's headline: paid (earned, held, released), against the on-target variable,
    year to date."""
    L = st.locale
    if total_label(pv) == "Earned this period":
        out = [L._("Earned this period: {amount}", amount=L.paid(pv.total))]
    else:
        out = [L._("Paid this period: {amount}", amount=L.paid(pv.total))]
        parts = [L._("Earned this period: {amount}", amount=L.paid(pv.earned))]
        if pv.held is not None:
            parts.append(L._("held for a later period: {amount}", amount=L.paid(pv.held)))
        if pv.released is not None:
            parts.append(L._("released from earlier periods: {amount}", amount=L.paid(pv.released)))
        out.append(" · ".join(parts))
    if pv.on_target is not None and pv.on_target.amount:
        pct = pv.earned.amount / pv.on_target.amount
        out.append(L._("On-target variable: {target}; you earned {pct} of it",
                       target=L.money(pv.on_target), pct=L.share(pct)))
    if pv.ytd is not None:
        line = L._("Year to date (from {first}): {amount}", first=pv.ytd_from, amount=L.paid(pv.ytd))
        year = pv.year_target
        if year is not None and year.amount:
            line += " · " + L._("{pct} of the year's on-target variable ({target})",
                                pct=L.share(pv.ytd.amount / year.amount), target=L.money(year))
        to_date = pv.ytd_target
        if to_date is not None and to_date.amount and (year is None or to_date.amount != year.amount):
            line += " · " + L._("{pct} of the on-target variable to date ({target})",
                                pct=L.share(pv.ytd.amount / to_date.amount), target=L.money(to_date))
        out.append(line)
    return out


def component_sentence(st, c) -> str:
    """One sentence in business words: what it pays, the rate read, the measures behind it."""
    L = st.locale
    parts = [L._("{component} pays {amount}", component=c.name, amount=L.paid(c.amount))]
    for cv in c.curves:
        parts.append(L._("{decision} gives {y} at {arg} = {x}", decision=cv.decision,
                         y=kind_fmt(L, cv.ykind, st.currency)(cv.y), arg=cv.arg_name,
                         x=point_fmt(L, cv)(cv.x)))
    for w in c.pools:  # a share of a pool: the pool, the payee's weight and the pool's weights
        if w.value is None or w.value == 0:  # an empty weight takes no part in the pool (nor does 0)
            parts.append(L._("no share of the pool {pool} ({value}): weight {weight}", pool=w.pool,
                             value=L.value(w.pool_value), weight=L._("empty") if w.value is None else L.number(w.value)))
        elif w.total is not None:
            parts.append(L._("a share of the pool {pool} ({value}): weight {weight} of {total}", pool=w.pool,
                             value=L.value(w.pool_value), weight=L.number(w.value),
                             total=L.number(Decimal(w.total.text))))
    # `1 created × €150.00 + 0 signed × €300.00`: each count the component pays per row (a count
    # only tested, `hold when unpaid > 0`, has its table of rows, not a term of the sentence)
    counted = [m for m in c.credited if m.kind == "count" and m.each is not None]
    if counted:
        parts.append(" + ".join(L._("{n} {name} × {each}", n=L.number(len(m.rows) + m.more), name=m.measure,
                                    each=L.money(m.each)) for m in counted))
    measured = [m for m in c.credited if m.is_measure or m.kind in ("min", "max", "avg")]
    if measured:
        parts.append(L._("on {measures}", measures=", ".join(
            f"{m.measure} {L.money(m.total)}" for m in measured)))
    else:  # a sum of rows' own credits (the colour grid): how many rows it credits
        n = sum(len(m.rows) + m.more for m in c.credited if not m.taken_back and m.plain and m.kind == "sum")
        if n:
            parts.append(L._("1 row credited") if n == 1 else L._("{n} rows credited", n=L.number(n)))
        n = sum(len(m.rows) + m.more for m in c.credited if m.taken_back and m.plain and m.kind == "sum")
        if n:  # a clawback: rows whose credit is taken off the payout
            parts.append(L._("1 row taken back") if n == 1 else L._("{n} rows taken back", n=L.number(n)))
    return L.semicolon().join(parts)


def credited_title(L, m) -> str:
    """The title of a table of rows: credited, taken back (a clawback's rows, negative),
    counted (a count's), or read (a sum a top-up or a condition reads: the draw's `earned`)."""
    if m.kind == "count":
        return L._("Rows counted in {measure}", measure=m.measure)
    if m.taken_back:
        return L._("Rows taken back in {measure}", measure=m.measure)
    return L._("Rows credited to {measure}", measure=m.measure) if m.plain else \
        L._("Rows read by {measure}", measure=m.measure)


def summed(L, m) -> str:
    """A table of rows' total as its title says it: money, or a count's number of rows."""
    return L.money(m.total) if hasattr(m.total, "currency") else L.number(m.total)


def credit_shown(m) -> bool:
    """Whether a table of rows has a last column of each row's credit (a count's only when the
    component pays a fixed amount per row counted)."""
    return m.kind != "count" or m.each is not None


def _headed(m) -> bool:
    """Whether a text table of rows is put under its heads: when a row has more than its
    amount and credit (a conversion, a table read, a second date, a split's share, a kept mark)."""
    return len(m.columns) + len(m.tables) > 1 or any(u != "money" for _, u in m.columns)


def credit_head(L, m, extra: bool) -> str:
    """The head of a table of rows' last column: each row's credit, or the amount a min, max or
    avg reads (`credited` when the row's credit is made of other values, a count's per row)."""
    if m.kind in ("min", "max", "avg") or not (extra or m.kind == "count"):
        return L._("amount")
    return L._("credited")


def effect_sentence(st, pv, c, e) -> str:
    L = st.locale
    values = dict(delta=L.money(e.delta), measure=e.measure.name, date=L.date(pv.end),
                  gain=L.money(e.gain, st.currency), component=c.name)
    if e.step is not None:  # past the top tier, the next step of a rounded axis (whatif.step_tier)
        axis, reached = e.step
        cv = next((x for x in c.curves if x.arg_name == axis), None)
        shown = point_fmt(L, cv)(reached) if cv is not None and reached is not None else L.value(reached)
        what = values["measure"] if not e.measure.formula else L._("business ({column})", column=L.word(e.measure.column))
        return L._("{delta} more {measure} before {date} would raise {axis} to {value} and pay {gain} more on "
                   "{component}", **dict(values, measure=what, axis=axis, value=shown))
    if e.measure.formula:  # a sum of a per-row formula: more of its column, on a row like the one changed
        return formula_sentence(L, e, values)
    if e.tier is None:
        return L._("{delta} more {measure} before {date} would pay {gain} more on {component}", **values)
    return L._("{delta} more {measure} before {date} reaches the next tier ({tier}) and would pay {gain} "
               "more on {component}", tier=words.say(L, words.engine_note(e.tier)), **values)


def formula_sentence(L, e, values: dict) -> str:
    """`€2,630.00 more business (amount) on a row like eq-dl-002 (yellow, discount 7%, rate
    4%) before ... would pay €105.20 more on colour_bonus`: the row changed, in words when
    the formula's rate depends on the row (whatif_rows.like)."""
    m = e.measure
    ref = whatif.target_row(m)
    if m.like:
        row, shown, lookups = m.like
        said = [lookup_words(L, x) for x in lookups] or [f"{L.word(k)} {L.value(v, u)}" for k, v, u in shown]
        where = L._("on a row like {row} ({words})", row=row, words=L.semicolon().join(said))
    else:
        where = L._("on {row}", row=ref.id)
    values = dict(values, column=L.word(m.column), where=where)
    if e.tier is None:
        return L._("{delta} more business ({column}) {where} before {date} would pay {gain} more on {component}",
                   **values)
    return L._("{delta} more business ({column}) {where} before {date} reaches the next tier ({tier}) and would "
               "pay {gain} more on {component}", tier=words.say(L, words.engine_note(e.tier)), **values)


def hint_sentence(st, c, h) -> str:
    """`at discount 9.9% instead of 12% (yellow, rate 4%; 0.1% under the bound 10%),
    eq-dl-003 would have paid €975.00 more on colour_bonus` (report/whatif_rows.py)."""
    L = st.locale
    look = attrs.evolve(h.lookup, keys=tuple(k for k in h.lookup.keys if k[1] != h.new))
    values = dict(column=L.word(h.column), new=L.value(h.new, h.unit), old=L.value(h.old, h.unit),
                  words=lookup_words(L, look), row=h.row, gain=L.money(h.gain, st.currency), component=c.name)
    if h.step is None:
        return L._("at {column} {new} instead of {old} ({words}), {row} would have paid {gain} more on {component}",
                   **values)
    values.update(step=L.value(h.step, h.unit), bound=L.value(h.bound, h.unit))
    if h.new < h.bound:
        return L._("at {column} {new} instead of {old} ({words}; {step} under the bound {bound}), {row} would have "
                   "paid {gain} more on {component}", **values)
    return L._("at {column} {new} instead of {old} ({words}; {step} above the bound {bound}), {row} would have "
               "paid {gain} more on {component}", **values)


def others_line(L, step) -> str:
    """A derivation step's rows that no amount of this payee reads (derivation.own_rows):
    counted, not listed. A team_total's rows are the team's members, each with the value
    the total adds up (the payee's own is the step above, traced in place)."""
    n = step.others
    if step.kind == "team":
        if step.rows:
            return L._("and 1 other team member's value, added up in the team total and not listed here") \
                if n == 1 else L._("and {n} other team members' values, added up in the team total and not "
                                   "listed here", n=L.number(n))
        return L._("your value (above) is the whole team total") if n == 1 else \
            L._("the values of the {n} team members (yours is above), added up in the team total and not "
                "listed here", n=L.number(n))
    return L._("and 1 other row, which counts for none of your amounts (not listed)") if n == 1 else \
        L._("and {n} other rows, which count for none of your amounts (not listed)", n=L.number(n))


def effort_lines(st, pv, c) -> list:
    """Where to put the effort: what more of each measure pays, what the credited rows would
    have paid at a better row of their decision table, then the measures offered no what-if
    and why (a portfolio taken on the quarter's first day)."""
    return ([effect_sentence(st, pv, c, e) for e in c.effects + c.zero_effects]
            + [whatif_count.sentence(st, pv, c, e) for e in c.count_effects]
            + [hint_sentence(st, c, h) for h in whatif_rows.best(c.row_hints)]
            + [st.locale._("{measure} is taken on {date}: business added during the period does not change it, "
                           "so no what-if is offered for it", measure=m, date=st.locale.date(day))
               for m, day in c.no_what_if])


def curve_lines(st, cv) -> list:
    L = st.locale
    fx, fy = kind_fmt(L, cv.xkind, cv.xcur), kind_fmt(L, cv.ykind, st.currency)
    out = [L._("{decision} at {arg} = {x}: {row} gives {y}", decision=cv.decision, arg=cv.arg_name,
               x=point_fmt(L, cv)(cv.x), row=words.say(L, words.engine_note(cv.taken)), y=fy(cv.y))]
    if cv.next_tier is not None:
        t, word, row, cells, value = cv.next_tier
        dist = t - cv.x
        # in points to one decimal, rounded up: the attainment shown (rounded down) plus it is the tier
        shown = (L._("{n} points", n=L.number((dist * 100).quantize(Decimal("0.1"), rounding=ROUND_CEILING)))
                 if cv.xkind == "rate" else fx(dist))
        msg = ("next tier: from {t} ({dist} away), row {row} (| {cells} |) gives {value}" if word == "from"
               else "next tier: above {t} ({dist} away), row {row} (| {cells} |) gives {value}")
        out.append(L._(msg, t=fx(t), dist=shown, row=row, cells=cells, value=fy(value)))
    elif cv.top:
        out.append(L._("top tier reached: no further threshold"))
    return out


def ratio_lines(st, c) -> list:
    """One line per division behind the component: the two sides, their values, the result;
    then the payee's weight in each pool it shares, with its factors and prorated days."""
    L = st.locale
    return [L._("{name} = {numerator} / {denominator}: {num} / {den} = {value}", name=r.name,
                numerator=r.numerator, denominator=r.denominator, num=L.value(r.num), den=L.value(r.den),
                value=L.value(r.value, r.unit)) for r in c.ratios] + pool_lines(L, c)


def pool_lines(L, c) -> list:
    """`your weight in the pool: payee.weight * presence = 2 × 50% = 1`, then each prorate's
    days: `presence = prorate(...): 45 of the period's 90 days, January 1, 2025 to February 14,
    2025 = 50%`."""
    out = []
    for w in c.pools:
        if not w.factors and not w.prorates:
            continue
        shown = " × ".join(L.value(v, u) for v, u in w.factors)
        out.append(L._("your weight in the pool: {weight} = {factors} = {value}", weight=w.expr,
                       factors=shown, value=L.value(w.value)) if shown else
                   L._("your weight in the pool: {weight} = {value}", weight=w.expr, value=L.value(w.value)))
        for name, call, active, total, lo, hi, value in w.prorates:
            out.append(L._("{call}: {days} of the period's {total} days, {first} to {last} = {value}",
                           call=f"{name} = {call}" if name else call, days=L.number(active), total=L.number(total),
                           first=L.date(lo), last=L.date(hi), value=L.value(value, "rate")))
    return out


# the derivation's note of a floor or cap that made a component zero -> the headline's sentence
LIMIT_IN_WORDS = {
    "line {line}: the floor `{limit}` = {limit_value} applies: `{other}` is {other_value}":
        "{other} is {other_value}, below the floor of {limit_value}: nothing to pay",
    "line {line}: the cap `{limit}` = {limit_value} applies: `{other}` is {other_value}":
        "capped at {limit_value}: {other} is {other_value}",
}


def _val(L, x) -> str:
    """A value of a derivation's note as the statement's headline writes it (€1,000.00)."""
    return L.value(x.v, x.unit) if isinstance(x, words.Val) else words.say(L, x)


HELD = "{amount} earned this period is held while `hold when` is true, and paid in a later period"


def zero_sentence(st, c) -> str | None:
    if c.zero_reason is None:
        return None
    L = st.locale
    if c.zero_reason[0] == "curve":
        cv = c.zero_reason[1]
        msg, v = cv.why_not
        fx, fy = kind_fmt(L, cv.xkind, cv.xcur), kind_fmt(L, cv.ykind, st.currency)
        word = L._("from") if v["word"] == "from" else L._("above")
        return L._(msg, arg=v["arg"], x=point_fmt(L, cv)(v["x"]), t=fx(v["t"]), y=fy(v["y"]), word=word, next=fy(v["next"]))
    if c.zero_reason[0] == "said":  # the if-branch that pays nothing, its values in the locale
        note = c.zero_reason[1]
        if note.msgid == HELD:  # the amount held, as the headline writes money
            return L._(HELD, amount=_val(L, note.values["amount"]))
        plain = LIMIT_IN_WORDS.get(note.msgid)
        if plain is not None:  # a floor or cap for the payee: no line number, no code quotes, money as elsewhere
            v = note.values
            return L._(plain, other=v["other"], other_value=_val(L, v["other_value"]),
                       limit_value=_val(L, v["limit_value"]))
        return words.say(L, note)
    return L._(c.zero_reason[0], **c.zero_reason[1])


def credited_head(L, m) -> list:
    """The heads of a table of rows credited, [(label, is a number)]: date, account, row, the
    values each row's credit is made of (as the plan names them), the decision tables read
    (by name), then the row's credit."""
    extra = bool(m.columns or m.tables)
    return (([(L._("date"), False)] if _shown(m, 0) else []) + ([(L._("account"), False)] if _shown(m, 1) else [])
            + ([(L._("row"), False)] if _shown(m, 2) else [])
            + [(L.word(label), unit not in ("text", "date")) for label, unit in m.columns]
            + [(t, False) for t in m.tables]
            + ([(credit_head(L, m, extra), True)] if credit_shown(m) else []))


def credited_rows(st, m) -> list:
    """Each row credited as the text of its cells, in the order of credited_head."""
    L = st.locale
    out = []
    dates, accounts, ids = _shown(m, 0), _shown(m, 1), _shown(m, 2)
    for d, a, rid, v, values, lookups in m.rows:
        cells = ([L.date(d) if d is not None else ""] if dates else []) + ([a or ""] if accounts else []) \
            + ([rid] if ids else [])
        cells += ["—" if x is None else L.value(x, unit) for x, (_, unit) in zip(values, m.columns)]
        cells += ["" if x is None else lookup_words(L, x) for x in lookups]
        cells += [L.value(v)] if credit_shown(m) else []
        out.append(cells)
    return out


def rounding_note(L, m) -> str | None:
    """Under a table of rows credited whose credits are not whole in their currency's minor
    unit (a yen credit of 0.5): the credits are exact and only shown rounded, so the table
    says what they add up to exactly, the total as shown, and, when the rounded credits
    shown add up to another number, that number too (¥1 + ¥1 + ¥1 shown, ¥2 paid on 1.5)."""
    if m.kind != "sum":  # credits of a fixed amount per row; the amounts a min, max or avg reads
        return None
    places = Decimal(1).scaleb(-i18n.precision(m.total.currency)) if m.total.currency else Decimal("0.01")
    credits = [r[3] for r in m.rows]
    if all(c.amount == c.amount.quantize(places) for c in credits):
        return None
    text = L._("The credits are exact and shown rounded: they add up to {exact}, shown {total}.",
               exact=words.value(m.total, "money", L), total=L.money(m.total))
    shown = sum((c.amount.quantize(places, rounding=ROUND_HALF_UP) for c in credits), Decimal(0))
    if not m.more and L.money(shown, m.total.currency) != L.money(m.total):
        text += " " + L._("The rounded credits shown add up to {shown}.", shown=L.money(shown, m.total.currency))
    return text


def _shown(m, k: int) -> bool:
    """Whether a table of rows has its date (k = 0), account (1) or row (2) column: a date or
    an account when one of its rows has one (a measure's date always: its rows are the
    period's business); the row's id unless it is the account of every row (a table without
    a key, `arr` read on one day: its rows are named by their account, shown once)."""
    if k == 2:
        return not m.rows or any(r[2] != r[1] for r in m.rows)
    return (m.is_measure and k == 0) or any(r[k] for r in m.rows)


def aligned(rows: list, numeric: list) -> list:
    """Rows of cells as lines of text, each column padded to its widest cell (numbers to
    the right)."""
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))] if rows else []
    return ["  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(r, widths, numeric)).rstrip()
            for r in rows]


def lookup_words(L, x) -> str:
    """The row of a decision table a data row matched, in words: its comment in the plan,
    the table's columns with the row's values, the value read (`orange, discount 12%, rate
    2.5%`; in French `orange, discount 12 %, taux 2,5 %`)."""
    parts = [x.comment] if x.comment else []
    parts += [L.word(p) if v is None else f"{L.word(p)} {L.value(v, u)}" for p, v, u in x.keys]
    if x.value is not None:
        label = L._("rate") if x.unit == "rate" else L._("amount") if x.unit == "money" else L._("value")
        parts.append(f"{label} {L.value(x.value, x.unit)}")
    return ", ".join(parts)


def left_head(L, rows) -> list:
    """The heads of a table of rows left out, [(label, is a number)]: date, account (when a
    row has one), row, amount, reason."""
    return ([(L._("date"), False)] + ([(L._("account"), False)] if any(r[1] for r in rows) else [])
            + [(L._("row"), False)] + ([(L._("amount"), True)] if _amounts(rows) else []) + [(L._("reason"), False)])


def _amounts(rows) -> bool:
    """Whether rows left out have an amount column: when one of them has one (leads counted: none)."""
    return any(r[3] is not None for r in rows)


def left_rows(st, rows) -> list:
    """Each row left out as the text of its cells, in the order of left_head."""
    L = st.locale
    accounts, amounts = any(r[1] for r in rows), _amounts(rows)
    out = []
    for d, a, rid, v, (msg, values) in rows:
        shown = {k: (x if isinstance(x, str) else facts(L, x) if isinstance(x, tuple) else L.value(x))
                 for k, x in values.items()}
        out.append([L.date(d) if d is not None else ""] + ([a or ""] if accounts else [])
                   + [rid] + ([L.value(v)] if amounts else []) + [L._(msg, **shown)])
    return out


def facts(L, items: tuple) -> str:
    """((name, value, unit), ...) as `margin 12%, margin_floor 15%` (an empty value: —)."""
    return ", ".join(f"{L.word(n)} {'—' if v is None else L.value(v, u)}" for n, v, u in items)


# ---------------------------------------------------------------- Markdown
def render_md(st) -> str:
    """The statement as Markdown; every text from the plan or the data is escaped (textsafe):
    no raw HTML, no link, no `|` that splits a cell, no control character."""
    L = st.locale
    md, mi = (lambda t: for_markdown(t, in_table=True)), md_inline
    out = [f"# {md(L._('{label}:', label=L._('Payout statement')))} {md(who(st))}", "", md(subtitle(st)), ""]
    for pv in st.periods:
        out += [f"## {md(L._('{label}:', label=f'{pv.period} ({dates(L, pv)})'))} {md(L.paid(pv.total))}", ""]
        out += [f"- **{mi(x)}**" for x in headline(st, pv)] + [""]
        if pv.not_eligible is not None:
            out += [f"> {mi(ineligible_text(L, pv))}", ""]
        if pv.components:
            out += [f"| {md(L._('component'))} | {md(L._('amount'))} |", "|---|---:|"]
            out += [f"| {md(c.name)} | {md(L.paid(c.amount))} |" for c in pv.components]
            out += [f"| **{md(L._('total'))}** | **{md(L.paid(pv.total))}** |", ""]
        for c in pv.components:
            out += [f"### {md(L._('{label}:', label=c.name))} {md(L.paid(c.amount))}", "",
                    mi(component_sentence(st, c)), ""]
            z = zero_sentence(st, c)
            out += [f"**{mi(z)}**", ""] if z else []
            bullets = [f"- {mi(x)}" for x in effort_lines(st, pv, c)]
            for cv in c.curves:
                bullets += [f"- {mi(x)}" for x in curve_lines(st, cv)]
            bullets += [f"- {mi(x)}" for x in ratio_lines(st, c)]
            out += bullets + [""] if bullets else []  # one blank line after the sentence, never two
            for m in (x for x in c.credited if x.rows):  # a count at zero: said in the sentence only
                head = credited_head(L, m)
                out += [md(L._('{label}:', label=credited_title(L, m))), "",
                        "| " + " | ".join(md(h) for h, _ in head) + " |",
                        "|" + "|".join("---:" if num else "---" for _, num in head) + "|"]
                out += ["| " + " | ".join(md(x) for x in cells) + " |" for cells in credited_rows(st, m)]
                if m.more:
                    out.append(f"| … | {md(L._('{n} more rows', n=m.more))} |" + " |" * (len(head) - 2))
                note = rounding_note(L, m)
                out += ["", mi(note)] if note else []
                out.append("")
            for name, rows in c.left_out:
                head = left_head(L, rows)
                out += [md(L._('{label}:', label=L._('Rows left out of {name}', name=name))), "",
                        "| " + " | ".join(md(h) for h, _ in head) + " |",
                        "|" + "|".join("---:" if num else "---" for _, num in head) + "|"]
                out += [f"| {' | '.join(md(x) for x in cells)} |" for cells in left_rows(st, rows)]
                out.append("")
            out += [md(L._('{label}:', label=L._('How it is computed'))), ""]
            for s in c.steps:
                pad = "  " * s.depth
                out.append(f"{pad}- {mi(words.say(L, s.sentence))}")
                for n, text in s.lines:
                    out.append(f"{pad}  {md_code(f'{n}: {text.strip()}')}")
                out += [f"{pad}  *{mi(words.say(L, n))}*" for n in s.notes]
                for r in s.rows:
                    out.append(f"{pad}  - {mi(words.row_line(r, L=L))}" + "".join(f"{L.semicolon()}{mi(words.why_line(L, w))}" for w in r.why))
                if s.more_rows:
                    out.append(f"{pad}  - … {s.more_rows}")
                if s.others:
                    out.append(f"{pad}  - {md(others_line(L, s))}")
            out.append("")
        notes = [f"- {mi(words.say(L, x))}" for x in pv.absent + pv.paid]
        notes += [f"- {mi(L._('not shown: {component} cannot apply to you', component=h))}" for h in pv.hidden]
        out += notes + [""] if notes else []
    if st.ledger is not None:
        out += [f"## {md(L._('Ledger'))}", ""] + [f"- {mi(x)}" for x in ledger_lines(st)] + [""]
    out += provenance(st, "- ", md)
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- text
def render_text(st) -> str:
    """The statement as plain text; every line escaped for a terminal (textsafe.for_terminal)."""
    L = st.locale
    out = [f"{L._('{label}:', label=L._('Payout statement'))} {who(st)}", subtitle(st), ""]
    for pv in st.periods:
        out.append(f"{L._('{label}:', label=f'{pv.period} ({dates(L, pv)})')} {L.paid(pv.total)}")
        out += [f"  {x}" for x in headline(st, pv)]
        if pv.not_eligible is not None:
            out.append(f"  {ineligible_text(L, pv)}")
        shown = [L.paid(c.amount) for c in pv.components] + [L.paid(pv.total)]
        width = max([len(c.name) for c in pv.components] + [len(L._("total"))])
        aw = max(len(x) for x in shown)
        for c, a in zip(pv.components, shown):
            out.append(f"  {c.name.ljust(width)}  {a.rjust(aw)}")
        if pv.components:
            out.append(f"  {L._('total').ljust(width)}  {shown[-1].rjust(aw)}")
        for c in pv.components:
            out += ["", f"  {L._('{label}:', label=c.name)} {L.paid(c.amount)}", f"    {component_sentence(st, c)}"]
            z = zero_sentence(st, c)
            out += [f"    {z}"] if z else []
            out += [f"    - {x}" for x in effort_lines(st, pv, c)]
            for cv in c.curves:
                out += [f"    - {x}" for x in curve_lines(st, cv)]
            out += [f"    - {x}" for x in ratio_lines(st, c)]
            for m in (x for x in c.credited if x.rows):  # a count at zero: said in the sentence only
                out.append("    " + L._("{label}:", label=credited_title(L, m)))
                if m.is_measure:  # date, account and row (those it has), amount
                    out += [f"      {x[0]:>18}  " + "".join(f"{y:<10} " for y in x[1:-1]) + x[-1]
                            for x in credited_rows(st, m)]
                else:  # more than the row's amount and credit: under their heads (rates, tables read, dates)
                    head = credited_head(L, m)
                    out += ["      " + x for x in aligned([[h for h, _ in head]] * _headed(m) + credited_rows(st, m),
                                                          [n for _, n in head])]
                if m.more:
                    out.append(f"      … {L._('{n} more rows', n=m.more)}")
                note = rounding_note(L, m)
                out += [f"      {note}"] if note else []
            for name, rows in c.left_out:
                out.append("    " + L._("{label}:", label=L._("Rows left out of {name}", name=name)))
                out += [f"      {x[0]:>18}  " + "".join(f"{y:<10} " for y in x[1:-2])
                        + L._("{label}:", label=x[-2]) + f" {x[-1]}" for x in left_rows(st, rows)]
            out.append("    " + L._("{label}:", label=L._("How it is computed")))
            for s in c.steps:
                pad = "      " + "  " * s.depth
                out.append(f"{pad}{words.say(L, s.sentence)}")
                out += [f"{pad}  {n:>4} | {text.strip()}" for n, text in s.lines]
                out += [f"{pad}  {words.say(L, n)}" for n in s.notes]
                out += [f"{pad}  - {words.row_line(r, L=L)}" for r in s.rows]
                if s.more_rows:
                    out.append(f"{pad}  - ... {s.more_rows}")
                if s.others:
                    out.append(f"{pad}  - {others_line(L, s)}")
        out += [f"  {words.say(L, x)}" for x in pv.absent + pv.paid]
        out += [f"  {L._('not shown: {component} cannot apply to you', component=h)}" for h in pv.hidden]
        out.append("")
    if st.ledger is not None:
        out += [L._("Ledger")] + [f"  {x}" for x in ledger_lines(st)] + [""]
    out += provenance(st, "  ")
    return "\n".join(for_terminal(line) for line in out) + "\n"


def ledger_lines(st) -> list:
    """With --ledger: each period's status, paid to date per component, the adjustments and
    their reasons (the ledger's history of this payee: kamrules/ledger/history.py)."""
    h = st.ledger
    if h is None:
        return []
    L = st.locale
    out = [L._("Period {period}: {status}", period=pv.period, status=L._(h.periods.get(pv.period, "open")))
           for pv in st.periods]
    for pv in st.periods:
        if pv.period in h.to_pay:
            computed, adjusted, cur = h.to_pay[pv.period]
            out.append(L._("To pay for {period}: {amount} (computed {computed}, adjustments {adjustments})",
                           period=pv.period, amount=L.money(computed + adjusted, cur),
                           computed=L.money(computed, cur), adjustments=L.money(adjusted, cur)))
    for comp, (amount, cur) in h.paid_to_date.items():
        out.append(L._("Paid to date for {component}: {amount}", component=comp, amount=L.money(amount, cur)))
    for b in h.balances:
        out.append(L._("Paid on account, netted by {reader} in {window}: {amount}", reader=b.reader,
                       window=b.window, amount=L.money(b.amount, b.currency))
                   + (" (" + ", ".join(f"{c} {L.money(a, b.currency)}" for c, a in b.parts) + ")"
                      if len(b.parts) > 1 else ""))
    for a in h.adjustments:
        out.append(L._("Adjustment of {component} for {adjusts}, paid in {period}: {amount} ({reason})",
                       component=a.component, adjusts=a.adjusts, period=a.period,
                       amount=L.money(a.amount, a.currency), reason=a.reason)
                   + ("" if a.recorded else " " + L._("(pending: paid by the next close)")))
    return out


def provenance(st, bullet: str, esc=str) -> list:
    L = st.locale
    out = [L._("Computed from (kamrules {version}, sha256):", version=st.kamrules_version),
           f"{bullet}plan {esc(st.plan_file)}: {st.plan_sha256}"]
    out += [f"{bullet}{esc(name)} {esc(file)}: {sha}" for name, file, sha in st.inputs]
    return out
