"""`--engine postgres`: the SQL backend's statements run inside PostgreSQL, where the data lives.

The plan's `from sql` inputs are read in place: each is a CTE over its query (`"t.deals" AS
(SELECT casts FROM (the query) s)`) in every statement that reads it, never copied out of the
database; its rows are vouched for in SQL first (`Inputs.vouch`: the column types the query
returns, the cell grammar of kamrules.data.cells as values, required, key, unique and
`references` columns). Anything it cannot vouch for (a float column, a period column, a
value the loaders would refuse) raises `Unvouched`, an Overflow: the run goes to the
interpreter, which reads the usual snapshot of the query and words the diagnostic. The plan's
file inputs (validated by the columnar loader) go up as temporary tables (COPY).

Writes, and PostgreSQL's read-only transactions: every statement that may run a query of the
plan (a `from sql` input) runs in a READ ONLY transaction, so a query can change nothing in
the database (a function that writes fails); such a transaction may still INSERT into a
temporary table. The DDL (CREATE TEMP TABLE with its column types, CREATE FUNCTION pg_temp.*,
ANALYZE, DROP and RENAME of the session's own temporary tables) and the COPY of the file
inputs run in read-write transactions holding only those statements, every name qualified by
`pg_temp.`: nothing is written outside the session's temporary schema, which PostgreSQL
drops when the connection closes. A step `CREATE TABLE x AS SELECT ...` of the backend is
(1) the SELECT described (LIMIT 0, read-only), (2) `CREATE TEMP TABLE` of those types, (3)
`INSERT INTO ... SELECT` read-only.

PostgreSQL's decimal rules, and why they are never reached (docs/scaling.md): NUMERIC is
arbitrary precision and `numeric / numeric` picks its own scale (at least 16 significant
digits), round() and a cast to a smaller scale round half away from zero, and an integer
division `div()` truncates toward zero. Every node is cast to its NUMERIC(38, s) by the
translator; the integer type of exact.py is unbounded NUMERIC (a scale-0 value, never
divided by `/`); the one division is the helpers' div() of an exact multiple of the divisor
(kr_fdiv); no generated statement contains `/` (checked statically, `division`, a KR440
before any data is read, and again on every statement as it is written: `sql`). An
overflow of NUMERIC(38, s), a division by zero, a date out of range (SQLSTATE class 22)
hand the run to the interpreter.
"""
from __future__ import annotations

import functools
import re

from kamrules.backends.sql.dialects import DIALECTS, Connection, Dialect, Overflow, asof_join, star_items
from kamrules.backends.sql.decorrelate import grouped
from kamrules.backends.sql.exact import helper_bodies
from kamrules.backends.sql.values import COLUMN_SCALE, NUMERIC, q
from kamrules.core import limits
from kamrules.data.cells import TRIM, minor_units
from kamrules.diagnostics.diagnostic import KamError

# type OIDs a query's column may have for each column kind (anything else: Unvouched)
# (a Text column may be any of these: its text in PostgreSQL, DateStyle ISO, is the snapshot's cell)
OIDS = {"text": (25, 1043, 1042, 20, 21, 23, 1700, 1082, 16), "date": (1082,), "bool": (16,)} | {
    k: (20, 21, 23, 1700) for k in NUMERIC}
HELPER = re.compile(r"\b(?:KR|kr)_(FMOD|FDIV|ROUND_[A-Z_]+|fmod|fdiv|round_[a-z_]+)\(")


class Unvouched(Overflow):
    """Rows of a `from sql` input the SQL checks cannot vouch for: the interpreter's run."""


class Stopped(Exception):
    """PostgreSQL stopped the run (code KR461: --db-timeout; KR462: anything else)."""

    def __init__(self, code: str, what: str):
        self.code, self.what = code, what
        super().__init__(what)


class Postgres(Dialect):
    """PostgreSQL 12+: the statements through sqlglot's postgres generator."""
    name = "postgres"
    integer = "NUMERIC"

    def helpers(self) -> list[str]:
        bodies = helper_bodies()
        bodies["kr_fmod"] = "mod(mod(a, b) + b, b)"
        return [f"CREATE FUNCTION pg_temp.{name}(a NUMERIC, b NUMERIC) RETURNS NUMERIC LANGUAGE sql IMMUTABLE "
                f"AS $$ SELECT {self.sql('SELECT ' + body)[len('SELECT '):]} $$" for name, body in bodies.items()]

    def sql(self, statement: str) -> str:
        return _generated(statement)

    def connect(self, tmp: str, memory_limit: str | None = None) -> Connection:
        raise TypeError("--engine postgres connects through its Inputs (Inputs.connect)")


@functools.lru_cache(maxsize=1024)  # the same statements again for each run of a plan
def _generated(statement: str) -> str:
    """The DuckDB statement in PostgreSQL's SQL (Postgres.sql)."""
    import sqlglot
    from sqlglot import exp

    def pg(node):
        if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.INT128:
            return exp.DataType.build(Postgres.integer, dialect="postgres")
        if isinstance(node, exp.Div):  # never generated (exact.py): a bug, not a rounding
            raise ValueError(f"a division in a generated statement: {node.sql('duckdb')[:80]}")
        if isinstance(node, exp.Select):
            asof_join(node)
        return node
    tree = sqlglot.parse_one(statement, read="duckdb").transform(pg)
    if isinstance(tree, exp.Create) and isinstance(tree.expression, exp.Select):  # a step of the frame
        grouped(tree.expression, [0])  # its aggregations as grouped joins (decorrelate.py)
    text = tree.sql(dialect="postgres")
    return HELPER.sub(lambda m: f"pg_temp.kr_{m.group(1).lower()}(", text)


DIALECTS[Postgres.name] = Postgres()


def division(steps: list) -> str | None:
    """The first `/` in the SQL of compiled steps (engine.compile_plan), None when there is
    none: PostgreSQL would pick the quotient's scale and round it (engine.refusal refuses the
    plan on --engine postgres before any data is read). The translator writes none (exact.py)."""
    from sqlglot.dialects.duckdb import DuckDB
    from sqlglot.tokens import TokenType
    Tokenizer = DuckDB.Tokenizer  # the statements' dialect: `//` is one token there

    def texts(v):
        if isinstance(v, str):
            yield v
        elif isinstance(v, list):
            for x in v:
                yield from texts(x)
        else:
            yield from (t for t in (v.sql, v.err) if t)
            for part in v.ratio or ():
                yield part.sql
    for _, v in steps:
        for text in texts(v):
            tokens = Tokenizer().tokenize(text)
            for i, t in enumerate(tokens):
                if t.token_type == TokenType.SLASH:
                    return " ".join(x.text for x in tokens[max(0, i - 3):i + 4])
    return None


class PgConnection(Connection):
    """A psycopg connection: read-only transactions for every statement reading the plan's
    data, read-write ones for the session's own temporary objects (module docstring)."""

    def __init__(self, conn, sources: dict, timeout: float | None):
        self.sources = sources  # quoted table name -> the SELECT its CTE is
        self.cols: dict = {}
        super().__init__(DIALECTS["postgres"], conn, helpers=False)
        own = [f"SET statement_timeout = {max(1, int(timeout * 1000))}"] if timeout else []
        # the built-in functions first: no schema of the search path can stand in for abs() or
        # mod() in a read-write transaction (the queries still see the tables they name)
        own.append("SELECT set_config('search_path', 'pg_catalog, ' || current_setting('search_path'), false)")
        self.own(own + ["SET DateStyle = ISO", "SET TimeZone = 'UTC'", "SET synchronous_commit = off"] + self.dialect.helpers())

    def own(self, statements: list[str], copy=None) -> list[str]:
        """A read-write transaction of the session's own statements (no query of the plan);
        the column names of the last one."""
        self.con.read_only = False
        try:
            with self.con.cursor() as cur:
                for s in statements:
                    cur.execute(s)
                names = [c.name for c in cur.description or ()]
                if copy is not None:
                    copy(cur)
            self.con.commit()
            return names
        except Exception as err:
            self.rollback()
            raise self.sorted(err) from None

    def read(self, sql: str, fetch: bool = True, cur_fn=None, named: bool = False):
        """sql (its `from sql` inputs as CTEs) in a READ ONLY transaction: its rows (named: on
        a server-side cursor, which cur_fn fetches from)."""
        self.con.read_only = True
        try:
            with (self.con.cursor(name="kr_rows") if named else self.con.cursor()) as cur:
                cur.execute(self.with_sources(sql))
                out = cur_fn(cur) if cur_fn else (cur.fetchall() if fetch and cur.description else [])
            self.con.commit()
            return out
        except Exception as err:
            self.rollback()
            raise self.sorted(err) from None

    def rollback(self) -> None:
        try:
            self.con.rollback()
        except Exception:  # noqa: BLE001 (a connection lost: the error that lost it is reported)
            pass

    def with_sources(self, sql: str) -> str:
        used = [(name, body) for name, body in self.sources.items() if name in sql]
        if not used:
            return sql
        ctes = ", ".join(f"{name} AS ({body})" for name, body in used)
        if sql.startswith("INSERT INTO "):  # INSERT INTO x SELECT ...: the CTEs before the INSERT
            return f"WITH {ctes} {sql}"
        return f"WITH {ctes}, {sql[5:]}" if sql.startswith("WITH ") else f"WITH {ctes} {sql}"

    @staticmethod
    def sorted(err: Exception) -> Exception:
        state = getattr(err, "sqlstate", None) or ""
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        if state.startswith("22"):  # a data exception: overflow, division by zero, date out of range
            return Overflow(f"PostgreSQL: {first}")
        if state == "57014":
            return Stopped("KR461", f"a statement ran over --db-timeout and was stopped ({first})")
        if isinstance(err, (Overflow, Stopped, KamError)):
            return err
        if not state and not type(err).__module__.startswith("psycopg"):
            return err  # a bug of ours: a traceback, not a made-up diagnostic
        return Stopped("KR462", f"PostgreSQL stopped the run: {first}")

    def execute(self, statement: str, generated: bool = True) -> list[tuple]:
        if generated and " EXCLUDE (" in statement:
            statement = self.expanded(statement)
        return super().execute(statement, generated)

    def expanded(self, statement: str) -> str:
        """The statement with each `t.* EXCLUDE (c, ...)` (DuckDB's) as t's other columns:
        PostgreSQL has no such projection (the Spark connection does the same)."""
        import sqlglot
        from sqlglot import exp

        def expand(node):
            if isinstance(node, exp.Select) and node.args.get("from_") is not None:
                table = node.args["from_"].this.alias_or_name
                node.set("expressions", [c for e in node.expressions for c in star_items(e, table, self.columns)])
            return node
        return sqlglot.parse_one(statement, read="duckdb").transform(expand).sql(dialect="duckdb")

    def run(self, sql: str) -> list[tuple]:
        m = re.match(r'CREATE (?:OR REPLACE )?TABLE ("(?:[^"]|"")+"|\w+) AS (.*)$', sql, re.S)
        if m:
            self.create(m.group(1), m.group(2))
            return []
        return self.read(sql)

    def create(self, name: str, select: str) -> None:
        """`CREATE OR REPLACE TABLE name AS select`: one read-write transaction when the
        SELECT reads no `from sql` input, else three (module docstring)."""
        new = q(name.strip('"').replace('""', '"') + "~")
        swap = [f"DROP TABLE IF EXISTS pg_temp.{name}", f"ALTER TABLE pg_temp.{new} RENAME TO {name}",
                f"ANALYZE pg_temp.{name}"]
        if not any(src in select for src in self.sources):  # only the session's own tables
            cols = self.own([f"DROP TABLE IF EXISTS pg_temp.{new}", f"CREATE TEMP TABLE {new} AS {select}"] + swap
                            + [f"SELECT * FROM pg_temp.{name} LIMIT 0"])
        else:
            def describe(cur):
                return [(c.name, c.type_code, cur.pgresult.fmod(i)) for i, c in enumerate(cur.description)]
            found = self.read(f"SELECT * FROM ({select}) s LIMIT 0", cur_fn=describe)
            types = self.read("SELECT " + ", ".join(f"format_type({oid}, {mod})" for _, oid, mod in found))[0]
            self.own([f"DROP TABLE IF EXISTS pg_temp.{new}",
                      f"CREATE TEMP TABLE {new} ({', '.join(f'{q(c)} {t}' for (c, _, _), t in zip(found, types))})"])
            self.read(f"INSERT INTO pg_temp.{new} {select}", fetch=False)
            self.own(swap)
            cols = [c for c, _, _ in found]
        self.cols[name.strip('"').replace('""', '"')] = cols

    def frame(self, sql: str, places: int):
        """The payout frame of `sql` (payee_id, period, __o, __c, amount), its rows fetched
        100,000 at a time from a server-side cursor (read-only): no Python object per payout."""
        import polars as pl
        schema = {"payee_id": pl.String, "period": pl.String, "__o": pl.Int64, "__c": pl.Int32,
                  "amount": pl.Decimal(38, places)}

        def fetch(cur):
            parts = []
            while rows := cur.fetchmany(100_000):
                parts.append(pl.DataFrame(rows, schema=schema, orient="row"))
            return pl.concat(parts) if parts else pl.DataFrame(schema=schema)
        return self.read(sql, cur_fn=fetch, named=True)

    def columns(self, table: str) -> list[str]:
        return self.cols[table.strip('"').replace('""', '"')]

    def close(self):
        self.con.close()


# ------------------------------------------------------------------ the plan's inputs
def _trimmed(x: str) -> str:
    """A text cell as the loaders read it: its padding (cells.TRIM) removed, empty as NULL."""
    chars = "".join(f"\\{ord(c):04X}" for c in TRIM)  # U&'\0009...'
    return f"NULLIF(btrim({x}, U&'{chars}'), '')"


def _pg_type(kind: str) -> str:
    return {"date": "DATE", "bool": "BOOLEAN"}.get(kind, f"NUMERIC(38, {COLUMN_SCALE})" if kind in NUMERIC else "TEXT")


class Inputs:
    """The plan's inputs on PostgreSQL (evaluate_sql's `frames` for --engine postgres): the
    `from sql` ones in place, the others from `files()` (the columnar loader's frames of
    the file inputs) as temporary tables. `payee_ids`: set by create()."""

    def __init__(self, plan, url: str, timeout: float | None, files):
        self.plan, self.url, self.timeout, self.files = plan, url, timeout, files
        self.frames = None
        self.payee_ids: list | None = None
        self.con: PgConnection | None = None

    def connect(self, tmp: str | None = None, memory_limit: str | None = None) -> PgConnection:
        import psycopg
        from kamrules.data.sql import scrub
        try:
            conn = psycopg.connect(self.url, connect_timeout=10, prepare_threshold=None)  # no plan cache: tables change
        except Exception as err:  # noqa: BLE001 (psycopg's own classes)
            raise Stopped("KR462", f"cannot connect: {scrub(str(err), self.url)}") from None
        self.con = PgConnection(conn, {}, self.timeout)
        return self.con

    def create(self, con: PgConnection) -> None:
        """Every input as its table: the `from sql` ones vouched for, then CTEs."""
        plan = self.plan
        for name, spec in plan.inputs.items():
            if spec.sql is not None:
                con.sources[q("t." + name)] = self.source(con, spec)
        frames = self.files() if any(s.sql is None for s in plan.inputs.values()) else {}
        for name, frame in frames.items():
            self.upload(con, plan.inputs[name], frame)
        self.vouch(con)
        key = plan.payee_key
        self.payee_ids = [r[0] for r in con.read(f"SELECT {q(key)} FROM {q('t.' + plan.payees_table)} "
                                                 f"WHERE {q(key)} IS NOT NULL")]

    def source(self, con: PgConnection, spec) -> str:
        """The SELECT of the input's CTE: its declared columns found in the query's (by name,
        then ignoring case, as the snapshot reads them), typed as the loaders type them."""
        def describe(cur):
            return [(c.name, c.type_code) for c in cur.description] if cur.description else None
        try:
            found = con.read(f"SELECT * FROM ({spec.sql}) s LIMIT 0", cur_fn=describe)
        except (Stopped, Overflow) as why:  # the snapshot's run words the query's error
            raise Unvouched(f"input `{spec.name}`: {why}") from None
        if not found:
            raise Unvouched(f"input `{spec.name}`: the query returns no rows")
        names = [n for n, _ in found]
        lowered = {n.lower(): i for i, n in enumerate(names)}
        out = []
        for c, col in spec.columns.items():
            i = names.index(c) if c in names else lowered.get(c.lower())
            kind = col.type.kind
            if i is None:
                if not col.optional:
                    raise Unvouched(f"input `{spec.name}`: no column `{c}`")
                out.append(f"CAST(NULL AS {_pg_type(kind)}) AS {q(c)}")
                continue
            if found[i][1] not in OIDS.get(kind, ()):
                raise Unvouched(f"input `{spec.name}`: column `{c}` of type OID {found[i][1]} for a {kind}")
            x = f"s.{q(names[i])}"
            out.append(f"{_trimmed(x + '::text') if kind == 'text' else f'CAST({x} AS {_pg_type(kind)})'} AS {q(c)}")
            out.append(f"{x} AS {q('~raw.' + c)}")
        out.append("row_number() OVER () + 1 AS __row")  # the line a snapshot's row would have
        return f"SELECT {', '.join(out)} FROM ({spec.sql}) s"

    def upload(self, con: PgConnection, spec, frame) -> None:
        """A file input's frame as the temporary table "t.<name>" (COPY)."""
        cols = list(spec.columns) + ["__row"]
        typed = ", ".join(f"{q(c)} {_pg_type(spec.columns[c].type.kind) if c in spec.columns else 'BIGINT'}"
                          for c in cols)
        table = q("t." + spec.name)

        def copy(cur):
            with cur.copy(f"COPY pg_temp.{table} ({', '.join(q(c) for c in cols)}) FROM STDIN") as cp:
                for row in frame.select(cols).iter_rows():
                    cp.write_row(row)
        con.own([f"CREATE TEMP TABLE {table} ({typed})"], copy)
        # the translator's lookups compare text and date columns with `=` (an assignee, a key):
        # an index each, as a database's own tables would have (a temporary table has none)
        index = [f"CREATE INDEX ON pg_temp.{table} ({q(c)})" for c, col in spec.columns.items()
                 if col.type.kind in ("text", "date")]
        con.own(index + [f"ANALYZE pg_temp.{table}"])

    def vouch(self, con: PgConnection) -> None:
        """One query per `from sql` input: a count of the rows the loaders would refuse
        (the cell grammar as values, required, key and unique columns, references)."""
        from kamrules.data.references import target_key
        plan = self.plan
        for name, spec in plan.inputs.items():
            if spec.sql is None:
                continue
            table = q("t." + name)
            bad = []
            for c, col in spec.columns.items():
                kind, x, raw = col.type.kind, q(c), q("~raw." + c)
                if not col.optional or c == spec.key:
                    bad.append(f"{x} IS NULL")
                if kind == "text":
                    bad.append(f"length({raw}::text) > {limits.MAX_CELL_CHARS}")
                elif kind in NUMERIC:
                    places = {"money": minor_units(col.type.currency), "count": 0}.get(kind, limits.MAX_FRACTION_DIGITS)
                    bad += [f"length({raw}::text) > {limits.MAX_NUMBER_DIGITS}",
                            f"NOT abs({raw}) < {10 ** limits.MAX_INTEGER_DIGITS}", f"{raw} <> round({raw}, {places})"]
                elif kind == "date":
                    bad.append(f"{raw} NOT BETWEEN DATE '{limits.MIN_DATE}' AND DATE '{limits.MAX_DATE}'")
                elif kind != "bool":
                    raise Unvouched(f"input `{name}`: a {kind} column read in place")
            rows = "count(*) FILTER (WHERE " + " OR ".join(f"coalesce({b}, FALSE)" for b in bad) + ")" if bad else "0"
            unique = [c for c, s in spec.columns.items() if s.unique or c == spec.key]
            dup = [f"count({q(c)}) - count(DISTINCT {q(c)})" for c in unique]
            got = con.read(f"SELECT {rows}, count(*){''.join(', ' + d for d in dup)} FROM {table}")[0]
            if got[0] or any(got[2:]) or (name == plan.payees_table and not got[1]):
                raise Unvouched(f"input `{name}`: rows the loaders refuse (the interpreter words them)")
        for name, spec in plan.inputs.items():  # references: every input's, to a table in place or not
            for col in spec.columns.values():
                if col.references is None or (spec.sql is None and plan.inputs[col.references].sql is None):
                    continue
                tkey = target_key(plan, col.references)
                target = plan.inputs[col.references]
                if tkey is None or target.columns[tkey].type.kind != col.type.kind \
                        or target.columns[tkey].type.currency != col.type.currency:
                    raise Unvouched(f"input `{name}`: a reference the loaders decide on")
                if con.read(f"SELECT count(*) FROM {q('t.' + name)} a WHERE a.{q(col.name)} IS NOT NULL AND NOT EXISTS "
                            f"(SELECT 1 FROM {q('t.' + col.references)} b WHERE b.{q(tkey)} = a.{q(col.name)})")[0][0]:
                    raise Unvouched(f"input `{name}`: a `references` value missing from `{col.references}`")

    def pay_codes(self, con: PgConnection) -> dict:
        """payee id -> pay currency code of a plan paid in each payee's currency (KR460 on a
        code the plan does not know, with its row, as the loaders' frames give it)."""
        from kamrules.core.currencies import codes, payee_column
        plan = self.plan
        rows = con.read(f"SELECT {q(plan.payee_key)}, {q(payee_column(plan.currency))}, __row "
                        f"FROM {q('t.' + plan.payees_table)} ORDER BY __row")
        return codes(plan, rows)

    def values(self, table: str, column: str) -> set:
        """The distinct values of a column (the report periods, read from the data)."""
        return {r[0] for r in self.con.read(f"SELECT DISTINCT {q(column)} FROM {q('t.' + table)} "
                                            f"WHERE {q(column)} IS NOT NULL")}
