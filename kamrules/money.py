"""Exact numbers: the one decimal context every amount and ratio is computed in, the
`Money` value, and rounding with a named mode.

The context traps FloatOperation (a float mixed into a Decimal), InvalidOperation, Overflow
and DivisionByZero; precision is 34 significant digits (IEEE decimal128).
"""
from __future__ import annotations

import decimal
from decimal import Decimal

import attrs

CONTEXT = decimal.Context(
    prec=34,
    rounding=decimal.ROUND_HALF_EVEN,
    Emin=-999999,
    Emax=999999,
    traps=[decimal.FloatOperation, decimal.InvalidOperation, decimal.Overflow,
           decimal.DivisionByZero],
)

ROUNDING_MODES = {
    "half_up": decimal.ROUND_HALF_UP,      # half away from zero
    "half_even": decimal.ROUND_HALF_EVEN,  # banker's rounding
    "half_down": decimal.ROUND_HALF_DOWN,
    "down": decimal.ROUND_DOWN,            # toward zero
    "up": decimal.ROUND_UP,                # away from zero
    "floor": decimal.ROUND_FLOOR,
    "ceiling": decimal.ROUND_CEILING,
}

CENT = Decimal("0.01")
GUARD_PLACES = 20
GUARD = Decimal(1).scaleb(-GUARD_PLACES)


@attrs.frozen
class Money:
    amount: Decimal
    currency: str

    def __str__(self) -> str:
        return f"{format_amount(self.amount)} {self.currency}"


def quantize(value: Decimal, step: Decimal, mode: str) -> Decimal:
    """Round `value` to a multiple of `step` (0.01, 1, 0.05...) with the named mode.

    Guard digits: a division that does not terminate (x / 12, x / 3 * 3) leaves its last
    of 34 digits rounded, so an exact 4066.125 can arrive as 4066.12499...9 and an exact
    100% as 0.99999...9. The value is first snapped to GUARD_PLACES decimals (half-even),
    far below any amount or ratio's own precision, so such results round as the exact
    value does; values that terminate earlier are untouched.
    """
    with decimal.localcontext(CONTEXT):
        if value.as_tuple().exponent < -GUARD_PLACES:
            value = value.quantize(GUARD, rounding=decimal.ROUND_HALF_EVEN)
        units = (value / step).quantize(Decimal(1), rounding=ROUNDING_MODES[mode])
        result = units * step
        exponent = step.as_tuple().exponent
        return result.quantize(step) if isinstance(exponent, int) and exponent < 0 else result


def snap(value):
    """`value` without the noise of a non-terminating division (see quantize); for
    comparisons, so 1/3 * 3 >= 100% holds. Non-Decimal values pass through."""
    if isinstance(value, Decimal) and value.is_finite() and value.as_tuple().exponent < -GUARD_PLACES:
        with decimal.localcontext(CONTEXT):
            return value.quantize(GUARD, rounding=decimal.ROUND_HALF_EVEN)
    return value


def format_amount(value: Decimal, thousands: bool = False) -> str:
    """Two decimals, `-` for negatives, never `-0.00`; `12,600.00` with thousands (for
    people), `12600.00` without (the CSV contract)."""
    with decimal.localcontext(CONTEXT):
        q = value.quantize(CENT, rounding=decimal.ROUND_HALF_UP)
        if q == 0:
            q = abs(q)
        return f"{q:,.2f}" if thousands else f"{q:.2f}"


def format_rate(value: Decimal) -> str:
    with decimal.localcontext(CONTEXT):
        pct = (value * 100).normalize()
        if pct == pct.to_integral_value():
            pct = pct.quantize(Decimal(1))
        return f"{pct}%"
