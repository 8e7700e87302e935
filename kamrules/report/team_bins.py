"""A histogram's bins (report/svg.py `_binned`, `histogram_bins`) counted on sorted values:
a value's bin, floor((v - lo) / width) in the decimal context, never decreases as v grows (each
step rounds monotonically), so each bin's first value is found by bisection and the counts
are the same as svg's value-by-value loop, at the cost of one sort (the team page's charts
of 100,000 payees, report/team.py). tests/test_team_scale.py compares both on random values.
"""
from __future__ import annotations

from decimal import ROUND_FLOOR


def span(values: list, bins: int) -> tuple:
    """(lo, hi, width) of `bins` equal bins between the values' min and max (svg._binned's)."""
    lo, hi = min(values), max(values)
    if hi == lo:
        hi = lo + 1
    return lo, hi, (hi - lo) / bins


def binned(values: list, bins: int) -> tuple:
    """(lo, hi, width, counts): svg._binned's answer (values already in order cost one pass)."""
    return _counted(sorted(values), bins)


def _counted(ordered: list, bins: int) -> tuple:
    lo, hi, width = span([ordered[0], ordered[-1]], bins)

    def k(v) -> int:
        return min(max(int(((v - lo) / width).to_integral_value(rounding=ROUND_FLOOR)), 0), bins - 1)

    starts, at = [], 0
    for j in range(bins):  # the first value whose bin is j or later
        a, b = at, len(ordered)
        while a < b:
            mid = (a + b) // 2
            if k(ordered[mid]) >= j:
                b = mid
            else:
                a = mid + 1
        starts.append(a)
        at = a
    starts.append(len(ordered))
    return lo, hi, width, [starts[j + 1] - starts[j] for j in range(bins)]


def histogram_bins(values: list, bins: int) -> list:
    """svg.histogram_bins's answer: [(low edge, high edge, count)] of the bins that hold a
    value; one (value, value, count) when every value is the same."""
    return chart_bins(values, bins)[1] if values else []


def chart_bins(values: list, bins: int) -> tuple:
    """((lo, hi, width, counts) for svg.histogram_svg, histogram_bins's list), the values
    sorted once for both (a chart and the words under it)."""
    ordered = sorted(values)
    counted = _counted(ordered, bins)
    if ordered[0] == ordered[-1]:
        return counted, [(values[0], values[0], len(values))]
    lo, _, width, counts = counted
    return counted, [(lo + width * j, lo + width * (j + 1), n) for j, n in enumerate(counts) if n]
