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
  engine keeps fewer digits: it carries an error bound with each approximate value (the
  rules are below, STEP_ERROR...) and takes a decision only where the bound cannot change
  it, else computes it again exactly or hands it to the interpreter (backends/polars).

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

# Each mode as the two facts a backend lowers it from (the one definition of the modes
# besides Python's decimal constants above): where its result changes (`half`: at the
# half-way points between two multiples of the step; `whole`: at the multiples themselves)
# and which way it goes there (`even`: to the even multiple; `away`/`toward`: away from or
# toward zero; `down`/`up`: toward -inf / +inf).
ROUNDING_RULES = {
    "half_up": ("half", "away"), "half_even": ("half", "even"), "half_down": ("half", "toward"),
    "down": ("whole", "toward"), "up": ("whole", "away"), "floor": ("whole", "down"),
    "ceiling": ("whole", "up"),
}

# + - x of exact values: any rounding is refused (decimal.Inexact trapped)
EXACT_CONTEXT = CONTEXT.copy()
EXACT_CONTEXT.traps[decimal.Inexact] = True

CENT = Decimal("0.01")
GUARD = Decimal(1).scaleb(-GUARD_PLACES)

# Error bounds of approximate values computed with fewer digits than the interpreter's (the
# columnar engine keeps EXACT_PLACES places). Such a value carries an upper bound of its
# distance to the interpreter's value, propagated through every operation:
#   |err(a +- b)| <= ea + eb, |err(a * b)| <= |a| eb + |b| ea + ea eb,
#   |err(a / b)| <= (ea + |a / b| eb) / (|b| - eb) (unbounded when |b| <= eb),
#   plus STEP_ERROR for the rounding of each operation to EXACT_PLACES places; min/max and
#   the choices of a decision add SNAP_WIDTH (the interpreter chose on snapped values).
# A decision (a rounding, a comparison, a cell, a threshold, a weight's sign) is taken on
# such a value only where its distance to the decision's boundary exceeds the bound plus
# SNAP_WIDTH (snapping moves each of two compared values by at most half a GUARD): then the
# real value, the interpreter's value and its snapped value all lie on the same side, and
# every exact value of the interval too. Elsewhere the value is computed again exactly (the
# replay) or the payee-period goes to the interpreter. A backend computing the bounds with
# EXACT_PLACES places adds STEP_ERROR for each rounding of the bound's own arithmetic; a
# bound of BOUND_CAP or more counts as unbounded (every decision on the value is in doubt).
STEP_ERROR = Decimal(1).scaleb(-EXACT_PLACES)
SNAP_WIDTH = GUARD
BOUND_CAP = Decimal("1e6")


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


def allocation_in_doubt(total: Decimal, weights: dict, total_bound: Decimal,
                        weight_bounds: dict) -> bool:
    """Whether `allocate(Money(total), weights)` may take another decision than on values
    within the bounds (|total - T| <= total_bound, |w - W| <= weight_bounds[k]): a weight's
    sign, a cent boundary of a share, the count of cents left over, the order of two
    remainders at the cut (see the error bounds above). Exact inputs (bounds 0): False."""
    with decimal.localcontext(CONTEXT):
        bounds = [total_bound, *weight_bounds.values()]
        if not all(b.is_finite() for b in bounds):
            return True
        if not any(bounds):
            return False
        for k, w in weights.items():
            if w is not None and abs(w) <= weight_bounds[k]:
                return True
        active = {k: w for k, w in weights.items() if w is not None and w > 0}
        if not active:
            return False
        if len(active) == 1:  # the whole total goes to the one weight, whatever its value
            return total_bound > 0
        s = sum(active.values(), Decimal(0))
        es = sum((weight_bounds[k] for k in active), Decimal(0))
        if s <= es:
            return True
        rems, floors = [], Decimal(0)
        for k, w in active.items():
            exact = total * w / s
            ew = weight_bounds[k]
            err = ((abs(total) * ew + w * total_bound + total_bound * ew) / (s - es)
                   + abs(total * w) * es / (s * (s - es)) + SNAP_WIDTH)
            floor = quantize(exact, CENT, "floor")
            units = exact / CENT
            gap = min(units - units.to_integral_value(decimal.ROUND_FLOOR),
                      units.to_integral_value(decimal.ROUND_CEILING) - units) * CENT
            if gap <= err:
                return True
            floors += floor
            rems.append((-snap(exact - floor), err, k))
        spare = (total - floors) / CENT  # an approximate total: the cents left over are rounded
        if abs(spare - spare.to_integral_value(decimal.ROUND_FLOOR) - Decimal("0.5")) <= total_bound / CENT + SNAP_WIDTH:
            return True
        left = int(spare.to_integral_value())
        rems.sort(key=lambda r: (r[0], r[2]))
        if 0 < left < len(rems):
            (a, ea, _), (b, eb, _) = rems[left - 1], rems[left]
            if abs(a - b) <= ea + eb + SNAP_WIDTH:
                return True
        return False


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


def places_of(value: Decimal) -> int:
    """The decimal places a value needs (normalized without rounding: the default context's
    28 digits would drop places of a longer literal): 0.10 -> 1, 5 -> 0, 1E+1 -> 0."""
    exp = value.normalize(decimal.Context(prec=100)).as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0
