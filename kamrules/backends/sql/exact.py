"""Exact decimal arithmetic in SQL, whatever the dialect's decimal defaults.

Every numeric value of the SQL backend is a DECIMAL(38, s) whose scale s is fixed statically
by its type and its operands (a cell or a literal: its places; a sum: the larger scale; a
product: the sum of the scales, refused beyond core.numeric.EXACT_PLACES); every node is cast
explicitly to its DECIMAL(38, s), so no engine ever picks a scale, and no DOUBLE appears. A
division by anything but a literal whose inverse terminates is kept as a pair (numerator,
denominator) and only ever rounded (the plan's round() or the rounding of components): it is
computed as an integer quotient and remainder in HUGEINT / DECIMAL(38, 0) units, and the
named rounding mode is applied to those integers. The interpreter's snapping of a
non-terminating quotient to GUARD_PLACES (16) places (core.numeric.snap) is reproduced the
same way: the quotient at 16 places, half-even, decided by 2 x remainder against the
divisor; a quotient that terminates within EXACT_PLACES places is rounded as it is.

The decimal rules this guards against (docs/scaling.md):
- DuckDB: DECIMAL / DECIMAL returns a DOUBLE; a product's scale is the sum of the scales
  (an error beyond 38); a cast to a smaller scale rounds half away from zero silently.
- Spark: a result needing more than 38 digits has its scale cut (down to 6 places) under
  spark.sql.decimalOperations.allowPrecisionLoss, silently; a comparison (CASE, coalesce)
  of DECIMAL(38, 3) with DECIMAL(38, 2) is made at scale 2 (dialects.py, translate.aligned).
- Snowflake: the scale of a division is max(s1, 6) + ... capped at 12 places.
- BigQuery: NUMERIC keeps 9 places (BIGNUMERIC 38): anything finer is rounded.
Overflow (a value beyond DECIMAL(38, s) or HUGEINT) is an error in DuckDB, never a wrapped
value: the run then goes to the interpreter, which gives the diagnostic.
"""
from __future__ import annotations

from decimal import Decimal

GUARD = 16  # core.numeric.GUARD_PLACES
MODES = ("half_up", "half_even", "half_down", "down", "up", "floor", "ceiling")


def dec_type(scale: int) -> str:
    return f"DECIMAL(38, {scale})"


def cast(sql: str, scale: int) -> str:
    return f"CAST({sql} AS {dec_type(scale)})"


def literal(value: Decimal) -> tuple[str, int]:
    """(SQL, scale) of an exact decimal literal."""
    exp = value.as_tuple().exponent
    scale = max(0, -exp) if isinstance(exp, int) else 0
    text = format(value, "f")
    return cast(f"'{text}'", scale), scale


def ints(sql: str, scale: int) -> str:
    """The value as an integer count of 10^-scale units (exact: the value has that scale)."""
    return f"CAST({sql} * {10 ** scale} AS HUGEINT)" if scale else f"CAST({sql} AS HUGEINT)"


def helper_bodies() -> dict[str, str]:
    """The integer helpers every generated statement calls, name -> body over (a, b), in
    DuckDB's SQL (dialects.py makes them macros or functions): kr_fmod / kr_fdiv (floor
    modulo and division, b > 0) and kr_round_<mode>(a, b): a / b rounded to an integer with
    the named mode, from the quotient and the remainder."""
    q = "kr_fdiv(a, b)"
    r = "kr_fmod(a, b)"
    up = f"({q} + 1)"
    half = {"half_up": f"CASE WHEN a >= 0 THEN {up} ELSE {q} END",
            "half_down": f"CASE WHEN a >= 0 THEN {q} ELSE {up} END",
            "half_even": f"CASE WHEN {q} % 2 = 0 THEN {q} ELSE {up} END"}
    body = {"floor": q,
            "ceiling": f"CASE WHEN {r} = 0 THEN {q} ELSE {up} END",
            "down": f"CASE WHEN {r} = 0 OR a >= 0 THEN {q} ELSE {up} END",
            "up": f"CASE WHEN {r} = 0 OR a < 0 THEN {q} ELSE {up} END"}
    for mode, tie in half.items():
        body[mode] = f"CASE WHEN 2 * {r} > b THEN {up} WHEN 2 * {r} < b THEN {q} ELSE {tie} END"
    return {"kr_fmod": "((a % b) + b) % b", "kr_fdiv": "(a - kr_fmod(a, b)) // b",
            **{f"kr_round_{m}": body[m] for m in MODES}}


def round_units(a: str, b: str, mode: str) -> str:
    """a / b (integers, b > 0) rounded to an integer with the named mode (helper_bodies())."""
    return f"kr_round_{mode}({a}, {b})"


def step_parts(step: Decimal) -> tuple[int, int]:
    """step = k / 10^p: (k, p)."""
    exp = step.as_tuple().exponent
    p = max(0, -exp)
    return int(step.scaleb(p)), p


def snapped_units(num: str, ns: int, den: str, ds: int) -> str:
    """SQL: num / den snapped half-even to GUARD places, in 10^-GUARD units (an integer)."""
    n, d = ints(num, ns), ints(den, ds)
    sn = f"(CASE WHEN {d} < 0 THEN -{n} ELSE {n} END)"
    e = GUARD + ds - ns
    a, b = (f"({sn} * {10 ** e})", f"abs({d})") if e >= 0 else (sn, f"(abs({d}) * {10 ** -e})")
    return round_units(a, b, "half_even")


def round_ratio(num: str, ns: int, den: str, ds: int, step: Decimal, mode: str,
                snapped: str | None = None) -> tuple[str, int]:
    """(SQL, scale) of round(num / den, step, mode) as the interpreter rounds it: exactly when
    the quotient has at most 24 places, else after snapping it half-even to 16 places.
    num has scale ns, den scale ds; den != 0 (the caller's error mask). `snapped`: the SQL
    of snapped_units, computed beforehand (its macros nest within this one's otherwise)."""
    k, p = step_parts(step)
    if p > GUARD:
        raise ValueError("a rounding step finer than 16 places")
    n, d = ints(num, ns), ints(den, ds)
    # value = N / D * 10^(ds - ns); sign moved onto the numerator
    sn = f"(CASE WHEN {d} < 0 THEN -{n} ELSE {n} END)"
    sd = f"abs({d})"

    def scaled(places: int) -> tuple[str, str]:
        """(a, b): value * 10^places = a / b."""
        e = places + ds - ns
        return (f"({sn} * {10 ** e})", sd) if e >= 0 else (sn, f"({sd} * {10 ** -e})")

    a16, b16 = scaled(GUARD)
    # at most 24 places: the remainder at 16 places, times 10^8, is a multiple of the divisor
    exact = f"((kr_fmod({a16}, {b16}) * {10 ** (24 - GUARD)}) % {b16} = 0)"
    # exact: value / step = value * 10^p / k
    ap, bp = scaled(p)
    direct = round_units(ap, f"({bp} * {k})", mode)
    if snapped is None:  # the value at 16 places, in 10^-16 units (a column when the caller has it)
        snapped = snapped_units(num, ns, den, ds)
    via_snap = round_units(snapped, str(k * 10 ** (GUARD - p)), mode)
    units = f"CASE WHEN {exact} THEN {direct} ELSE {via_snap} END"
    return from_units(units, k, p), p


def round_exact(x: str, scale: int, step: Decimal, mode: str) -> tuple[str, int]:
    """(SQL, scale) of round(x, step, mode) for an exact x of that scale."""
    k, p = step_parts(step)
    a = ints(x, scale)
    if scale >= p:
        units = round_units(a, str(k * 10 ** (scale - p)), mode)
    else:
        units = round_units(f"({a} * {10 ** (p - scale)})", str(k), mode)
    return from_units(units, k, p), p


def from_units(units: str, k: int, p: int) -> str:
    """units x k x 10^-p as DECIMAL(38, p), by a product with an exact literal (a division
    would give a DOUBLE in DuckDB)."""
    whole = f"CAST(({units}) * {k} AS {dec_type(0)})"
    if not p:
        return whole
    return cast(f"{whole} * {literal(Decimal(1).scaleb(-p))[0]}", p)
