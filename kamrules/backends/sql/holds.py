"""`hold when EXPR` on the SQL backend: what a held component pays (the rule of the
interpreter, kamrules/backends/interp/holds.py; the columnar engine's backends/polars/holds.py
on frames, whose `hold_periods` this reuses).

Per payee and fiscal year, in period order, a period releases (pays) when EXPR is false or it
is the year's last period; the periods from one release to the next form a segment, and the
releasing period pays the segment's running sum of computed amounts (what was held plus its
own); a held period pays 0.00 where the component applies. The frame holds the earlier
periods of each fiscal year (what they hold is paid later), computed but not paid out. These
are window sums over the frame (`statements`), run once the values paid() reads have settled
(paid() reads the amounts computed, not those released). EXPR's column is `h.<component>`
(compile_plan); where it cannot be computed and something is paid or carried, the run goes
to the interpreter.
"""
from __future__ import annotations

from kamrules.backends.sql.exact import cast
from kamrules.backends.sql.values import q


def statements(name: str, scale: int, has_err: bool, hold_err: bool) -> tuple[list[str], str, str]:
    """(the statements adding the window columns, the count of payee-periods where the
    interpreter stops, the statement replacing x.<name>, d.<name> and e.<name>)."""
    x, d, e = (q(f"{k}.{name}") for k in ("x", "d", "e"))
    h, he = q(f"h.{name}"), q(f"e.h.{name}")
    one = 'CASE WHEN f."~rel" THEN 1 ELSE 0 END'
    frame = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
    adds = [
        f'SELECT f.*, (NOT coalesce(f.{h}, FALSE) OR f.__pend = f.__pend_year) AS "~rel", '
        f'{f"coalesce(f.{he}, FALSE)" if hold_err else "FALSE"} AS "~rel!", '
        f'CASE WHEN f.{x} THEN {cast(f"f.{d}", scale)} ELSE {cast("0", scale)} END AS "~a" FROM f',
        f'SELECT f.*, sum({one}) OVER (PARTITION BY f.__payee, f.__pstart_year ORDER BY f.__pi {frame}) - {one} '
        f'AS "~seg" FROM f',
        f'SELECT f.*, {cast(f"""sum(f."~a") OVER (PARTITION BY f.__payee, f.__pstart_year, f."~seg" ORDER BY f.__pi {frame})""", scale)} '
        f'AS "~hsum" FROM f']
    carry = 'f."~hsum" - f."~a" <> 0'
    stops = (f"SELECT count(*) FROM f WHERE {f'(f.{x} AND coalesce(f.{e}, FALSE)) OR ' if has_err else ''}"
             f'((f.{x} OR {carry}) AND f."~rel!")')
    err = f", (f.{x} AND coalesce(f.{e}, FALSE)) AS {e}" if has_err else ""
    drop = f'{x}, {d}{", " + e if has_err else ""}, "~rel", "~rel!", "~a", "~seg", "~hsum"'
    final = (f'SELECT f.* EXCLUDE ({drop}), CASE WHEN f."~rel" THEN f."~hsum" ELSE {cast("0", scale)} END AS {d}, '
             f'(f.{x} OR (f."~rel" AND {carry})) AS {x}{err} FROM f')
    return [f"CREATE OR REPLACE TABLE f AS {s}" for s in adds], stops, f"CREATE OR REPLACE TABLE f AS {final}"
