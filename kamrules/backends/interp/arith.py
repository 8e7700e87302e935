"""The interpreter's arithmetic and its stops: `Problem` (a diagnostic waiting for its payee
and period), `arith` (+ - * / on money, numbers and dates through core.numeric, KR407/KR413/
KR415), and `fail` (the KamError of a Problem in a payee-period)."""
from __future__ import annotations

import datetime as dt
import decimal
from decimal import Decimal

from kamrules.core.limits import MAX_DATE, MAX_INTEGER_DIGITS
from kamrules.core.numeric import Imprecise, Money, compare, compute
from kamrules.diagnostics.diagnostic import Diagnostic, KamError


class Problem(Exception):
    """A value the plan cannot compute; `ctx` is the payee-period whose definition met it (set
    by the first definition it leaves: another payee's, for a pool's weight or a team total)."""
    def __init__(self, code, message, span, hint=None):
        super().__init__(message)
        self.code, self.message, self.span, self.hint = code, message, span, hint
        self.ctx = None


def arith(op, a, b, node):
    try:
        if isinstance(a, Money) or isinstance(b, Money):
            return money_arith(op, a, b)
        if isinstance(a, dt.date):
            if isinstance(b, dt.date):
                return Decimal((a - b).days)
            days = dt.timedelta(days=int(b))
            return a + days if op == "+" else a - days
        return compute(op, a, b)
    except Imprecise as err:
        raise Problem("KR415", f"this result needs more precision than kamrules keeps exactly: {err}",
                      node.span, "round an intermediate value (round(x, cent, half_up)) or use fewer "
                      "decimals in the data") from None
    except decimal.DivisionByZero:
        raise Problem("KR407", "division by zero", node.span,
                      "guard the divisor: if x == 0 then ... else ...") from None
    except decimal.InvalidOperation as err:
        if op == "/" and plain_number(b) == 0:
            raise Problem("KR407", "undefined operation (0 / 0)", node.span,
                          "guard the divisor: if x == 0 then ... else ...") from None
        raise out_of_range(err, node.span) from None
    except (ArithmeticError, ValueError) as err:  # Overflow; a date before year 1 or after 9999
        raise out_of_range(err, node.span) from None


def out_of_range(err, span, what: str | None = None) -> Problem:
    """KR413: a value the computation cannot hold (an amount beyond the supported digits, a
    date past the calendar's end); the run stops on it, naming the expression."""
    if what is None:
        what = "a date beyond the calendar (years 1 to 9999)" if isinstance(err, (OverflowError, ValueError)) \
            else "a number beyond the supported digits"
    return Problem("KR413", f"value out of range during the computation: {what}", span,
                   f"amounts have at most {MAX_INTEGER_DIGITS} digits before the point and dates "
                   f"end on {MAX_DATE.isoformat()}; check the data and the plan's multiplications")


def money_arith(op, a, b):
    if op in "+-":
        return Money(compute(op, a.amount, b.amount), a.currency)
    if op == "*":
        return Money(compute(op, a.amount, b), a.currency) if isinstance(a, Money) else \
            Money(compute(op, a, b.amount), b.currency)
    if isinstance(b, Money):
        return compute(op, a.amount, b.amount)
    return Money(compute(op, a.amount, b), a.currency)


def same_value(a, b):
    """`a == b` as the numeric model compares (core.numeric.compare: an approximate quotient
    snapped first, so 1 / 3 * 3 == 1 like >= and <=); text, dates, periods as they are."""
    if isinstance(a, Money) and isinstance(b, Money):
        return a.currency == b.currency and compare("==", a.amount, b.amount)
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return compare("==", a, b)
    return a == b


def plain_number(v):
    return v.amount if isinstance(v, Money) else v


def to_problem_diag(p: Problem, ctx) -> Diagnostic:
    where = f" [payee {ctx.payee.id}, period {ctx.period}]" if ctx is not None else ""
    return Diagnostic(p.code, p.message + where, p.span, p.hint)


def fail(p: Problem, ctx):
    raise KamError([to_problem_diag(p, ctx)])
