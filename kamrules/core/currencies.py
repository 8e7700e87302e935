"""Pay currencies: the ISO 4217 codes a payee may be paid in, and the `payee.COLUMN` form of
the plan header `currency payee.COLUMN` (each payee paid in the currency its row names).

In the type system a plan paid per payee has the currency `payee.COLUMN` (`Money[payee.
pay_currency]`): a unit distinct from every fixed code (EUR, USD, ...), so that mixing the two
without `fx(amount, payee.COLUMN, day)` is a check error (KR340). At run time each payee's code
comes from its row (`codes`: KR460 names the row and the column of an unknown or empty code).
"""
from __future__ import annotations

from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.diagnostics.source import Span

PAYEE = "payee."

# ISO 4217 active codes (2024), funds and precious metals left out.
ISO_4217 = frozenset("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR
KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK
MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR
SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS
UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL""".split())


def payee_column(currency: str | None) -> str | None:
    """COLUMN when the currency is the per-payee `payee.COLUMN`, else None."""
    return currency[len(PAYEE):] if currency and currency.startswith(PAYEE) else None


def is_per_payee(currency: str | None) -> bool:
    return payee_column(currency) is not None


def codes(plan, rows, path: str | None = None) -> dict:
    """payee id -> pay currency code, from `rows` of (payee id, cell, line number) of the payees
    table; {} for a plan paid in one currency. KamError KR460 naming each bad row and column
    (at `path:line` when the payees file's path is given)."""
    column = payee_column(plan.currency)
    if column is None:
        return {}
    out, diags = {}, []
    for payee, code, line in rows:
        code = "" if code is None else str(code)
        if code not in ISO_4217:
            shown = f"`{code}`" if code else "empty"
            diags.append(Diagnostic(
                "KR460", f"{plan.payees_table} row {line} (payee {payee}): column `{column}` is {shown}, "
                "not an ISO 4217 currency code", Span(path, line, 1, line, 2) if path and line else None, "write the payee's pay currency as a three-letter code: EUR, USD, GBP, ..."))
            if len(diags) >= 20:
                break
        out[payee] = code
    if diags:
        raise KamError(diags)
    return out
