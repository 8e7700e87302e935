"""The SQL backend's input tables: each input as the DuckDB table "t.<name>" (its declared
columns, numbers cast to DECIMAL(38, COLUMN_SCALE), and `__row`, the file's line number).

Two ways in, the same rows and values:
- `Streamed`: plain CSV files read in pieces (kamrules.data.pieces: every cell checked by
  the columnar loader's grammar, piece by piece), each piece written to a Parquet file and
  appended to its table, then what spans pieces checked in SQL (a key or `unique` value
  twice, a `references` value that is not a key of its table, no payee). Python holds one
  piece at a time, so a run's memory is DuckDB's (`--memory-limit`, spilling to disk) plus
  one piece. Anything the pieces cannot vouch for (an error to word, a quoted file, JSON,
  Parquet, a number beyond the columnar engine's decimals) drops the streamed tables and
  falls back to the second way, which words the diagnostics as every engine does.
- frames: the columnar loader's validated frames (kamrules.data.fast.load_frames, or
  frames given), written to one Parquet file each (Arrow would need pyarrow).
"""
from __future__ import annotations

import os

from kamrules.backends.sql.exact import cast
from kamrules.backends.sql.values import COLUMN_SCALE, NUMERIC, q
from kamrules.data import pieces
from kamrules.data.references import target_key


def columns(spec) -> list[str]:
    """The table's columns as read from a Parquet file of the input: the declared ones,
    numbers cast to DECIMAL(38, COLUMN_SCALE), and `__row`."""
    return [f"{cast(q(c), COLUMN_SCALE)} AS {q(c)}" if s.type.kind in NUMERIC else q(c)
            for c, s in spec.columns.items()] + [q("__row")]


def _select(spec, source: str) -> str:
    return f"SELECT {', '.join(columns(spec))} FROM {source}"


def _path(tmp: str) -> str:
    return os.path.join(tmp, f"{len(os.listdir(tmp))}.parquet")


def from_frames(con, inputs: dict, frames: dict, tmp: str) -> None:
    """Each input's frame as its table."""
    for name, spec in inputs.items():
        path = _path(tmp)
        frames[name].write_parquet(path)
        con.execute(f"CREATE TABLE {q('t.' + name)} AS {_select(spec, f'read_parquet({_lit(path)})')}")
        os.remove(path)


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Streamed:
    """The inputs of `plan` (a CheckedPlan, its `from sql` inputs already snapshots) in
    `folder`, streamed when they can be, else the frames `frames()` gives (its KamError, or
    core.numeric.Fallback, passes through). `frames` is set when that second way was taken."""

    def __init__(self, plan, folder: str | None, frames, stream: bool = True, piece_bytes: int | None = None):
        self.plan, self.folder, self._frames = plan, folder, frames
        self.stream, self.piece_bytes = stream and folder is not None, piece_bytes
        self.frames = None

    def create(self, con, tmp: str) -> None:
        """Every input as its table."""
        if self.stream:
            try:
                return self._streamed(con, tmp)
            except pieces.Unstreamable:
                for name in self.plan.inputs:
                    con.execute(f"DROP TABLE IF EXISTS {q('t.' + name)}")
        self.frames = self._frames()
        from_frames(con, self.plan.inputs, self.frames, tmp)

    def _streamed(self, con, tmp: str) -> None:
        plan = self.plan
        paths = {name: pieces.streamable(spec, self.folder) for name, spec in plan.inputs.items()}
        for name, spec in plan.inputs.items():
            table = q("t." + name)
            for i, frame in enumerate(pieces.pieces(plan, spec, paths[name], self.piece_bytes)):
                path = _path(tmp)
                frame.drop("__id").write_parquet(path)
                del frame
                head = f"CREATE TABLE {table} AS " if i == 0 else f"INSERT INTO {table} "
                con.execute(head + _select(spec, f"read_parquet({_lit(path)})"))
                os.remove(path)
        self._across(con)

    def _across(self, con) -> None:
        """What no piece sees alone; Unstreamable (the whole-file loader words it) if any fails."""
        plan = self.plan
        for name, spec in plan.inputs.items():
            table = q("t." + name)
            unique = [c for c, s in spec.columns.items() if s.unique or c == spec.key]
            if unique and con.execute("SELECT " + " OR ".join(
                    f"count({q(c)}) <> count(DISTINCT {q(c)})" for c in unique) + f" FROM {table}").fetchone()[0]:
                raise pieces.Unstreamable("a value twice")
            for col in spec.columns.values():
                if col.references is None:
                    continue
                tkey = target_key(plan, col.references)
                target = plan.inputs[col.references]
                if tkey is None or target.columns[tkey].type.kind != col.type.kind \
                        or target.columns[tkey].type.currency != col.type.currency:
                    raise pieces.Unstreamable("a reference the whole-file loader decides on")
                if con.execute(f"SELECT count(*) FROM {table} a WHERE a.{q(col.name)} IS NOT NULL AND NOT EXISTS "
                               f"(SELECT 1 FROM {q('t.' + col.references)} b WHERE b.{q(tkey)} = a.{q(col.name)})"
                               ).fetchone()[0]:
                    raise pieces.Unstreamable("a missing reference")
        if not con.execute(f"SELECT count(*) FROM {q('t.' + plan.payees_table)}").fetchone()[0]:
            raise pieces.Unstreamable("no payee")

    def values(self, con, table: str, column: str) -> set:
        """The distinct values of a streamed column (the period keys of a period column)."""
        return {r[0] for r in con.execute(f"SELECT DISTINCT {q(column)} FROM {q('t.' + table)} "
                                          f"WHERE {q(column)} IS NOT NULL").fetchall()}
