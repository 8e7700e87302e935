"""Clones of payees, so that one columnar run answers every what-if question of every payee.

report/whatif_batch.py re-runs the plan with one changed row per payee: a payee's questions
(each measure of each component: a search of up to 15 re-runs) follow one another, and the
rounds are the longest payee's questions added up (56 runs of the AB Tasty plan). Here each
question gets a world of its own: a clone of the payee, under an id no payee has
(`payee\\x1fN`), with a copy of every row that payee can reach, the one row the question
changes changed in that copy only. A run on the clones of all the questions of a round then
answers them all, and the rounds are the longest single search.

A plan is cloned only when what a payee reads is known from the plan alone
(`Clones.build`, else None): every use of an input is tied to the payee by one and the same
link, `column == payee.id` (the copies carry the clone's id in that column) or
`assignee(column, ...) == payee.id` (the copies carry the account renamed for the clone, and
`assignments` the copies of those accounts' rows, the payee's own turned to the clone); an
input used otherwise is read whole and must hold none of the renamed values; no lookup by key;
`payee.id` read nowhere else. Then the clones of every payee, unchanged, are run once and
must give each payee's own amounts and watched values (`Batch` checks it, and answers by
its rounds of changed rows otherwise). The re-runs are still the plan run by the engine.
"""
from __future__ import annotations

import polars as pl

from kamrules.check.lower import ir_of
from kamrules.core import ir
from kamrules.core.numeric import Money

SEP = "\x1f"  # between an id and its clone's number: a control character no CSV id holds


class Clones:
    """How to copy a payee's rows for a clone (`frames`), for a plan that allows it."""

    def __init__(self, plan, frames: dict, links: dict, whole: list, assigned: bool):
        self.plan, self.base, self.links, self.whole, self.assigned = plan, frames, links, whole, assigned
        self.payees = plan.payees_table
        self.key = plan.inputs[self.payees].key
        if assigned:  # each account -> the payees ever assigned to it (a clone copies its accounts)
            a = frames["assignments"]
            self.held = a.select(pl.col("account_id").alias("__acc"), pl.col("payee_id").alias("__p")).unique()

    @staticmethod
    def build(plan, frames: dict) -> "Clones | None":
        """The cloning of this plan on these frames, None when it is not known to be exact."""
        lowered = ir_of(plan)
        payees = lowered.payees_table
        key = lowered.inputs[payees].key
        uses: dict = {}  # table -> [links of each `table where ...`]
        names: dict = {}  # table -> how often it is named
        reads_id = links_total = assignee_calls = 0
        for node in ir.definition_nodes(lowered):
            if isinstance(node, ir.Index):
                return None  # `table[key]`: copies would repeat the key
            if isinstance(node, ir.Name) and node.ref == ("table", node.id):
                names[node.id] = names.get(node.id, 0) + 1
            elif isinstance(node, ir.Where) and isinstance(node.source, ir.Name) and node.source.id in lowered.inputs:
                found = node.filter.payee_links
                uses.setdefault(node.source.id, []).append(found)
                links_total += len(found)
            elif isinstance(node, ir.Call) and node.func == "assignee":
                assignee_calls += 1
            elif ir.is_payee_id(node):
                reads_id += 1
            elif isinstance(node, ir.Attr) and node.name == key and isinstance(node.obj, ir.Name) \
                    and node.obj.ref == ("payee",):
                return None  # the payee's key column: the clone's id
        if reads_id != links_total:  # payee.id read outside a link: a clone's id would show
            return None
        links, whole = {}, []
        for table in lowered.inputs:
            if table == payees:
                if names.get(table):
                    return None
                continue
            found = uses.get(table, [])
            if found and len(found) == names.get(table, 0) and all(len(f) == 1 for f in found) \
                    and len({f[0] for f in found}) == 1:
                links[table] = found[0][0]
            elif table != "assignments" or names.get(table):
                whole.append(table)
        assigned = any(how == "assigned" for how, _ in links.values())
        if assigned and (assignee_calls != sum(how == "assigned" for f in uses.values() for found in f for how, _ in found)
                         or "assignments" not in frames or "assignments" in links):
            return None
        if not assigned and assignee_calls:
            return None
        if "assignments" in frames and "assignments" not in links and not assigned \
                and "assignments" not in whole and "assignments" in lowered.inputs:
            whole.append("assignments")
        out = Clones(lowered, frames, links, whole, assigned)
        return out if out._clean() else None

    def _clean(self) -> bool:
        """No renamed value (a payee id, an account of a link) in a column the copies keep as
        it is, nor an id holding the separator."""
        ids = self.base[self.payees]["__id"]
        renamed = [ids]
        if self.assigned:
            renamed.append(self.held["__acc"])
        values = pl.concat([s.cast(pl.String).rename("v") for s in renamed]).drop_nulls().unique()
        if values.str.contains(SEP, literal=True).any():
            return False
        kept = {t: None for t in self.whole}
        for table, (how, col) in self.links.items():
            kept[table] = col
        if self.assigned:
            kept["assignments"] = "__assignments"  # its account_id and payee_id are renamed
        for table, skip in kept.items():
            f = self.base[table]
            for col, dtype in f.schema.items():
                if col.startswith("__") or dtype != pl.String or col == skip:
                    continue
                if table == "assignments" and skip == "__assignments" and col in ("account_id", "payee_id"):
                    continue
                if f[col].is_in(values.implode()).any():
                    return False
        return True

    def frames(self, questions: list) -> dict:
        """The input frames of one run on the clones: questions are (clone id, payee id, table,
        row, column, delta, added) (table None: the clone unchanged; added, a count's
        whatif_count.Added: `delta` copies of its row added to the clone's, column None)."""
        q = pl.DataFrame({"__c": [x[0] for x in questions], "__p": [x[1] for x in questions]},
                         schema={"__c": pl.String, "__p": pl.String})
        out = dict(self.base)
        people = self.base[self.payees].join(q, left_on="__id", right_on="__p", how="inner")
        out[self.payees] = people.with_columns(pl.col("__c").alias("__id"), pl.col("__c").alias(self.key)).drop("__c")
        if self.assigned:
            acc = self.held.join(q, on="__p", how="inner")  # (account, payee, clone)
            a = self.base["assignments"].join(acc, left_on="account_id", right_on="__acc", how="inner")
            out["assignments"] = _numbered(a.with_columns(
                (pl.col("account_id") + SEP + pl.col("__c")).alias("account_id"),
                pl.when(pl.col("payee_id") == pl.col("__p")).then(pl.col("__c")).otherwise(pl.col("payee_id"))
                .alias("payee_id")).drop("__p"))
        for table, (how, col) in self.links.items():
            f = self.base[table]
            if how == "eq":
                f = f.join(q, left_on=col, right_on="__p", how="inner").with_columns(pl.col("__c").alias(col))
            else:
                f = f.join(acc.select("__acc", "__c"), left_on=col, right_on="__acc", how="inner").with_columns(
                    (pl.col(col) + SEP + pl.col("__c")).alias(col))
            more = [x for x in questions if x[2] == table and x[6] is not None]
            if more:
                f = pl.concat([f, self._added(table, how, col, more, f.schema)], how="vertical")
            changes = [(x[0], x[3], x[4], x[5]) for x in questions if x[2] == table and x[6] is None]
            for column in sorted({c[2] for c in changes}):
                dtype = f.schema[column]
                mine = [c for c in changes if c[2] == column]
                d = pl.DataFrame({"__c": [c[0] for c in mine], "__row": [c[1] for c in mine],
                                  "__d": _deltas([c[3] for c in mine], dtype)},
                                 schema={"__c": pl.String, "__row": pl.Int64, "__d": dtype})
                f = f.join(d, on=["__c", "__row"], how="left", maintain_order="left").with_columns(
                    (pl.col(column) + pl.col("__d").fill_null(0)).cast(dtype).alias(column)).drop("__d")
            out[table] = _numbered(f)
        return out

    def _added(self, table: str, how: str, col: str, more: list, schema) -> pl.DataFrame:
        """The rows a count's questions add (report/whatif_count.py), as the clones' copies of
        `table` hold them: `delta` copies of the question's row each, keyed as the interpreter
        keys them (Added.idents), tied to the clone by the link column `col`, after its rows."""
        key = self.plan.inputs[table].key
        start = (self.base[table].get_column("__row").max() or 0) + 1
        cells: dict = {c: [] for c in schema}
        for clone, _, _, _, _, delta, added in more:
            for i, ident in enumerate(added.idents(int(delta))):
                for c in schema:
                    if c == "__c":
                        v = clone
                    elif c == "__row":
                        v = start + i
                    elif c == "__id" or c == key:
                        v = ident
                    elif c == col:
                        v = clone if how == "eq" else f"{added.row.values[c]}{SEP}{clone}"
                    else:
                        v = _cell(added.row.values.get(c))
                    cells[c].append(v)
        return pl.DataFrame(cells, schema=schema)


def _cell(v):
    return v.amount if isinstance(v, Money) else v


def _deltas(values: list, dtype) -> pl.Series:
    """The amounts added, as a column of `dtype`: a decimal column is made from their text
    (exact: no exponent), some four times faster than from Decimal objects."""
    if isinstance(dtype, pl.Decimal):
        return pl.Series("__d", [format(v, "f") for v in values], dtype=pl.String).cast(dtype)
    return pl.Series("__d", values, dtype=dtype)


def _numbered(f: pl.DataFrame) -> pl.DataFrame:
    """The copies in clone order, each clone's rows in their order, numbered again (a row
    number names one row: one() reads a row by it)."""
    f = f.sort("__c", "__row", maintain_order=True).drop("__c")
    return f.with_columns(pl.int_range(1, f.height + 1, dtype=pl.Int64).alias("__row"))

