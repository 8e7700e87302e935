"""A statement as one self-contained HTML page in its locale (`<html lang>`): the payee's
name and role, each period's headline, one card per component (its sentence, why a zero,
what more business would pay, the curve with labelled thresholds and the payee's point,
the rows credited), the derivation collapsed (<details>) with exact values and plan lines,
and a print stylesheet (a quarter on one page: charts small, derivation left out).
No script, no external reference; every text escaped (textsafe.for_html).
"""
from __future__ import annotations

import functools

from kamrules.diagnostics.textsafe import for_html, for_terminal
from kamrules.report import words
from kamrules.report.statement_text import (component_sentence, ineligible_text, credited_head, credited_rows, credited_title, curve_lines, dates, ledger_lines,
                                            effort_lines, headline, kind_fmt, left_head, left_rows, point_fmt, provenance,
                                            others_line, ratio_lines, rounding_note, subtitle, summed, total_label, who,
                                            zero_sentence)
from kamrules.report.svg import curve_svg

CSS = """
*{box-sizing:border-box}body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
margin:0;color:#1f2328;background:#f6f8fa}main{max-width:52rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.2rem;margin:0 0 .3rem}h3{font-size:1.05rem;
margin:.2rem 0 .5rem;display:flex;justify-content:space-between;gap:.5rem;flex-wrap:wrap}
.sub,.dates{color:#57606a;margin:.1rem 0}section,.component{background:#fff;border:1px solid #d0d7de;
border-radius:8px;padding:.8rem;margin:.8rem 0}.component{border-color:#e6e9ed}
.amount{font-variant-numeric:tabular-nums;white-space:nowrap;font-weight:600}
.headline{font-size:1.05rem;margin:.4rem 0;padding-left:1.1rem}.headline li:first-child{font-size:1.25rem}
table{border-collapse:collapse;width:100%}td,th{padding:.3rem .4rem;border-bottom:1px solid #eee;
text-align:left;overflow-wrap:anywhere}td.num,th.num{text-align:right}td.num{white-space:nowrap;overflow-wrap:normal}
table.rows{font-size:.9rem}
pre{background:#f6f8fa;padding:.4rem .5rem;border-radius:6px;margin:.3rem 0;font-size:.85rem;
white-space:pre-wrap;overflow-wrap:anywhere}.ln{color:#8c959f;user-select:none}
svg.chart{width:100%;max-width:520px;height:auto;display:block}figure{margin:.5rem 0}
.effort li{margin:.2rem 0}.why{color:#9a6700;font-weight:600}ul.rows{margin:.2rem 0 .4rem;
padding-left:1.2rem;font-size:.9rem;overflow-wrap:anywhere}ol.steps{list-style:none;padding:0;margin:0}
ol.steps>li{margin:.35rem 0}.note{color:#57606a;font-size:.9rem}.meta{font-size:.8rem;color:#57606a;
overflow-wrap:anywhere}details summary{cursor:pointer;font-weight:600}
@media (max-width:600px){body{font-size:15px}main{padding:.5rem}section,.component{padding:.6rem}
table.rows{font-size:.8rem}table.rows td,table.rows th{padding:.25rem .2rem}
table.wide tr:first-child{display:none}table.wide,table.wide tbody,table.wide tr,table.wide td{display:block}
table.wide tr{border-bottom:1px solid #d0d7de;padding:.2rem 0}table.wide td{border:0;display:flex;
justify-content:space-between;gap:.6rem;text-align:right;white-space:normal}
table.wide td::before{content:attr(data-label);color:#57606a;text-align:left}}
@page{size:A4;margin:12mm}
@media print{body{background:#fff;font-size:9pt;line-height:1.3}main{max-width:none;padding:0}
h1{font-size:14pt}h2{font-size:12pt}h3{font-size:10.5pt;margin:.1rem 0 .2rem}p,ul{margin:.15rem 0}
.headline{font-size:10pt;margin:.2rem 0}.headline li:first-child{font-size:11pt}.effort li{margin:0}
section,.component{border:0;padding:0;margin:.3rem 0;break-inside:avoid}details,.meta{display:none}
svg.chart{max-width:230px;float:right;margin-left:.5rem}figure{margin:.2rem 0}.component{overflow:hidden}}
"""


def e(text) -> str:
    return _escaped(text) if isinstance(text, str) else for_html(text)


@functools.lru_cache(maxsize=65536)
def _escaped(text: str) -> str:  # labels and names recur on every payee's page
    return for_html(text)


_CODE: dict = {}  # plan lines -> highlighted HTML: every payee's statement shows the same lines


def _code_html(lines: list) -> str:
    if not lines:
        return ""
    key = tuple(lines)
    hit = _CODE.get(key)
    if hit is None:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter

        from kamrules.syntax.highlight import KamLexer, KamStyle
        if len(_CODE) > 4096:
            _CODE.clear()
        code = highlight("\n".join(for_terminal(t) for _, t in lines), KamLexer(),
                         HtmlFormatter(noclasses=True, nowrap=True, style=KamStyle))
        # quotes in text are escaped by some Pygments releases and not others: one form, the raw one
        # (valid in element text; the attributes are the formatter's style="..." without quotes)
        code = code.replace("&quot;", '"').replace("&#39;", "'")
        out = [f'<span class="ln">{n:>4} </span>{h}' for (n, _), h in zip(lines, code.rstrip("\n").split("\n"))]
        hit = _CODE[key] = "<pre>" + "\n".join(out) + "</pre>"
    return hit


def _amount(st, m, component: str, period: str) -> str:
    return (f'<span class="amount" data-component="{e(component)}" data-period="{e(period)}" '
            f'data-value="{e(str(m.amount))}">{e(st.locale.paid(m))}</span>')


def _chart(st, cv) -> str:
    L = st.locale
    fx, fy = kind_fmt(L, cv.xkind, cv.xcur), kind_fmt(L, cv.ykind, st.currency)
    title = L._("{decision} against {arg}", decision=cv.decision, arg=cv.arg_name)
    fp = point_fmt(L, cv)
    desc = L._("Your point: {arg} = {x} gives {y}", arg=cv.arg_name, x=fp(cv.x), y=fy(cv.y))
    ytick = (lambda v: L.compact_money(v, st.currency)) if cv.ykind == "money" else None  # noqa: E731
    return curve_svg(cv.points, (cv.x, cv.y), fx, fy, title, cv.thresholds, desc=desc, you=L._("you:"),
                     key=(st.lang, cv.xkind, cv.xcur, cv.ykind, st.currency), ytick=ytick, pointfmt=fp)


def render_html(st) -> str:
    L = st.locale
    out = [f'<!DOCTYPE html>\n<html lang="{e(st.lang)}"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{e(L._('Payout statement'))} · {e(who(st))} · {e(st.plan_name)}</title>"
           f"<style>{CSS}</style></head>",
           f'<body><main><header><h1>{e(who(st))}</h1><p class="sub">{e(subtitle(st))}</p></header>']
    for pv in st.periods:
        out.append(f'<section class="period" data-period="{e(pv.period)}"><h2>{e(pv.period)}</h2>'
                   f'<p class="dates">{e(dates(L, pv))}</p><ul class="headline">')
        lines = headline(st, pv)
        out.append(f"<li>{e(L._('{label}:', label=L._(total_label(pv))))} {_amount(st, pv.total, 'total', pv.period)}</li>")
        out += [f"<li>{e(x)}</li>" for x in lines[1:]]
        out.append("</ul>")
        if pv.not_eligible is not None:
            out.append(f'<p class="why">{e(ineligible_text(L, pv))}</p>')
        for c in pv.components:
            out.append(f'<div class="component"><h3><span>{e(c.name)}</span>'
                       f"{_amount(st, c.amount, c.name, pv.period)}</h3><p>{e(component_sentence(st, c))}</p>")
            z = zero_sentence(st, c)
            if z:
                out.append(f'<p class="why">{e(z)}</p>')
            effort = effort_lines(st, pv, c)
            if effort:
                out.append(f"<p><b>{e(L._('Where to put the effort'))}</b></p><ul class=\"effort\">"
                           + "".join(f"<li>{e(x)}</li>" for x in effort) + "</ul>")
            ratios = ratio_lines(st, c)
            if ratios:
                out.append(f"<p><b>{e(L._('The ratios behind it'))}</b></p><ul class=\"ratios\">"
                           + "".join(f"<li>{e(x)}</li>" for x in ratios) + "</ul>")
            for cv in c.curves:
                out.append(f"<figure>{_chart(st, cv)}<figcaption><ul>"
                           + "".join(f"<li>{e(x)}</li>" for x in curve_lines(st, cv)) + "</ul></figcaption></figure>")
            for m in (x for x in c.credited if x.rows):  # a count at zero: said in the sentence only
                head = credited_head(L, m)
                more = (f"<tr><td colspan=\"{len(head)}\">{e(L._('{n} more rows', n=m.more))}</td></tr>"
                        if m.more else "")
                out.append(f"<details><summary>{e(credited_title(L, m))} "
                           f"({e(summed(L, m))})</summary>" + _table(head, credited_rows(st, m), more)
                           + (f'<p class="note">{e(note)}</p>' if (note := rounding_note(L, m)) else "")
                           + "</details>")
            for name, rows in c.left_out:
                out.append(f"<details><summary>{e(L._('Rows left out of {name}', name=name))}</summary>"
                           + _table(left_head(L, rows), left_rows(st, rows)) + "</details>")
            out.append(_derivation(st, c))
            out.append("</div>")
        notes = [words.say(L, x) for x in pv.absent + pv.paid] + [L._("not shown: {component} cannot apply to you", component=h)
                                       for h in pv.hidden]
        if notes:
            out.append('<ul class="note">' + "".join(f"<li>{e(x)}</li>" for x in notes) + "</ul>")
        out.append("</section>")
    if st.ledger is not None:
        out.append(f'<section class="ledger"><h2>{e(L._("Ledger"))}</h2><ul>'
                   + "".join(f"<li>{e(x)}</li>" for x in ledger_lines(st)) + "</ul></section>")
    rows = provenance(st, "")
    out.append(f'<section class="meta"><b>{e(rows[0])}</b><ul>' + "".join(f"<li>{e(x)}</li>" for x in rows[1:])
               + "</ul></section></main></body></html>\n")
    return "".join(out)


WIDE = 4  # a table of rows with more columns is a card per row on a phone (each cell under its head)


def _table(head: list, rows: list, tail: str = "") -> str:
    """A table of rows: heads [(label, is a number)], rows of cells' text (numbers right
    aligned and never broken: class num). Wider than WIDE columns (a conversion's, a count's
    dates), each row is a card on a narrow screen, each cell beside its head (data-label)."""
    wide = len(head) > WIDE
    cls = ["<td" + (' class="num"' if num else "") + (f' data-label="{e(h)}"' if wide else "") + ">" for h, num in head]
    return (('<table class="rows wide"><tr>' if wide else '<table class="rows"><tr>')
            + "".join(f'<th class="num">{e(h)}</th>' if num else f"<th>{e(h)}</th>" for h, num in head) + "</tr>"
            + "".join("<tr>" + "".join(f"{c_}{e(x)}</td>" for c_, x in zip(cls, cells)) + "</tr>" for cells in rows)
            + tail + "</table>")


def _derivation(st, c) -> str:
    L = st.locale
    out = [f"<details><summary>{e(L._('How it is computed'))}</summary><ol class=\"steps\">"]
    for s in c.steps:
        out.append(f'<li style="margin-left:{min(s.depth, 6) * 8}px"><div>{e(words.say(L, s.sentence))}</div>')
        out.append(_code_html(s.lines))
        out += [f'<div class="note">{e(words.say(L, n))}</div>' for n in s.notes]
        if s.rows or s.others:
            out.append('<ul class="rows">' + "".join(
                f"<li>{e(words.row_line(r, L=L))}" + "".join(f'<div class="note">{e(words.why_line(L, w))}</div>' for w in r.why)
                + "</li>"
                for r in s.rows) + (f"<li>… {s.more_rows}</li>" if s.more_rows else "")
                + (f"<li>{e(others_line(L, s))}</li>" if s.others else "") + "</ul>")
        out.append("</li>")
    out.append("</ol></details>")
    return "".join(out)
