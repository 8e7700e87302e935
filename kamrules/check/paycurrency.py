"""The checks of a plan paid in each payee's currency (`currency payee.COLUMN`, see
kamrules/core/currencies.py): the header names a Text column of the payees table (KR341);
every Money input column names its currency (KR342: a bare `Money` would be the payee's
currency, which a row of deals has not); pools and team totals do not add amounts of payees
paid in different currencies (KR343) unless they are pooled `by payee.COLUMN`. Every fixed code
the plan writes (`currency EUR`, `Money[USD]`, `100 GBP`, `fx(x, "EUR", day)`) is an ISO 4217
code (KR002): a typo such as `currency EUE` would otherwise pay in a currency no one has."""
from __future__ import annotations

from kamrules.core import currencies
from kamrules.core import types as T
from kamrules.syntax import ast
from kamrules.diagnostics.diagnostic import did_you_mean


def known(ck, code, span) -> bool:
    """KR002 when `code` (a fixed currency the plan writes) is not an ISO 4217 code; True if it is."""
    if not code or "." in code or code in currencies.ISO_4217:
        return True
    ck.error("KR002", f"`{code}` is not an ISO 4217 currency code", span,
             _closest_code(code) or "write a three-letter code in capitals: EUR, USD, GBP, JPY, ...")
    return False


_COMMON = ("EUR", "USD", "GBP", "CHF", "JPY", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN", "CNY", "INR", "BRL")


def _closest_code(code: str) -> str | None:
    """The code meant: its letters swapped (GPB: GBP), else a close common code, else any."""
    swapped = [c for c in _COMMON + tuple(sorted(currencies.ISO_4217)) if sorted(c) == sorted(code.upper())]
    if swapped:
        return f"did you mean `{swapped[0]}`?"
    return did_you_mean(code.upper(), _COMMON) or did_you_mean(code.upper(), currencies.ISO_4217)


def check_header(ck, seen_headers: dict) -> None:
    """KR341 / KR342 on the checker `ck` once the inputs are collected."""
    cur = ck.header.get("currency", "")
    if "." not in cur:
        if "currency" in seen_headers:
            known(ck, cur, seen_headers["currency"].span)
        return
    span = seen_headers["currency"].span
    column = currencies.payee_column(cur)
    payees = ck.inputs.get(ck.header.get("payees", "people"))
    if column is None:
        ck.error("KR341", f"`currency {cur}`: a plan pays in one currency (EUR) or in each payee's "
                 "(payee.COLUMN)", span, "write e.g. `currency payee.pay_currency`")
    elif payees is not None and column not in payees.columns:
        ck.error("KR341", f"`currency {cur}`: the payees table `{payees.name}` has no column `{column}`",
                 span, f"declare it: input {payees.name} {{ ... {column}: Text }}")
    elif payees is not None and payees.columns[column].type.kind != "text":
        ck.error("KR341", f"`currency {cur}`: column `{column}` is {payees.columns[column].type}, "
                 "not Text", payees.columns[column].span, f"declare it `{column}: Text` (EUR, USD, ...)")
    for table in ck.inputs.values():
        for col in table.columns.values():
            if col.type.kind == "money" and col.type.currency == cur:
                ck.error("KR342", f"column `{table.name}.{col.name}` is Money without a currency, in a "
                         "plan paid in each payee's currency", col.span,
                         f"name its currency: `{col.name}: Money[EUR]` (convert with fx(x, {cur}, day))")


def pooled(ck, node, t: T.Type, what: str) -> None:
    """KR343 when share()/team_total() adds payee-currency amounts across payees, unless the
    pool is `by payee.COLUMN` (the pay currency column itself)."""
    if t.kind != "money" or not currencies.is_per_payee(t.currency):
        return
    by = node.args[-1] if node.args and isinstance(node.args[-1], ast.By) else None
    e = by.expr if by is not None else None
    if isinstance(e, ast.Attr) and isinstance(e.obj, ast.Name) and e.obj.id == "payee" \
            and currencies.PAYEE + e.name == t.currency:
        return
    ck.error("KR343", f"{what} would add amounts of payees paid in different currencies ({t})",
             node.span, f"pool them by currency (`by {t.currency}`), or convert to one currency "
             f'first: fx(x, "EUR", period.end)')


def fx_target(ck, cur, scope) -> T.Type | None:
    """The type of fx()'s target `payee.COLUMN` (the plan's per-payee currency), None when the
    argument is not of that form."""
    if not (isinstance(cur, ast.Attr) and isinstance(cur.obj, ast.Name) and cur.obj.id == "payee"):
        return None
    plan_cur = ck.header.get("currency", "")
    ck._expr(cur, scope)
    if currencies.PAYEE + cur.name != plan_cur:
        ck.error("KR341", f"fx() converts to the plan's pay currency, and `payee.{cur.name}` is not it",
                 cur.span, f"write fx(amount, {plan_cur}, day)" if currencies.is_per_payee(plan_cur)
                 else f'the plan pays in {plan_cur}: write fx(amount, "{plan_cur}", day), or declare '
                 f"`currency payee.{cur.name}`")
        return T.UNKNOWN
    return T.money(plan_cur)
