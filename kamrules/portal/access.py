"""Who may read what in `kamrules serve --tokens FILE`.

The tokens file (CSV `token,payee_id,role`) is read and checked whole before anything is
served: an unreadable file or header is KR767, each bad row KR766 (naming the row and the
column, never quoting a token), a manager in a plan that says nothing of teams KR768.
A request's token is hashed (SHA-256) and compared with the digest of every token of the
file by `hmac.compare_digest`, without stopping at a match: the time taken does not say
which token, nor how much of one, was right.

What a grant sees: a payee their own statement; a manager their own and their team's, the
payees below them, directly or through other managers, on any day of the periods served,
from the plan's `reports_to` input when it has one (backends/interp/hierarchy.py), else
from a `manager_id` (or `manager`) column of the payees table; an admin everything.
"""
from __future__ import annotations

import csv
import hashlib
import hmac
import re

import attrs

from kamrules.backends.interp.hierarchy import Hierarchy, HierarchyError
from kamrules.diagnostics.diagnostic import Diagnostic, KamError, did_you_mean
from kamrules.diagnostics.source import Span

ROLES = ("payee", "manager", "admin")
COLUMNS = ("token", "payee_id", "role")
MIN_TOKEN = 16
TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~-]+\Z")  # as they are in a URL, a header and a cookie
MANAGER_COLUMNS = ("manager_id", "manager")
MAX_BYTES = 10_000_000
NEW_TOKEN = "python -c \"import secrets; print(secrets.token_urlsafe(24))\" makes one"


@attrs.frozen
class Grant:
    role: str
    payee_id: str  # "" for an admin who is no payee
    row: int       # the row of the tokens file (never the token)
    column: int = 1  # where its payee_id starts on that line


class Tokens:
    """The grants of a tokens file, each behind the digest of its token."""

    def __init__(self, path: str, entries: list):
        self.path = path
        self.entries = entries  # [(sha256 digest, Grant)], file order

    def find(self, token: str | None) -> Grant | None:
        """The grant of `token`, compared in constant time with every token of the file."""
        if not token:
            return None
        given = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        found = None
        for digest, grant in self.entries:  # every entry, even after a match
            if hmac.compare_digest(digest, given) and found is None:
                found = grant
        return found


def _read_error(path: str, message: str, hint: str, line: int | None = None) -> KamError:
    span = Span(path, line, 1, line, 2) if line else None
    return KamError([Diagnostic("KR767", f"--tokens {path}: {message}", span, hint)])


def read_tokens(path: str) -> Tokens:
    """The tokens file, checked whole: KR767 when it cannot be read as a CSV with the columns
    token, payee_id, role; KR766 for each bad row (all of them at once)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as why:
        raise _read_error(path, f"cannot be read ({why.strerror or why})",
                          "give the CSV file of the portal's tokens (token,payee_id,role)") from None
    if len(raw) > MAX_BYTES:
        raise _read_error(path, f"is over {MAX_BYTES} bytes", "a tokens file has one short line per person")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as why:
        raise _read_error(path, f"is not UTF-8 text (byte {why.start + 1})", "save it as UTF-8 CSV") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None) or []
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise _read_error(path, "the header lacks the column" + ("s " if len(missing) > 1 else " ")
                          + ", ".join(f"`{c}`" for c in missing),
                          "the first line is `token,payee_id,role`", 1)
    at = {c: header.index(c) for c in COLUMNS}
    diags, entries, seen = [], [], {}

    def column(cells, col):
        return sum(len(c) + 1 for c in cells[:at[col]]) + 1

    def bad(line, cells, col, message, hint):
        pos = column(cells, col)
        diags.append(Diagnostic("KR766", f"{path} row {line}, column `{col}`: {message}",
                                Span(path, line, pos, line, pos + 1), hint))

    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        cells = cells + [""] * (len(header) - len(cells))
        token, payee, role = cells[at["token"]], cells[at["payee_id"]].strip(), cells[at["role"]].strip()
        if not token:
            bad(line, cells, "token", "empty token", NEW_TOKEN)
            continue
        if len(token) < MIN_TOKEN:
            bad(line, cells, "token", f"the token has {len(token)} characters, fewer than {MIN_TOKEN}",
                f"a short token can be guessed; {NEW_TOKEN}")
            continue
        if not TOKEN_CHARS.match(token):
            bad(line, cells, "token", "the token has a character other than letters, digits and - _ . ~",
                f"a login link carries those characters as they are; {NEW_TOKEN}")
            continue
        digest = hashlib.sha256(token.encode("utf-8")).digest()
        if digest in seen:
            bad(line, cells, "token", f"the token of row {seen[digest]} again",
                "each token names one person: give this row a token of its own")
            continue
        seen[digest] = line
        if role not in ROLES:
            hint = did_you_mean(role, ROLES) or "a role is payee, manager or admin"
            bad(line, cells, "role", f"unknown role `{role}`", hint)
            continue
        if not payee and role != "admin":
            bad(line, cells, "payee_id", f"a {role} needs a payee_id", "the payee id as in the payees table")
            continue
        entries.append((digest, Grant(role, payee, line, column(cells, "payee_id"))))
    if diags:
        raise KamError(diags)
    if not entries:
        raise _read_error(path, "holds no token", "one line per person: token,payee_id,role")
    return Tokens(path, entries)


def check_grants(tokens: Tokens, checked, tables) -> None:
    """Every payee_id of the file is a payee of the plan's payees table (KR766), and a
    manager's team can be told (KR768)."""
    ids = {r.id for r in tables[checked.payees_table].rows}
    diags = []
    for _, g in tokens.entries:
        if g.payee_id and g.payee_id not in ids:
            hint = did_you_mean(g.payee_id, ids) or f"the ids of `{checked.payees_table}`"
            diags.append(Diagnostic("KR766", f"{tokens.path} row {g.row}, column `payee_id`: `{g.payee_id}` is no "
                                    f"payee of `{checked.payees_table}`", Span(tokens.path, g.row, g.column, g.row, g.column + 1), hint))
    managers = [g for _, g in tokens.entries if g.role == "manager"]
    if managers and team_source(checked, tables) is None:
        g = managers[0]
        diags.append(Diagnostic(
            "KR768", f"{tokens.path} row {g.row}: {g.payee_id} is a manager, but the plan says nothing of teams "
            f"(no `reports_to` input, no `manager_id` column in `{checked.payees_table}`)",
            Span(tokens.path, g.row, 1, g.row, 2),
            "declare a `reports_to` input or a `manager_id` column of the payees, or make this row a payee or an admin"))
    if diags:
        raise KamError(diags)


def team_source(checked, tables) -> str | None:
    """Where teams come from: "reports_to", a manager column of the payees table, or None."""
    if "reports_to" in tables:
        return "reports_to"
    columns = tables[checked.payees_table].spec.columns
    return next((c for c in MANAGER_COLUMNS if c in columns), None)


def teams(checked, tables, periods) -> dict:
    """manager id -> the set of payees below them (on any day of `periods` for `reports_to`)."""
    source = team_source(checked, tables)
    out: dict = {}
    if source is None:
        return out
    if source == "reports_to":
        t = tables["reports_to"]
        h = Hierarchy.of(t.path, ((r.number, r.values["payee_id"], r.values["manager_id"],
                                   r.values["start_date"], r.values.get("end_date")) for r in t.rows))
        try:
            h.validate()
            for day in _days(h, periods):
                for payee in h.lines:
                    for _, up in h.chain(payee, day):
                        out.setdefault(up, set()).add(payee)
        except HierarchyError as err:
            raise KamError([Diagnostic(err.code, err.message, hint=err.hint)]) from None
        return out
    up = {r.id: r.values.get(source) for r in tables[checked.payees_table].rows}
    for payee in up:
        seen, cur = {payee}, up[payee]
        while cur and cur not in seen:  # a loop in the column stops the walk
            out.setdefault(cur, set()).add(payee)
            seen.add(cur)
            cur = up.get(cur)
    return out


def _days(h: Hierarchy, periods) -> list:
    """The days that show every team the periods see: the first day, and every day a line
    starts. Between two such days lines only end, and an ending takes a payee out of teams,
    never into one (tests/test_portal_access.py walks every day to check)."""
    starts = {s for lines in h.lines.values() for _, _, s, _ in lines}
    if not periods:
        return sorted(starts)
    lo, hi = min(p.start for p in periods), max(p.end for p in periods)
    return sorted({lo} | {d for d in starts if lo <= d <= hi})


def visible(grant: Grant | None, ids, team_of: dict) -> frozenset | None:
    """The payee ids `grant` may see; None: everything (an admin, or no --tokens)."""
    if grant is None or grant.role == "admin":
        return None
    mine = {grant.payee_id} if grant.payee_id in ids else set()
    if grant.role == "manager":
        mine |= team_of.get(grant.payee_id, set()) & set(ids)
    return frozenset(mine)
