"""Inline SVG charts for statements and team pages: a curve (payout rate against attainment)
with the payee's point marked, and a histogram (payouts or attainments of a team).

Coordinates are computed in Decimal and printed with one decimal place, so the same data
draws byte-identical SVG; no script, no external reference: the markup is pasted into HTML.
"""
from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from kamrules.diagnostics.textsafe import for_html

W, H = Decimal(320), Decimal(180)
LEFT, RIGHT, TOP, BOTTOM = Decimal(46), Decimal(18), Decimal(12), Decimal(30)
ONE = Decimal("0.1")


def _c(v: Decimal) -> str:
    return format(v.quantize(ONE), "f")


def _scale(v, lo, hi, a, b):
    if hi == lo:
        return (a + b) / 2
    return a + (v - lo) * (b - a) / (hi - lo)


def _nice_ticks(lo: Decimal, hi: Decimal, n: int = 4) -> list:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = Decimal(1)
    while mag * 10 <= raw:
        mag *= 10
    while mag > raw:
        mag /= 10
    for m in (1, 2, 5, 10):
        step = mag * m
        if step >= raw:
            break
    start = (lo / step).to_integral_value(rounding=ROUND_FLOOR) * step
    ticks, t = [], start
    while t <= hi + step / 1000:
        if t >= lo - step / 1000:
            ticks.append(t)
        t += step
    return ticks


def _axes(out, xlo, xhi, ylo, yhi, xfmt, yfmt, whole_y=False):
    x0, x1, y0, y1 = LEFT, W - RIGHT, H - BOTTOM, TOP
    out.append(f'<line x1="{_c(x0)}" y1="{_c(y0)}" x2="{_c(x1)}" y2="{_c(y0)}" stroke="#888"/>')
    out.append(f'<line x1="{_c(x0)}" y1="{_c(y0)}" x2="{_c(x0)}" y2="{_c(y1)}" stroke="#888"/>')
    for t in _nice_ticks(xlo, xhi):
        x = _scale(t, xlo, xhi, x0, x1)
        out.append(f'<text x="{_c(x)}" y="{_c(y0 + 14)}" font-size="10" text-anchor="middle" '
                   f'fill="#555">{for_html(xfmt(t))}</text>')
    for t in _nice_ticks(ylo, yhi):
        if whole_y and t != t.to_integral_value():
            continue
        y = _scale(t, ylo, yhi, y0, y1)
        out.append(f'<line x1="{_c(x0)}" y1="{_c(y)}" x2="{_c(x1)}" y2="{_c(y)}" stroke="#eee"/>')
        out.append(f'<text x="{_c(x0 - 4)}" y="{_c(y + 3)}" font-size="10" text-anchor="end" '
                   f'fill="#555">{for_html(yfmt(t))}</text>')


def curve_svg(points: list, marker: tuple | None, xfmt, yfmt, title: str,
              thresholds: list = (), desc: str | None = None, you: str = "you:", key=None, ytick=None,
              pointfmt=None) -> str:
    """A step/line chart of (x, y) Decimal points (sorted by x), the payee's (x, y) marked;
    ytick: how the y axis's ticks are written when not by yfmt (short money: `15 k €`);
    pointfmt: how the payee's x is written when not by xfmt (an attainment to one decimal).

    Consecutive points whose y jumps are drawn as separate segments (tiers), thresholds as
    dashed vertical lines labelled with their value; the payee's point is a red dot, its
    label a legend in the top corner away from the curve; <title> and <desc> say it.
    key (the formats' identity, e.g. locale and units), when given: the chart without the
    payee's point is drawn once per points list (report/curves.py shares one list between
    the payees reading the same curve) and reused.
    """
    if not points:
        return ""
    known = _RANGES.get(id(points))
    if known is None or known[0] is not points:
        ys = [p[1] for p in points]
        known = _RANGES[id(points)] = (points, points[0][0], points[-1][0], min(ys + [Decimal(0)]), max(ys + [Decimal(0)]))
        if len(_RANGES) > 4096:
            _RANGES.clear()
    _, xlo, xhi, ylo, yhi = known
    if marker:
        xlo, xhi, ylo, yhi = min(xlo, marker[0]), max(xhi, marker[0]), min(ylo, marker[1]), max(yhi, marker[1])
    if yhi == ylo:
        yhi = ylo + 1
    label = f"{title}. {desc}" if desc else title
    out = [f'<svg viewBox="0 0 {W} {H}" role="img" class="chart" aria-label="{for_html(label)}">',
           f"<title>{for_html(title)}</title>" + (f"<desc>{for_html(desc)}</desc>" if desc else "")]
    x0, x1, y0, y1 = LEFT, W - RIGHT, H - BOTTOM, TOP
    mark = (_scale(marker[0], xlo, xhi, x0, x1), _scale(marker[1], ylo, yhi, y0, y1)) if marker else None
    rows = _label_rows(thresholds, xlo, xhi, mark, xfmt)
    ck = (key, id(points), title, tuple(thresholds), xlo, xhi, ylo, yhi, rows) if key is not None else None
    hit = _STATIC.get(ck) if ck is not None else None
    if hit is not None and hit[0] is points:
        out.append(hit[1])
    else:
        body: list = []
        _axes(body, xlo, xhi, ylo, yhi, xfmt, ytick or yfmt)
        _curve_body(body, points, thresholds, xlo, xhi, ylo, yhi, xfmt, rows)
        out.append("".join(body))
        if ck is not None:
            if len(_STATIC) > 4096:
                _STATIC.clear()
            _STATIC[ck] = (points, out[-1])
    if marker:
        mx, my = mark
        out.append(f'<circle cx="{_c(mx)}" cy="{_c(my)}" r="4.5" fill="#d1242f"/>')
        text = f"{you} {(pointfmt or xfmt)(marker[0])} → {yfmt(marker[1])}"  # `you`: the label and its colon, per language
        left = mx > (x0 + x1) / 2  # the legend in the corner opposite the point
        lx = x0 + 6 if left else x1 - 6
        out.append(f'<circle cx="{_c(lx if left else lx - 4)}" cy="{_c(TOP + 34)}" r="4" fill="#d1242f"/>')
        out.append(f'<text x="{_c(lx + 8 if left else lx - 12)}" y="{_c(TOP + 38)}" font-size="11" '
                   f'text-anchor="{"start" if left else "end"}" fill="#d1242f"{HALO}>{for_html(text)}</text>')
    out.append("</svg>")
    return "".join(out)


_RANGES: dict = {}  # id(points) -> (points, x range, y range)
_STATIC: dict = {}  # (key, id(points), title, thresholds, ranges) -> (points, the chart without the point)


# a white outline under a label: a dashed threshold line or the curve crossing it leaves it readable
HALO = ' stroke="#fff" stroke-width="3" paint-order="stroke"'


def _label_rows(thresholds, xlo, xhi, mark, xfmt) -> tuple:
    """The row (0, 1, 2: 10 units apart below the top) of each threshold's label: alternating
    0 and 1 so that neighbours do not overlap, moved to another row when the payee's point
    (a dot of radius 4.5) would cover it (a point on the threshold, at the top of the chart):
    first to row 2, which no neighbour uses."""
    rows = []
    for k, t in enumerate(thresholds):
        row = k % 2
        if mark is not None and xlo < t < xhi:
            x = _scale(t, xlo, xhi, LEFT, W - RIGHT)
            half = Decimal(3) * len(xfmt(t)) + Decimal("4.5")  # ~6 units a character at font size 10
            if abs(mark[0] - x) < half:
                for r in (row, 2, 1 - row):  # row 2 is no neighbour's; a box: baseline 8 up, 2 down
                    base = TOP + 10 + 10 * r
                    if not (base - 8 - Decimal("4.5") < mark[1] < base + 2 + Decimal("4.5")):
                        row = r
                        break
        rows.append(row)
    return tuple(rows)


def _curve_body(out, points, thresholds, xlo, xhi, ylo, yhi, xfmt, rows=()):
    x0, x1, y0, y1 = LEFT, W - RIGHT, H - BOTTOM, TOP
    for k, t in enumerate(thresholds):
        if xlo < t < xhi:
            x = _scale(t, xlo, xhi, x0, x1)
            out.append(f'<line x1="{_c(x)}" y1="{_c(y0)}" x2="{_c(x)}" y2="{_c(y1 + 14)}" '
                       f'stroke="#999" stroke-dasharray="3 3"/>')
            row = rows[k] if k < len(rows) else k % 2
            out.append(f'<text x="{_c(x)}" y="{_c(y1 + 10 + 10 * row)}" font-size="10" '
                       f'text-anchor="middle" fill="#444"{HALO}>{for_html(xfmt(t))}</text>')
    segments, current = [], []
    for x, y, row in points:
        if current and current[-1][2] != row:
            segments.append(current)
            current = []
        current.append((x, y, row))
    if current:
        segments.append(current)
    for seg in segments:
        coords = " ".join(f"{_c(_scale(x, xlo, xhi, x0, x1))},{_c(_scale(y, ylo, yhi, y0, y1))}"
                          for x, y, _ in seg)
        out.append(f'<polyline points="{coords}" fill="none" stroke="#1f6feb" stroke-width="2"/>')


def _binned(values: list, bins: int) -> tuple:
    """(lo, hi, width, counts) of `bins` equal-width bins between the values' min and max."""
    lo, hi = min(values), max(values)
    if hi == lo:
        hi = lo + 1
    width = (hi - lo) / bins
    counts = [0] * bins
    for v in values:
        k = int(((v - lo) / width).to_integral_value(rounding=ROUND_FLOOR))
        counts[min(max(k, 0), bins - 1)] += 1
    return lo, hi, width, counts


def histogram_bins(values: list, bins: int) -> list:
    """[(low edge, high edge, count)] of the bins histogram_svg draws that hold a value; one
    (value, value, count) when every value is the same (no range to say: `0.00: 3 payees`)."""
    if not values:
        return []
    if min(values) == max(values):
        return [(values[0], values[0], len(values))]
    lo, _, width, counts = _binned(values, bins)
    return [(lo + width * k, lo + width * (k + 1), n) for k, n in enumerate(counts) if n]


def histogram_svg(values: list, bins: int, xfmt, title: str, unit="", binned: tuple | None = None) -> str:
    """Counts of Decimal values in `bins` equal-width bins between their min and max (unit: what
    is counted, or a function of the count giving it: `1 payee`, `2 payees`): each
    bar labelled with its count above it, and its range in its <title>; the x axis labelled at
    the bins' edges (first, middle, last), the y axis by whole counts from 0. binned: the
    values' (lo, hi, width, counts) counted already (report/team_bins.py, on sorted values)."""
    if not values:
        return ""
    lo, hi, width, counts = _binned(values, bins) if binned is None else binned
    top = Decimal(max(counts))
    out = [f'<svg viewBox="0 0 {W} {H}" role="img" '
           f'class="chart" aria-label="{for_html(title)}">', f"<title>{for_html(title)}</title>"]
    x0, x1, y0, y1 = LEFT, W - RIGHT, H - BOTTOM, TOP + 12  # room above the tallest bar's count
    out.append(f'<line x1="{_c(x0)}" y1="{_c(y0)}" x2="{_c(x1)}" y2="{_c(y0)}" stroke="#888"/>')
    out.append(f'<line x1="{_c(x0)}" y1="{_c(y0)}" x2="{_c(x0)}" y2="{_c(y1)}" stroke="#888"/>')
    for t in _nice_ticks(Decimal(0), top):
        if t != t.to_integral_value():
            continue
        y = _scale(t, Decimal(0), top, y0, y1)
        out.append(f'<text x="{_c(x0 - 4)}" y="{_c(y + 3)}" font-size="10" text-anchor="end" '
                   f'fill="#555">{format(t.normalize(), "f")}</text>')
    for k in sorted({0, bins // 2, bins}):
        x = _scale(lo + width * k, lo, hi, x0, x1)
        anchor = "start" if k == 0 else "end" if k == bins else "middle"
        out.append(f'<line x1="{_c(x)}" y1="{_c(y0)}" x2="{_c(x)}" y2="{_c(y0 + 4)}" stroke="#888"/>')
        out.append(f'<text x="{_c(x)}" y="{_c(y0 + 15)}" font-size="10" text-anchor="{anchor}" '
                   f'fill="#555">{for_html(xfmt(lo + width * k))}</text>')
    for k, n in enumerate(counts):
        a = _scale(lo + width * k, lo, hi, x0, x1)
        b = _scale(lo + width * (k + 1), lo, hi, x0, x1)
        y = _scale(Decimal(n), Decimal(0), top, y0, y1)
        what = unit(n) if callable(unit) else unit
        label = f"{xfmt(lo + width * k)} – {xfmt(lo + width * (k + 1))}: {n} {what}".strip()
        if n:
            out.append(f'<rect x="{_c(a + 1)}" y="{_c(y)}" width="{_c(b - a - 2)}" height="{_c(y0 - y)}" '
                       f'fill="#1f6feb" opacity="0.8"><title>{for_html(label)}</title></rect>')
            out.append(f'<text x="{_c((a + b) / 2)}" y="{_c(y - 3)}" font-size="10" text-anchor="middle" '
                       f'fill="#1f2328">{n}</text>')
    out.append("</svg>")
    return "".join(out)
