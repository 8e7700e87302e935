"""The rows left out of a payee's measure, and why: for the input filter behind a measure
(`let won = deals where status == "won" and close_date in period and assignee(account_id,
"kam", close_date) == payee.id`), the rows that belong to the payee by the filter's own
link (a `column == payee.id`, or an account ever assigned to them) but that the filter does
not select, each with the first condition it fails: the status, a date outside the period,
the account not assigned to the payee on that day, or another condition, in words.

A row left out only by its date is told when it is dated at most NEAR_DAYS days before the
period starts or after it ends (a deal closed on 1 April, not 31 March: the reader's
question); one dated further away is credited in another period's statement and is not
listed here (a year of invoices would bury the rows that matter).
"""
from __future__ import annotations

import datetime as dt

from kamrules.backends.interp.arith import Problem
from kamrules.check.lower import ir_of
from kamrules.core import ir
from kamrules.report.words import find_nodes
from kamrules.trace.tree import span_text

MAX_ROWS = 25
NEAR_DAYS = 7  # a row dated this close to the period, outside it, is listed as left out
NEAR = dt.timedelta(days=NEAR_DAYS)
DATED = ("{column} {value} is outside {period}", "{column} is empty")  # the reasons that are a row's date


def base_where(plan, call):
    """The Where over an input table behind an aggregation call (following lets), or None."""
    chain = wheres(plan, call)
    src = chain[-1].source if chain else None
    return chain[-1] if isinstance(src, ir.Name) and src.ref == ("table", src.id) else None


def wheres(plan, call) -> list:
    """The Wheres an aggregation call reads its rows through, innermost first, following lets
    (`count(my_leads where created_date in period)`: that filter, then `my_leads`'s)."""
    arg = call.args[0] if call is not None and call.args else None
    node = arg.source if isinstance(arg, ir.Each) else arg
    lowered = ir_of(plan)
    out = []
    for _ in range(8):
        if isinstance(node, ir.Where):
            out.append(node)
            node = node.source
        elif isinstance(node, ir.Name):
            r = node.ref
            if r is None or r[0] != "def" or lowered.definitions[r[1]].kind != "let":
                break
            node = lowered.definitions[r[1]].node.expr
        else:
            break
    return out


def period_date(plan, call, columns: dict):
    """The column (a name) or expression (a node: `deals[deal_id].close_date`) that puts a row
    of `call` in the period: the first `DATE in period` of its filters (the clawback's
    `cancel_date`, not the deal's close date), else a date the filter fixes (`date ==
    period.start`); None when no filter says."""
    chain = wheres(plan, call)
    for w in chain:
        if w.filter is not None and w.filter.in_period:
            return w.filter.in_period[0][0]
        for c in (w.filter.rest if w.filter is not None else ()):
            if isinstance(c, ir.BinOp) and c.op == "in" and c.left.type is not None \
                    and c.left.type.kind == "date" and c.right.type is not None and c.right.type.kind == "period":
                return c.left
    for w in chain:
        for c, _ in (w.filter.eq if w.filter is not None else ()):
            if c in columns and columns[c].type.kind == "date":
                return c
    return None


def _is_payee_id(e) -> bool:
    return isinstance(e, ir.Attr) and e.name == "id" and isinstance(e.obj, ir.Name) and e.obj.id == "payee"


def left_out(plan, ev, ctx, tables, where) -> list:
    """[(row, reason)] of the rows of `where`'s table linked to the payee but not selected.
    The linked rows are found through the tables' indexes (`Table.index`, built once per
    column), so a payee costs its own rows, not the whole table."""
    flt = where.filter
    if flt is None:
        return []
    table = tables[where.source.id]
    pid = ctx.payee.id
    linked: dict = {}
    for c, e in flt.eq:
        if _is_payee_id(e):
            linked.update((id(r), r) for r in table.index(c).get(pid, ()))
    for col, role_expr, who in flt.assigned:
        if isinstance(col, str) and _is_payee_id(who) and "assignments" in tables:
            for a in sorted(_accounts(tables, pid, ev.ev(role_expr, ctx, ())), key=str):
                linked.update((id(r), r) for r in table.index(col).get(a, ()))
    if not linked:
        return []
    try:
        chosen = {id(r) for r in ev.ev(where, ctx, ())}
    except (Problem, LookupError, TypeError, ArithmeticError):
        return []
    return _with_reasons(plan, ev, ctx, flt, sorted((r for k, r in linked.items() if k not in chosen),
                                                    key=lambda r: r.number))


def _accounts(tables, pid, role) -> set:
    """The accounts ever assigned to payee `pid` in `role` (an assignment without a role: any)."""
    return {r.values["account_id"] for r in tables["assignments"].index("payee_id").get(pid, ())
            if r.values.get("role") in (role, None)}


def theirs(ev, ctx, flt, row) -> bool:
    """Whether a row is the payee's by its filter's own links: each `column == payee.id` holds,
    and each `assignee(account, role, day) == payee.id` names an account ever assigned to the
    payee in that role (`accounts[account_id].parent_account_id` too). Another payee's row
    (a colleague's deal, an account of another KAM's group) is none of theirs: it is never
    listed as left out of their statement."""
    pid = ctx.payee.id
    if any(_is_payee_id(e) and row.values.get(c) != pid for c, e in flt.eq):
        return False
    for cond in flt.rest:
        if not (isinstance(cond, ir.BinOp) and cond.op == "=="):
            continue
        for call, who in ((cond.left, cond.right), (cond.right, cond.left)):
            if isinstance(call, ir.Call) and call.func == "assignee" and len(call.args) == 3 and _is_payee_id(who):
                tables = ev.tables
                if "assignments" not in tables:
                    return False
                try:
                    account, role = ev.ev(call.args[0], ctx, (row,)), ev.ev(call.args[1], ctx, (row,))
                except (Problem, LookupError, TypeError, ArithmeticError, AttributeError):
                    return False
                if account is None or account not in _accounts(tables, pid, role):
                    return False
    return True


def inner_left_out(plan, ev, ctx, call) -> list:
    """[(row, reason)] of the payee's rows (`theirs`) an aggregation reads (`for won ...`,
    `count(my_leads where ...)`) that its own `where` leaves out (`where present(margin) and
    margin >= margin_floor`), in the order read."""
    arg = call.args[0] if call is not None and call.args else None
    where = arg.source if isinstance(arg, ir.Each) else arg
    if not isinstance(where, ir.Where) or where.filter is None:
        return []
    src = where.source
    if isinstance(src, ir.Name) and src.ref == ("table", src.id):  # a whole table: everyone's rows,
        return []  # left_out (the rows linked to the payee) answers for it
    try:
        base = ev.ev(src, ctx, ())
        chosen = {id(r) for r in ev.ev(where, ctx, ())}
    except (Problem, LookupError, TypeError, ArithmeticError, AttributeError):
        return []
    return _with_reasons(plan, ev, ctx, where.filter, (r for r in (base if isinstance(base, list) else ())
                                                       if id(r) not in chosen and hasattr(r, "values")
                                                       and theirs(ev, ctx, where.filter, r)))


def _with_reasons(plan, ev, ctx, flt, rows) -> list:
    """[(row, reason)] of the rows left out, in order, each with the first condition it fails
    (the rows dated far from the period left out: module doc), at most MAX_ROWS."""
    out = []
    for row in rows:
        reason = _reason(plan, ev, ctx, flt, row)
        if reason is not None:
            out.append((row, reason))
            if len(out) >= MAX_ROWS:
                break
    return out


def _facts(ev, ctx, cond, row) -> tuple:
    """((name, value, unit), ...) of the row's columns and the plan's values a condition
    compares (`margin >= margin_floor`: margin 12%, margin_floor 15%)."""
    out, seen = [], set()
    for n in find_nodes(cond, lambda x: isinstance(x, ir.Name) and x.ref and x.ref[0] in ("column", "def", "param")):
        if n.id in seen:
            continue
        seen.add(n.id)
        unit = n.type.kind if n.type is not None else None
        if n.ref[0] == "column":
            if n.ref[1] != 0:
                continue
            out.append((n.ref[3], row.values.get(n.ref[3]), unit))
        else:
            try:
                out.append((n.id, ev.ev(n, ctx, (row,)), unit))
            except (Problem, LookupError, TypeError, ArithmeticError, AttributeError):
                continue
    return tuple(out)


# a comparison a row fails, in words: `margin >= margin_floor` false is "margin 14% is below
# margin_floor 15%" (each side a fact: report/statement_text.left_rows writes its name and value)
_FAILED = {">=": "{left} is below {right}", ">": "{left} is not above {right}",
           "<=": "{left} is above {right}", "<": "{left} is not below {right}"}


def _compared(ev, ctx, cond, row) -> tuple | None:
    """(message id, values) of a comparison of two named values the row fails (a column of
    the row, also under `default(column, 0)`, a param or a let), else None."""
    if not (isinstance(cond, ir.BinOp) and cond.op in _FAILED):
        return None
    sides = [_side(ev, ctx, n, row) for n in (cond.left, cond.right)]
    if None in sides:
        return None
    return (_FAILED[cond.op], {"left": sides[0], "right": sides[1]})


def _side(ev, ctx, node, row) -> tuple | None:
    """((name, value, unit),) of one side of a comparison, or None when it is no named value."""
    inner = node.args[0] if isinstance(node, ir.Call) and node.func == "default" and node.args else node
    if not (isinstance(inner, ir.Name) and inner.ref and inner.ref[0] in ("column", "def", "param")):
        return None
    if inner.ref[0] == "column" and inner.ref[1] != 0:  # a column of an enclosing row
        return None
    try:
        value = ev.ev(node, ctx, (row,))
    except (Problem, LookupError, TypeError, ArithmeticError, AttributeError):
        return None
    name = inner.ref[3] if inner.ref[0] == "column" else inner.id
    return ((name, value, inner.type.kind if inner.type is not None else None),)


def _reason(plan, ev, ctx, flt, row) -> tuple | None:
    """(message id, values) of the first condition the row fails; None for a row dated in
    neither the period nor one next to it (module doc), and for a row without the date that
    would put it in a period which also fails another condition (a won deal is no candidate
    for a clawback: no cancel date, and not cancelled)."""
    try:
        dated = _dated(plan, ev, ctx, flt, row)
        if dated == "far":
            return None
        empty = dated is not None and dated[0] == "{column} is empty"
        for col, e in flt.eq:
            want = ev.ev(e, ctx, ())
            if row.values.get(col) != want:
                return None if empty else \
                    ("{column} is {value}, not {wanted}", {"column": col, "value": row.values.get(col), "wanted": want})
        if dated is not None and not (empty and any(_in_period(c) is None and not ev.ev(c, ctx, (row,))
                                                    for c in flt.rest)):
            return dated
        for c in flt.rest:
            if _in_period(c) is not None or ev.ev(c, ctx, (row,)):
                continue
            if empty:
                return None
            if find_nodes(c, lambda n: isinstance(n, ir.Call) and n.func == "assignee"):
                return ("the account was not assigned to you on that day", {})
            said = _compared(ev, ctx, c, row) or _equal(ev, ctx, c, row)
            if said is not None:
                return said
            facts = _facts(ev, ctx, c, row)
            if facts:  # the values compared: a tuple of facts (report/statement_text.left_rows)
                return ("`{condition}` is false: {facts}", {"condition": span_text(plan.source, c.span),
                                                             "facts": facts})
            return ("`{condition}` is false", {"condition": span_text(plan.source, c.span)})
    except (Problem, LookupError, TypeError, ArithmeticError, AttributeError):
        pass
    return ("held back by the plan's conditions", {})


def _in_period(cond):
    """The date a `DATE in period` condition of a filter's rest reads (`deals[deal_id].close_date
    in period`: a split line's deal), else None."""
    if isinstance(cond, ir.BinOp) and cond.op == "in" and cond.left.type is not None \
            and cond.left.type.kind == "date" and cond.right.type is not None and cond.right.type.kind == "period":
        return cond.left
    return None


def _dated(plan, ev, ctx, flt, row):
    """How the row's dates stand against the periods its filter asks for: None (in them),
    "far" (outside, more than NEAR_DAYS away), or the message of the first date empty or
    just outside (`close_date April 1, 2025 is outside 2025-Q1`)."""
    dates = [(col, row.values.get(col), e) for col, e in flt.in_period]
    dates += [(x.name if isinstance(x, ir.Attr) else span_text(plan.source, x.span), ev.ev(x, ctx, (row,)), c.right)
              for c in flt.rest if (x := _in_period(c)) is not None]
    said = None
    for col, d, e in dates:
        p = ev.ev(e, ctx, ())
        if d is None:  # an invoice not paid yet: no date to be in any period
            said = said or ("{column} is empty", {"column": col})
        elif not (p.start <= d <= p.end):
            if not (p.start - NEAR <= d <= p.end + NEAR):
                return "far"
            said = said or ("{column} {value} is outside {period}", {"column": col, "value": d, "period": str(p)})
    return said


def _equal(ev, ctx, cond, row) -> tuple | None:
    """`deals[deal_id].status == "won"` false, said as an own column's is (`status is lost, not
    won`): a value the row reads (its column, a key lookup) against one it does not."""
    if not (isinstance(cond, ir.BinOp) and cond.op == "=="):
        return None
    for mine, other in ((cond.left, cond.right), (cond.right, cond.left)):
        own = isinstance(mine, ir.Name) and mine.ref and mine.ref[0] == "column" and mine.ref[1] == 0
        if (own or isinstance(mine, ir.Attr) and isinstance(mine.obj, ir.Index)) and not find_nodes(
                other, lambda n: isinstance(n, ir.Name) and n.ref and n.ref[0] == "column"):
            return ("{column} is {value}, not {wanted}", {"column": mine.ref[3] if own else mine.name,
                                                          "value": ev.ev(mine, ctx, (row,)),
                                                          "wanted": ev.ev(other, ctx, ())})
    return None
