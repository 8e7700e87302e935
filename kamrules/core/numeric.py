"""Exact numbers: the one decimal context every amount and ratio is computed in, the
`Money` value, and rounding with a named mode.

The numeric model (docs/security.md):
- Data and plan numbers are exact decimals inside the range of limits.py (18 digits before
  the point, 12 after; Money: its currency's decimals). Beyond is refused on load (KR414),
  never rounded.
- An *exact* value is one with at most EXACT_PLACES (24) decimal places: every cell, literal
  and result of + - x on exact values. `compute` does these operations with no rounding at
  all (PRECISION significant digits, decimal.Inexact trapped); an exact operation whose
  result would need more than EXACT_PLACES places or more than PRECISION digits is refused
  (Imprecise, KR415), never rounded.
- Division is the one operation that may be inexact: a quotient that does not terminate
  within EXACT_PLACES places is kept to PRECISION (80) significant digits. Such a value,
  and anything computed from it, is *approximate*: it has non-zero digits beyond
  EXACT_PLACES places (which an exact value never has). Operations on an approximate value
  round to PRECISION digits.
- Snapping: comparisons and rounding see an approximate value rounded half-even to
  GUARD_PLACES (16) places (1 / 3 * 3 >= 100% holds, 48793.5 / 12 rounds as 4066.125). An
  exact value is never snapped. `compare` and `between` are these comparisons (every
  operator, `==` included; check.tables matches decision cells with them). The columnar
  engine uses the same GUARD_PLACES for its quotients and hands a comparison or rounding it
  cannot decide the same way to the interpreter (backends/polars/values.py).

The context traps FloatOperation (a float mixed into a Decimal), InvalidOperation, Overflow
and DivisionByZero.
"""
from __future__ import annotations

import decimal
from decimal import Decimal

import attrs

PRECISION = 80       # significant digits: exact for sums and products of in-range values
EXACT_PLACES = 24    # an exact value has at most this many decimal places (columnar: Decimal(38, 24))
GUARD_PLACES = 16    # approximate values (non-terminating quotients) are compared at this many places

CONTEXT = decimal.Context(
    prec=PRECISION,
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

# + - x of exact values: any rounding is refused (decimal.Inexact trapped)
EXACT_CONTEXT = CONTEXT.copy()
EXACT_CONTEXT.traps[decimal.Inexact] = True

CENT = Decimal("0.01")
GUARD = Decimal(1).scaleb(-GUARD_PLACES)


class Fallback(Exception):
    """The data needs the interpreter: a value the columnar engine cannot compute (its
    diagnostic comes from the interpreter), or an amount beyond its Decimal(38, EXACT_PLACES)
    columns (raised by the fast loader too, hence here)."""


class Imprecise(ArithmeticError):
    """An exact operation whose result kamrules cannot keep exactly (KR415)."""


# The named steps of round(x, step, mode) besides a literal: the one table the checker and
# every backend read.
ROUND_STEPS = {"cent": Decimal("0.01"), "unit": Decimal("1")}

def approximate(value) -> bool:
    """Whether a Decimal has non-zero digits beyond EXACT_PLACES places: the mark of a value
    computed from a non-terminating quotient (an exact value never has them)."""
    if not isinstance(value, Decimal):
        return False
    exp = value.as_tuple().exponent
    if not isinstance(exp, int) or exp >= -EXACT_PLACES:
        return False
    exp = value.normalize(CONTEXT).as_tuple().exponent
    return isinstance(exp, int) and exp < -EXACT_PLACES


def compute(op: str, a: Decimal, b: Decimal) -> Decimal:
    """a op b (op in + - * /) under the numeric model: exact, or a quotient kept to
    PRECISION digits, or Imprecise. DivisionByZero and InvalidOperation propagate."""
    fuzzy = approximate(a) or approximate(b)
    ctx = CONTEXT if fuzzy or op == "/" else EXACT_CONTEXT
    try:
        if op == "+":
            result = ctx.add(a, b)
        elif op == "-":
            result = ctx.subtract(a, b)
        elif op == "*":
            result = ctx.multiply(a, b)
        else:
            result = ctx.divide(a, b)
    except decimal.Inexact:
        digits = a.adjusted() + b.adjusted() + 1 if op == "*" else max(a.adjusted(), b.adjusted()) + 1
        if op != "/" and digits >= PRECISION:
            # not a precision problem but a magnitude one: the run stops with KR413
            raise decimal.Overflow(f"{a} {op} {b} has more than {PRECISION} digits before the point") from None
        raise Imprecise(f"the exact result of {a} {op} {b} has more than {PRECISION} digits") from None
    if fuzzy:
        return result
    if op == "/":
        exp = result.as_tuple().exponent
        if isinstance(exp, int) and exp >= -EXACT_PLACES and len(result.as_tuple().digits) >= PRECISION:
            raise Imprecise(f"the quotient {a} / {b} does not keep {EXACT_PLACES} exact places")
        return result
    if approximate(result):
        raise Imprecise(f"the exact result of {a} {op} {b} has more than {EXACT_PLACES} decimal places")
    return result


@attrs.frozen
class Money:
    amount: Decimal
    currency: str

    def __str__(self) -> str:
        return f"{format_amount(self.amount)} {self.currency}"


def quantize(value: Decimal, step: Decimal, mode: str) -> Decimal:
    """Round `value` to a multiple of `step` (0.01, 1, 0.05...) with the named mode.

    An approximate value (computed from a division that does not terminate: x / 12,
    x / 3 * 3) is first snapped to GUARD_PLACES decimals (see the module doc), so an exact
    4066.125 arriving as 4066.12499...9 rounds as 4066.125 does; an exact value is rounded
    as it is.
    """
    value = snap(value)
    with decimal.localcontext(CONTEXT):
        units = (value / step).quantize(Decimal(1), rounding=ROUNDING_MODES[mode])
        result = units * step
        exponent = step.as_tuple().exponent
        return result.quantize(step) if isinstance(exponent, int) and exponent < 0 else result


def snap(value):
    """An approximate value rounded half-even to GUARD_PLACES places (for comparisons, so
    1/3 * 3 >= 100% holds); an exact value, or a non-Decimal, as it is."""
    if approximate(value):
        return CONTEXT.quantize(value, GUARD)
    return value


_COMPARE = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}


def compare(op: str, a, b) -> bool:
    """a op b (op in < <= > >= == !=) as the numeric model compares: an approximate value
    snapped to GUARD_PLACES first (so 1 / 3 * 3 == 1, >= 1 and <= 1 all hold), an exact
    value as it is. Non-Decimal values (text, dates, Money amounts passed as Decimals by
    the caller) compare as they are."""
    return _COMPARE[op](snap(a), snap(b))


def between(x, lo, hi) -> bool:
    """lo <= x <= hi under `compare` (both ends included)."""
    return compare("<=", lo, x) and compare("<=", x, hi)


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


def allocate(total: Money, weights: dict) -> dict:
    """Split `total` by weight, to the cent, adding up exactly (largest remainder).

    Weights <= 0 or empty get nothing and take no part; leftover cents go one each to the
    largest remainders, ties to the lowest payee id.
    """
    with decimal.localcontext(CONTEXT):
        active = {k: w for k, w in weights.items() if w is not None and w > 0}
        out = {k: Money(Decimal("0.00"), total.currency) for k in weights}
        if not active:
            return out
        s = sum(active.values(), Decimal(0))
        exact = {k: total.amount * w / s for k, w in active.items()}
        floors = {k: quantize(v, CENT, "floor") for k, v in exact.items()}
        left = int(((total.amount - sum(floors.values(), Decimal(0))) / CENT).to_integral_value())
        order = sorted(active, key=lambda k: (-snap(exact[k] - floors[k]), k))  # a true tie: by id
        for k in order[:max(left, 0)]:
            floors[k] += CENT
        for k, v in floors.items():
            out[k] = Money(v, total.currency)
        return out
