"""The `references TABLE` check on loaded tables: every value of such a column is a key of
that table (KR409, naming the file, the row, the column and the value). Both loaders' tables
go through it; kamrules.backends.interp.integrity adds the plan's `require` rules after it.
"""
from __future__ import annotations

import csv

from kamrules.check.plan import CheckedPlan, InputTable
from kamrules.diagnostics.diagnostic import Diagnostic, KamError
from kamrules.diagnostics.source import Span
from kamrules.files.inputs import open_regular

MAX_REPORTED = 20


def target_key(plan: CheckedPlan, table: str) -> str | None:
    """The column a `references` to `table` names: its key, else its payee_id column."""
    spec = plan.inputs[table]
    return spec.key or ("payee_id" if "payee_id" in spec.columns else None)


def check_references(plan: CheckedPlan, tables: dict, diags: list | None = None) -> list:
    """Append a KR409 to `diags` for each value that is not a key of the table its column
    references; raise KamError once MAX_REPORTED are collected. Returns diags."""
    diags = [] if diags is None else diags
    for name, spec in plan.inputs.items():
        table = tables[name]
        columns = header(table.path, spec) or list(spec.columns)
        for col in spec.columns.values():
            if col.references is None:
                continue
            target = tables[col.references]
            tkey = target_key(plan, col.references)
            known = {r.values[tkey] for r in target.rows}
            for row in table.rows:
                v = row.values[col.name]
                if v is not None and v not in known:
                    pos = columns.index(col.name) + 1 if col.name in columns else 1
                    diags.append(Diagnostic(
                        "KR409", f"`{col.name}` = {v!r} in {table.path} row {row.number} is not a "
                        f"key of `{col.references}` (column `{tkey}`)",
                        Span(table.path, row.number, pos, row.number, pos + 1),
                        f"add {v!r} to {target.path}, or fix the value"))
                    if len(diags) >= MAX_REPORTED:
                        raise KamError(diags)
    return diags


def header(path: str | None, spec: InputTable | None = None) -> list:
    """Column names of a CSV file (to point at the right column), read through the input's
    dialect when `spec` declares one (`with delimiter ";" encoding "cp1252"`); empty if
    unreadable."""
    if path is None:  # a `from sql` input read in place: no file
        return []
    dialect = spec.dialect if spec is not None else None
    encoding = "utf-8-sig" if dialect is None else dialect.encoding
    delimiter = "," if dialect is None else dialect.delimiter
    try:
        with open_regular(path, False, encoding, "") as fh:  # an input already loaded: inside the folder
            names = [h.strip() for h in next(csv.reader(fh, delimiter=delimiter), [])]
    except (OSError, UnicodeError, LookupError, csv.Error):
        return []
    if names and names[0].startswith("\ufeff"):  # a BOM the declared encoding keeps (dialect.canonical_text)
        names[0] = names[0][1:].strip()
    return names
