"""The plan's type system: Money[currency], Rate, Number, Count, Date, Period, Bool, Text,
plus the internal shapes the checker needs (rows of a table, one row, a list).

Rate, Number and Count are all dimensionless; Money carries its currency. `arith` and
`compare` encode the unit rules; they return a type or an error message + hint.
"""
from __future__ import annotations

import attrs

SCALAR_KINDS = ("money", "rate", "number", "count", "date", "period", "bool", "text")
DIMENSIONLESS = ("rate", "number", "count")
TYPE_NAMES = {"Money": "money", "Rate": "rate", "Percent": "rate", "Number": "number",
              "Count": "count", "Date": "date", "Period": "period", "Bool": "bool", "Text": "text"}


@attrs.frozen
class Type:
    kind: str
    currency: str | None = None
    table: str | None = None
    elem: "Type | None" = None

    def __str__(self) -> str:
        if self.kind == "money":
            return f"Money[{self.currency}]" if self.currency else "Money"
        if self.kind in ("rows", "row"):
            return f"{'rows of' if self.kind == 'rows' else 'a row of'} `{self.table}`"
        if self.kind == "list":
            return f"List[{self.elem}]"
        if self.kind == "unknown":
            return "?"
        return {v: k for k, v in TYPE_NAMES.items() if k != "Percent"}[self.kind]

    @property
    def numeric(self) -> bool:
        return self.kind in DIMENSIONLESS or self.kind == "money"

    @property
    def dimensionless(self) -> bool:
        return self.kind in DIMENSIONLESS


MONEY = Type("money")
RATE = Type("rate")
NUMBER = Type("number")
COUNT = Type("count")
DATE = Type("date")
PERIOD = Type("period")
BOOL = Type("bool")
TEXT = Type("text")
UNKNOWN = Type("unknown")


def money(currency: str | None) -> Type:
    return Type("money", currency)


def rows(table: str) -> Type:
    return Type("rows", table=table)


def row(table: str) -> Type:
    return Type("row", table=table)


def list_of(elem: Type) -> Type:
    return Type("list", elem=elem)


def _dimless_join(a: Type, b: Type) -> Type:
    if "rate" in (a.kind, b.kind):
        return RATE
    if a.kind == b.kind == "count":
        return COUNT
    return NUMBER


def assignable(want: Type, got: Type) -> bool:
    """Can a value of type `got` stand where `want` is declared?"""
    if UNKNOWN in (want, got):
        return True
    if want.kind == "money" and got.kind == "money":
        return want.currency is None or got.currency is None or want.currency == got.currency
    if want.dimensionless and got.dimensionless:
        return True
    return want == got


def unify(a: Type, b: Type) -> Type | None:
    """The common type of two branches (if arms, curve rows), or None."""
    if a.kind == "unknown":
        return b
    if b.kind == "unknown":
        return a
    if a.kind == "money" and b.kind == "money":
        return a if a.currency == b.currency else None
    if a.dimensionless and b.dimensionless:
        return _dimless_join(a, b)
    return a if a == b else None


def mismatch_code(a: str | None, b: str | None) -> str:
    """The code of a currency mismatch: KR340 when one side is the payee's pay currency
    (`payee.COLUMN`, a unit distinct from every fixed code), else KR202."""
    return "KR340" if any(c and c.startswith("payee.") for c in (a, b)) else "KR202"


def fx_hint(target: str | None, otherwise: str) -> str:
    if target and target.startswith("payee."):
        return f"convert the fixed-currency amount with fx(amount, {target}, day)"
    return otherwise


def _mismatch(a: Type, b: Type, message: str, hint: str) -> "TypeProblem":
    code = mismatch_code(a.currency, b.currency)
    if code == "KR340":
        target = a.currency if (a.currency or "").startswith("payee.") else b.currency
        hint = fx_hint(target, hint)
    return TypeProblem(code, message, hint)


class TypeProblem(Exception):
    def __init__(self, code: str, message: str, hint: str | None = None):
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


def arith(op: str, a: Type, b: Type) -> Type:
    """Result type of `a op b` for + - * /, or raise TypeProblem."""
    if a.kind == "unknown" or b.kind == "unknown":
        return UNKNOWN
    if op in "+-":
        if a.kind == "money" and b.kind == "money":
            if a.currency != b.currency:
                raise _mismatch(a, b, f"cannot {'add' if op == '+' else 'subtract'} {a} and {b}",
                                'convert one side first, e.g. fx(amount, "EUR", close_date)')
            return a
        if a.dimensionless and b.dimensionless:
            return _dimless_join(a, b)
        if a.kind == "date" and b.kind in ("count", "number"):
            return DATE  # a date plus or minus a number of days
        if op == "-" and a.kind == "date" and b.kind == "date":
            return COUNT  # days between
        if "money" in (a.kind, b.kind) and (a.dimensionless or b.dimensionless):
            hint = "write the amount with its currency, e.g. 0 EUR"
            raise TypeProblem("KR203", f"cannot {'add' if op == '+' else 'subtract'} {a} and {b}", hint)
        raise TypeProblem("KR201", f"cannot {'add' if op == '+' else 'subtract'} {a} and {b}",
                          "dates take a Count of days: date + 30" if "date" in (a.kind, b.kind) else None)
    if op == "*":
        if a.kind == "money" and b.kind == "money":
            raise TypeProblem("KR203", f"cannot multiply {a} by {b}",
                              "multiply money by a rate or a number, e.g. amount * 5%")
        if a.kind == "money" and b.dimensionless:
            return a
        if b.kind == "money" and a.dimensionless:
            return b
        if a.dimensionless and b.dimensionless:
            return _dimless_join(a, b)
        raise TypeProblem("KR201", f"cannot multiply {a} by {b}")
    if op == "/":
        if a.kind == "money" and b.kind == "money":
            if a.currency != b.currency:
                raise _mismatch(a, b, f"cannot divide {a} by {b}", "convert to one currency first")
            return RATE
        if a.kind == "money" and b.dimensionless:
            return a
        if a.dimensionless and b.dimensionless:
            return RATE if "rate" in (a.kind, b.kind) else NUMBER
        if b.kind == "money" and a.dimensionless:
            raise TypeProblem("KR203", f"cannot divide {a} by {b}", "divide money by money to get a rate")
        raise TypeProblem("KR201", f"cannot divide {a} by {b}")
    raise TypeProblem("KR201", f"unknown operator {op}")


def comparable(op: str, a: Type, b: Type) -> None:
    """Raise TypeProblem unless `a op b` is a valid comparison."""
    if a.kind == "unknown" or b.kind == "unknown":
        return
    if a.kind == "money" and b.kind == "money":
        if a.currency != b.currency:
            raise _mismatch(a, b, f"cannot compare {a} with {b}", "convert to one currency first")
        return
    if "money" in (a.kind, b.kind) and (a.dimensionless or b.dimensionless):
        raise TypeProblem("KR204", f"cannot compare {a} with {b}",
                          "write the amount with its currency, e.g. 0 EUR")
    if a.dimensionless and b.dimensionless:
        return
    if a == b and a.kind in SCALAR_KINDS:
        if op not in ("==", "!=") and a.kind in ("bool", "text"):
            raise TypeProblem("KR201", f"cannot order values of type {a}", "use == or != for text")
        return
    raise TypeProblem("KR201", f"cannot compare {a} with {b}")
