"""Everything the SQL backend does differently per engine: one `Dialect` entry each.

The statements are built once, in DuckDB's SQL (translate.py, exact.py, engine.py); a
dialect says how they become its own (sqlglot's generator for its name, plus the type names
it lacks: HUGEINT is DECIMAL(38, 0) on Spark), how the integer rounding helpers of exact.py
exist (DuckDB macros, Spark SQL functions), how a table is made from a SELECT and from a
Parquet file, how a statement runs and its rows come back, and which errors mean "the
interpreter must run this" (an overflow: ANSI mode makes it an error on Spark, never a NULL
or a wrapped value). A third dialect (PostgreSQL) is one more subclass and one more entry in
DIALECTS.

Spark runs with spark.sql.ansi.enabled=true (overflow and a failing cast are errors) and
spark.sql.decimalOperations.allowPrecisionLoss=false (a result needing more than 38 digits
is an error, never a scale cut to 6 places); every node is cast to its DECIMAL(38, s) by the
translator, so no scale is left to Spark. Its one inexact rule left is the result type of a
decimal division, which only the exact integer division of the helpers uses (kr_fdiv): the
dividend is a multiple of the divisor there, and the divisor is cast to DECIMAL(18, 0) when
it fits, so the quotient type keeps 29 integer digits (20 with a larger divisor, which bounds
the quotient below 10^20 anyway).

The SparkSession is one per process, started on first use (`spark()`), its Java logs sent
to a file instead of stderr, stopped at exit.
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile

from kamrules.backends.sql.exact import helper_bodies


class Overflow(Exception):
    """The engine stopped on a value (an overflow, a failing cast): the interpreter's run."""


class Dialect:
    """DuckDB, the dialect the statements are written in."""
    name = "duckdb"
    integer = "HUGEINT"

    def helpers(self) -> list[str]:
        """The statements creating exact.py's integer helpers (kr_fmod, kr_fdiv, kr_round_*)."""
        return [f"CREATE OR REPLACE MACRO {name}(a, b) AS {body}" for name, body in helper_bodies().items()]

    def sql(self, statement: str) -> str:
        """The statement in this dialect (written for DuckDB itself: parsing the long generated
        statements again cost 15% of a run)."""
        return statement

    def connect(self, tmp: str, memory_limit: str | None = None) -> "Connection":
        import duckdb
        con = duckdb.connect(config={"temp_directory": os.path.join(tmp, "spill"),
                                     **({"memory_limit": memory_limit} if memory_limit else {})})
        return DuckConnection(self, con)


class Connection:
    """A running engine: statements in DuckDB's SQL, rows back as tuples."""

    def __init__(self, dialect: Dialect, con, helpers: bool = True):
        self.dialect, self.con = dialect, con
        for h in dialect.helpers() if helpers else ():
            self.run(h)

    def settle(self, table: str) -> None:
        """The table is read several times from here on: computed once (a no-op where tables
        are stored as they are created)."""

    def execute(self, statement: str, generated: bool = True) -> list[tuple]:
        """Run a statement (generated for the dialect unless `generated` is False); its rows."""
        return self.run(self.dialect.sql(statement) if generated else statement)

    def load_parquet(self, table: str, path: str, columns: list[str], rows: int = 0) -> None:
        """The table `table` (a quoted name) of `columns` (SQL over the file's columns), `rows` rows."""
        self.run(f"CREATE TABLE {table} AS SELECT {', '.join(columns)} FROM read_parquet('{path}')")


class DuckConnection(Connection):
    def run(self, sql: str) -> list[tuple]:
        import duckdb
        try:
            cur = self.con.execute(sql)
            return cur.fetchall() if cur.description else []
        except duckdb.OutOfMemoryException:
            raise
        except duckdb.Error as err:  # an overflow of DECIMAL(38, s) or HUGEINT
            raise Overflow(f"DuckDB: {str(err).splitlines()[0]}") from None

    def columns(self, table: str) -> list[str]:
        return [r[0] for r in self.run(f"DESCRIBE {table}")]

    def close(self):
        self.con.close()


class Spark(Dialect):
    """Spark SQL 4: the statements through sqlglot's Spark generator; tables are temporary
    views of DataFrames, so the frame's columns are one plan that Spark optimises whole; the
    frame is materialised once (a local checkpoint) before its payouts and checks are read."""
    name = "spark"
    integer = "DECIMAL(38, 0)"

    def helpers(self) -> list[str]:
        i = self.integer
        bodies = helper_bodies()
        # exact division of a multiple of b: Spark's DIV returns a BIGINT, and a decimal
        # division's result type depends on the divisor's precision (module docstring)
        m = "(a - kr_fmod(a, b))"
        bodies["kr_fdiv"] = (f"CASE WHEN b < {10 ** 18} THEN CAST({m} / CAST(b AS DECIMAL(18, 0)) AS {i}) "
                             f"ELSE CAST({m} / b AS {i}) END")
        bodies["kr_fmod"] = "pmod(a, b)"
        return [f"CREATE OR REPLACE TEMPORARY FUNCTION {name}(a {i}, b {i}) RETURNS {i} RETURN {body}"
                for name, body in bodies.items()]

    def sql(self, statement: str) -> str:
        import sqlglot
        from sqlglot import exp

        def spark(node):
            if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.INT128:
                return exp.DataType.build(self.integer, dialect="spark")
            if isinstance(node, exp.Select):
                asof_join(node)
            return node
        tree = sqlglot.parse_one(statement, read="duckdb").transform(spark)
        return tree.sql(dialect="spark")

    def connect(self, tmp: str, memory_limit: str | None = None) -> "Connection":
        return SparkConnection(self, spark(), tmp)


def asof_join(select) -> None:
    """`FROM s ASOF LEFT JOIN y ON [s.k = y.k AND ...] s.c >= y.d` (DuckDB: per row of the
    left side, the row of y with the same keys and the latest d on or before s.c) as a LEFT
    JOIN keeping, per row of the left side (s.__row and the keys' left columns), the row of y
    with the largest d (a QUALIFY, which sqlglot writes for Spark as a filter over a window)."""
    from sqlglot import exp
    for join in select.args.get("joins") or []:
        if join.args.get("method") != "ASOF":
            continue
        right = join.this.alias_or_name
        conds = list(join.args["on"].flatten()) if isinstance(join.args["on"], exp.And) else [join.args["on"]]
        ge = [c for c in conds if isinstance(c, exp.GTE)]
        keys = [c for c in conds if isinstance(c, exp.EQ)]
        if len(ge) != 1 or len(keys) + 1 != len(conds) or any(_reads(c.this, right) for c in ge + keys):
            raise ValueError("an ASOF join other than `[left = right AND ...] left >= right`")
        join.set("method", None)
        left = select.args["from_"].this.alias_or_name
        part = ", ".join([f"{left}.__row"] + [k.this.sql("duckdb") for k in keys])
        select.qualify(f"row_number() OVER (PARTITION BY {part} ORDER BY {ge[0].expression.sql('duckdb')} DESC) = 1",
                       dialect="duckdb", copy=False)


def star_items(e, table: str, columns) -> list:
    """The SELECT item e, with `t.* EXCLUDE (c, ...)` (DuckDB's; sqlglot's `except_`) as t's
    other columns (`columns(t)`, in order; `table` for a bare `*`): neither Spark SQL nor
    PostgreSQL has that projection."""
    from sqlglot import exp
    star = e.this if isinstance(e, exp.Column) else e
    drop = {c.name for c in (star.args.get("except_") or star.args.get("except") or ())} \
        if isinstance(star, exp.Star) else None
    if not drop:
        return [e]
    table = e.table if isinstance(e, exp.Column) and e.table else table
    return [exp.column(c, table, quoted=True) for c in columns(table) if c not in drop]


def _reads(node, alias: str) -> bool:
    """Whether the expression reads a column of the table `alias`."""
    from sqlglot import exp
    return any(c.table == alias for c in node.find_all(exp.Column))


class SparkConnection(Connection):
    def __init__(self, dialect, session, tmp):
        self.views: list[str] = []
        self.tmp = tmp
        self.rows = 0  # the inputs' rows so far: up to SMALL, no table but the frame is materialised
        # the helpers are temporary functions of the session: created once per process
        super().__init__(dialect, session, helpers=not _SPARK.get("helpers"))
        _SPARK["helpers"] = True

    def settle(self, table):
        df = self.guarded(lambda: self.con.table(f"`{table}`").localCheckpoint())
        df.createOrReplaceTempView(f"`{table}`")

    def run(self, sql: str) -> list[tuple]:
        import sqlglot
        from sqlglot import exp
        tree = sqlglot.parse_one(sql, read="spark") if sql.startswith("CREATE") and " AS SELECT " in sql else None
        if isinstance(tree, exp.Create) and tree.kind == "TABLE":  # a temporary view of the SELECT
            name = (tree.this.this if isinstance(tree.this, exp.Schema) else tree.this).name
            select = tree.expression
            if sum(t.name == name for t in select.find_all(exp.Table)) > 1:
                # the table read twice (paid(): a payee's earlier periods of the frame): the
                # view would hold the plan so far twice, and each such step doubles it
                self.settle(name)
            select.set("expressions", [c for e in select.expressions for c in star_items(e, name, self.columns)])
            self.view(name, select.sql(dialect="spark"))
            if name != "f" and self.rows > SMALL:  # an input, a per-row table (fx(), assignee()), a
                self.settle(name)  # ledger's pairs: read by many statements, computed once (the frame: at the end)
            return []
        return [tuple(r) for r in self.guarded(lambda: self.con.sql(sql).collect())]

    def view(self, name: str, select: str) -> None:
        # no checkpoint per statement: measured, each one runs the plan so far as a job,
        # slower in total than one plan optimised whole (settle() materialises it once)
        df = self.guarded(lambda: self.con.sql(select))
        df.createOrReplaceTempView(f"`{name}`")
        if name not in self.views:
            self.views.append(name)

    def guarded(self, fn):
        """fn() with Spark's errors sorted: a value (an overflow, a date out of range) is
        Overflow, the interpreter's run; anything else (a lost cluster, a dead JVM) is
        SparkUnavailable (KR447), never a Java stack trace."""
        from py4j.protocol import Py4JError
        from pyspark.errors import ArithmeticException, DateTimeException, PySparkException
        try:
            return fn()
        except (ArithmeticException, DateTimeException) as err:
            raise Overflow(f"Spark: {str(err).splitlines()[0]}") from None
        except (PySparkException, Py4JError) as err:
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            if any(k in first for k in ("NUMERIC_VALUE_OUT_OF_RANGE", "ARITHMETIC_OVERFLOW", "DIVIDE_BY_ZERO",
                                        "DATETIME_OVERFLOW")):
                raise Overflow(f"Spark: {first}") from None
            raise SparkUnavailable("KR447", f"Spark stopped at {MASTER['url']}: {first}") from None

    def load_parquet(self, table, path, columns, rows=0):
        self.rows += rows
        for key in ("spark.sql.codegen.wholeStage", "spark.sql.adaptive.enabled"):
            # on a few rows, compiling each plan to Java and re-planning it as it runs cost
            # more than they save (a case folder's run: 1.5-2.5 s instead of 1.9-3.8 s warm)
            self.con.conf.set(key, "true" if self.rows > SMALL else "false")
        self.con.read.parquet(path).createOrReplaceTempView("`~parquet`")
        self.view(table.strip('"'), self.dialect.sql(f'SELECT {", ".join(columns)} FROM "~parquet"'))
        if rows > SMALL:
            self.settle(table.strip('"'))

    def columns(self, table: str) -> list[str]:
        return list(self.con.table(f"`{table.strip(chr(34))}`").columns)

    def close(self):
        for name in self.views:
            self.con.catalog.dropTempView(name)
        self.con.catalog.dropTempView("~parquet")


# inputs up to this many rows in all: each materialisation is a Spark job (tenths of a second)
# costing more than reading the few rows again from their Parquet file (the tests' case folders)
SMALL = 5000

DIALECTS = {d.name: d for d in (Dialect(), Spark())}

# -------------------------------------------------------------- the process's SparkSession
MASTER = {"url": "local[2]"}
_SPARK = {}


class SparkUnavailable(Exception):
    """pyspark missing (code KR445), no Java (KR446), or Spark did not start (KR447)."""

    def __init__(self, code: str, what: str):
        self.code, self.what = code, what
        super().__init__(what)


def java() -> str | None:
    """The java command Spark would start (JAVA_HOME's, else the one on PATH)."""
    home = os.environ.get("JAVA_HOME")
    if home and os.path.exists(os.path.join(home, "bin", "java")):
        return os.path.join(home, "bin", "java")
    return shutil.which("java")


def spark():
    """The process's SparkSession, started on first use at MASTER["url"] (ANSI arithmetic,
    no precision loss), its JVM's output in a log file; stopped at exit."""
    if "session" in _SPARK:
        return _SPARK["session"]
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise SparkUnavailable("KR445", "--engine spark needs the packages pyspark and sqlglot") from None
    if java() is None:
        raise SparkUnavailable("KR446", "--engine spark needs Java (a JRE 17 or later): no `java` on PATH or in JAVA_HOME")
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway
    from pyspark.sql import SparkSession
    import logging
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):  # pyspark's JSON lines on
        logging.getLogger(name).disabled = True  # stderr for an error this module words itself
    logs = tempfile.mkdtemp(prefix="kamrules-spark-")
    conf = (SparkConf().setMaster(MASTER["url"]).setAppName("kamrules")
            .set("spark.ui.enabled", "false").set("spark.ui.showConsoleProgress", "false")
            .set("spark.sql.ansi.enabled", "true")
            .set("spark.sql.decimalOperations.allowPrecisionLoss", "false")
            .set("spark.sql.shuffle.partitions", "2")
            .set("spark.sql.session.timeZone", "UTC")
            .set("spark.local.dir", logs)
            .set("spark.driver.extraJavaOptions", "-Dlog4j2.level=ERROR"))
    log = open(os.path.join(logs, "spark.log"), "wb")  # the JVM's stdout and stderr, not the caller's
    try:
        gateway = launch_gateway(conf, popen_kwargs={"stdout": log, "stderr": log})
        sc = SparkContext(conf=conf, gateway=gateway)
        sc.setLogLevel("ERROR")
        session = SparkSession(sc)
    except Exception as err:  # noqa: BLE001 (py4j, a master that does not answer...)
        log.close()
        shutil.rmtree(logs, ignore_errors=True)
        raise SparkUnavailable("KR447", f"Spark did not start at {MASTER['url']}: {str(err).splitlines()[0] if str(err) else type(err).__name__}") from None
    _SPARK.update(session=session, logs=logs, log=log)
    atexit.register(stop)
    return session


def stop() -> None:
    """Stop the process's SparkSession (at exit), and remove its folder."""
    session = _SPARK.pop("session", None)
    if session is not None:
        try:
            session.stop()
        except Exception:  # noqa: BLE001 (the JVM already gone)
            pass
        _SPARK.pop("helpers", None)
        _SPARK.pop("log").close()
        shutil.rmtree(_SPARK.pop("logs"), ignore_errors=True)
