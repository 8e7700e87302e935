"""Database sources: `input deals from sql "SELECT ..." key deal_id { ... }` read from the
database of `--db URL` (or the KAMRULES_DB environment variable).

URLs and drivers (each well kept, the last two optional extras):
- `sqlite:///relative/file.db`, `sqlite:////absolute/file.db`: Python's sqlite3, read-only;
- `duckdb:///relative/file.duckdb`, `duckdb:////absolute/...`: duckdb (`pip install
  'kamrules[duckdb]'`), read-only;
- `postgresql://user:password@host:port/db` (or `postgres://`): psycopg 3 (`pip install
  'kamrules[postgres]'`) in a read-only transaction; what the URL leaves out comes from
  libpq's environment (PGUSER, PGPASSWORD, PGHOST, ...). A password is never printed:
  every message shows the URL masked (`mask`) and has the password taken out.

Each query may run --db-timeout seconds (TIMEOUT by default): PostgreSQL's statement_timeout,
SQLite's busy timeout (a locked file) and an interrupt from its progress handler, DuckDB's
interrupt() from a timer; past it the run stops with KR461, no output written.

Each query's rows become the text cells the CSV validators read (`cell`: Decimal and
integers as their exact digits, dates `YYYY-MM-DD`, booleans true/false, NULL empty), so a
query result is accepted or refused exactly as the same rows written as CSV. A
floating-point column (FLOAT, REAL, DOUBLE: float values, or a column the driver types so)
is refused (KR433) naming the column: it cannot hold an amount exactly (cast it to DECIMAL
or NUMERIC in the query). SQLite has no exact decimal type: a DECIMAL or NUMERIC column is
read from the text SQLite gives of the stored value (15 significant digits).

The cells of each query are written as a Parquet snapshot in the data folder,
`snapshots/<input>-<sha256>.parquet` (content-addressed: its name is the sha256 of its
bytes, the one the run's meta records), and the input is read from that file by the normal
loaders: the run can be reproduced after the database has changed (docs/cookbook/sql-sources.md).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import threading
import time
from decimal import Decimal
from urllib.parse import unquote, urlsplit

import attrs

from kamrules.check.plan import CheckedPlan, InputTable
from kamrules.core import limits
from kamrules.diagnostics.diagnostic import Diagnostic, KamError, did_you_mean
from kamrules.files import outputs

SNAPSHOTS = "snapshots"
ENV = "KAMRULES_DB"
TIMEOUT = 300  # seconds a query may run (--db-timeout): a slow or locked query ends with KR461
SCHEMES = {"sqlite": "sqlite", "duckdb": "duckdb", "postgresql": "postgres", "postgres": "postgres"}
_FLOAT_TYPES = re.compile(r"^(FLOAT|REAL|DOUBLE|FLOAT4|FLOAT8|DOUBLE PRECISION)\b", re.IGNORECASE)
_PG_FLOAT_OIDS = (700, 701)  # float4, float8


class _Exact(str):
    """SQLite's text of a DECIMAL/NUMERIC value (sqlite3 converter): its digits, not a float."""


def mask(url: str) -> str:
    """The URL with its password replaced by ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"//([^:/@]*):[^@]*@", r"//\1:***@", url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


def scrub(text: str, url: str) -> str:
    """A driver's message without the URL's password (nor the URL itself)."""
    try:
        secret = urlsplit(url).password
    except ValueError:
        secret = None
    text = text.replace(url, mask(url))
    if secret:
        for form in sorted({secret, unquote(secret)}, key=len, reverse=True):
            text = text.replace(form, "***")
    return " ".join(text.split())[:300]


def _fail(code: str, message: str, hint: str | None = None, span=None) -> KamError:
    return KamError([Diagnostic(code, message, span, hint)])


class _Deadline:
    """The time limit of the queries of one connection: PostgreSQL's statement_timeout, SQLite's
    busy timeout and progress handler, DuckDB's interrupt() from a timer (`fired` once it has)."""

    def __init__(self, seconds: float, kind: str, conn):
        self.seconds, self.kind, self.conn, self.fired, self._timer = seconds, kind, conn, False, None

    def arm(self, cur) -> None:
        """Before the query runs on the cursor `cur` (DuckDB's cursor is a connection of its own)."""
        kind = self.kind
        if kind == "postgres":
            cur.execute(f"SET statement_timeout = {max(1, int(self.seconds * 1000))}")
        elif kind == "sqlite":
            end = time.monotonic() + self.seconds
            self.conn.set_progress_handler(lambda: self._fire() if time.monotonic() > end else 0, 10_000)
        else:
            self._timer = threading.Timer(self.seconds, lambda: (self._fire(), cur.interrupt()))
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> int:
        self.fired = True
        return 1

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def over(self, err: Exception) -> bool:
        """Did `err` end the query because of the time limit?"""
        return self.fired or getattr(err, "sqlstate", None) == "57014" or (  # PostgreSQL query_canceled
            self.kind == "sqlite" and "database is locked" in str(err))  # the busy timeout


def _connect(url: str, timeout: float = TIMEOUT):
    """(driver kind, DB-API connection), read-only; KamError KR431/KR432."""
    scheme, sep, rest = url.partition("://")
    kind = SCHEMES.get(scheme.lower()) if sep else None
    if kind is None:
        raise _fail("KR431", f"--db {mask(url)}: not a database URL kamrules reads",
                    "write sqlite:///file.db, duckdb:///file.duckdb or postgresql://user@host/db")
    if kind in ("sqlite", "duckdb"):
        path = rest[1:] if rest.startswith("/") else rest
        if not path or not os.path.isfile(path):
            raise _fail("KR432", f"--db {mask(url)}: no database file {path or '(none)'}",
                        "sqlite:///relative.db or sqlite:////absolute/path.db (three slashes, then the path)")
    try:
        if kind == "sqlite":
            import sqlite3
            for name in ("DECIMAL", "NUMERIC"):
                sqlite3.register_converter(name, lambda b: _Exact(b.decode("ascii")))
            from urllib.parse import quote
            conn = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=ro", uri=True,
                                   detect_types=sqlite3.PARSE_DECLTYPES, timeout=timeout)  # busy: locked
        elif kind == "duckdb":
            duckdb = _driver("duckdb", "duckdb", url)
            conn = duckdb.connect(path, read_only=True)
        else:
            psycopg = _driver("psycopg", "postgres", url)
            conn = psycopg.connect(url, connect_timeout=10)
            conn.read_only = True
    except KamError:
        raise
    except Exception as err:  # each driver has its own error classes
        raise _fail("KR432", f"--db {mask(url)}: cannot connect: {scrub(str(err), url)}",
                    "check the URL, that the server runs and the credentials (URL or PG* variables)") from None
    return kind, conn


def _driver(module: str, extra: str, url: str):
    try:
        return __import__(module)
    except ImportError:
        raise _fail("KR431", f"--db {mask(url)} needs the Python package `{module}`",
                    f"pip install 'kamrules[{extra}]'") from None


def cell(value) -> str:
    """A database value as the text cell the CSV validators read."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else str(value)
    if isinstance(value, (int, _Exact, str)):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) and value.tzinfo is None else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    raise ValueError(f"a {type(value).__name__} value")


def _query(spec: InputTable, url: str, conn, deadline: _Deadline | None = None) -> tuple[list, list, list]:
    """(column names, driver type codes, rows) of the input's query; KR432 on a failure,
    KR461 when it runs over the deadline."""
    try:
        cur = conn.cursor()
        if deadline is not None:
            deadline.arm(cur)
        cur.execute(spec.sql)
        if cur.description is None:
            raise _fail("KR432", f"input `{spec.name}`: the query returns no rows (it is not a SELECT)",
                        'write a SELECT: from sql "SELECT deal_id, amount FROM deals"', spec.span)
        names = [d[0] for d in cur.description]
        types = [d[1] for d in cur.description]
        rows = cur.fetchmany(limits.MAX_ROWS + 1)
    except KamError:
        raise
    except Exception as err:
        if deadline is not None and deadline.over(err):
            raise _fail("KR461", f"input `{spec.name}`: the query ran over --db-timeout {deadline.seconds:g} s "
                        f"on {mask(url)} and was stopped", "make the query faster (an index, fewer rows), wait "
                        "for the lock holding it, or give it longer: --db-timeout SECONDS", spec.span) from None
        raise _fail("KR432", f"input `{spec.name}`: the query failed on {mask(url)}: {scrub(str(err), url)}",
                    "run the query in the database's own client to see why", spec.span) from None
    if len(rows) > limits.MAX_ROWS:
        raise _fail("KR408", f"input `{spec.name}`: the query returns more than {limits.MAX_ROWS} rows",
                    "select fewer rows (e.g. one year) or raise kamrules.core.limits.MAX_ROWS", spec.span)
    return names, types, rows


def _is_float_type(code) -> bool:
    return code in _PG_FLOAT_OIDS if isinstance(code, int) else bool(_FLOAT_TYPES.match(str(code or "")))


def query_cells(spec: InputTable, url: str, conn, deadline: _Deadline | None = None) -> dict:
    """column -> list of text cells, for the declared columns (absent optional ones empty)."""
    names, types, rows = _query(spec, url, conn, deadline)
    diags, cols = [], {}
    lowered = {n.lower(): i for i, n in enumerate(names)}
    for name, col in spec.columns.items():
        i = names.index(name) if name in names else lowered.get(name.lower())
        if i is None:
            if not col.optional:
                diags.append(Diagnostic("KR402", f"input `{spec.name}`: the query returns no column `{name}`",
                                        spec.span, did_you_mean(name, names) or
                                        f"columns the query returns: {', '.join(names)}"))
            cols[name] = None
            continue
        floats = _is_float_type(types[i]) or any(isinstance(r[i], float) for r in rows)
        if floats:
            code = types[i]
            shown = ({700: "real (float4)", 701: "double precision (float8)"}.get(code, "floating-point")
                     if isinstance(code, int) or not code else str(code))
            diags.append(Diagnostic("KR433", f"input `{spec.name}`: the query's column `{names[i]}` is {shown} "
                                    f"(a binary float), which cannot hold a {col.type} exactly", spec.span,
                                    f"cast it in the query: CAST({names[i]} AS DECIMAL(18, 2)), or store it as "
                                    "DECIMAL / NUMERIC"))
        cols[name] = i
    if diags:
        raise KamError(diags)
    out = {}
    for name, i in cols.items():
        try:
            out[name] = [""] * len(rows) if i is None else [cell(r[i]) for r in rows]
        except ValueError as why:
            raise _fail("KR403", f"input `{spec.name}`: the query's column `{name}` holds {why}, not a "
                        f"{spec.columns[name].type}", "cast it in the query to text, a number or a date",
                        spec.span) from None
    return out


def snapshot(spec: InputTable, cells: dict, folder: str) -> str:
    """Write the cells as `snapshots/<input>-<sha256>.parquet` in the data folder (unless a
    file of that name, the same bytes, is there); its path relative to the folder."""
    import polars as pl
    frame = pl.DataFrame({n: pl.Series(n, v, dtype=pl.String) for n, v in cells.items()})
    buf = io.BytesIO()
    frame.write_parquet(buf, compression="zstd", statistics=False)
    data = buf.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    rel = f"{SNAPSHOTS}/{spec.name}-{digest}.parquet"
    path = os.path.join(folder, rel)
    if not os.path.isfile(path):
        outputs.make_folder(os.path.join(folder, SNAPSHOTS), "the snapshot folder")
        outputs.write_files([(path, lambda fh: fh.write(data))], "the snapshot")
    return rel


def sourced(plan: CheckedPlan, folder: str | None, url: str | None, timeout: float | None = None,
            known: CheckedPlan | None = None) -> CheckedPlan:
    """The plan with each `from sql` input read from a fresh snapshot of its query's rows (the
    plan itself when it has none); KR430 when it has some and no database is given. Each
    query may run `timeout` seconds (default TIMEOUT), KR461 past it. `known`: a plan sourced
    already in this command, on the same data folder (a ledger's earlier plan versions): an
    input with its query and columns reads that snapshot, so that one command runs each query
    once and every version reads the same rows."""
    done = {}
    if known is not None:
        for name, spec in plan.inputs.items():
            other = known.inputs.get(name)
            if spec.sql is not None and other is not None and (other.sql, other.columns) == (spec.sql, spec.columns):
                done[name] = attrs.evolve(spec, file=other.file)
    queries = [s for s in plan.inputs.values() if s.sql is not None and s.name not in done]
    if not queries:
        return attrs.evolve(plan, inputs={n: done.get(n, s) for n, s in plan.inputs.items()}) if done else plan
    url = url or os.environ.get(ENV) or None
    if url is None:
        names = ", ".join(f"`{s.name}`" for s in queries)
        raise _fail("KR430", f"input{'s' if len(queries) > 1 else ''} {names} read{'' if len(queries) > 1 else 's'} "
                    "a database (`from sql`), but no database is given",
                    f"add --db URL (sqlite:///file.db, duckdb:///file.duckdb, postgresql://...) or set {ENV}",
                    queries[0].span)
    if folder is None:
        raise _fail("KR430", "the snapshots of the queries go into the data folder: give --data DIR",
                    span=queries[0].span)
    timeout = TIMEOUT if timeout is None else timeout
    kind, conn = _connect(url, timeout)
    try:
        for spec in queries:
            deadline = _Deadline(timeout, kind, conn)
            try:
                cells = query_cells(spec, url, conn, deadline)
            finally:
                deadline.disarm()
            done[spec.name] = attrs.evolve(spec, file=snapshot(spec, cells, folder))
    finally:
        conn.close()
    return attrs.evolve(plan, inputs={n: done.get(n, s) for n, s in plan.inputs.items()})
