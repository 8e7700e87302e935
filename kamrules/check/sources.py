"""Where an input's rows come from, checked: a file read in a declared spreadsheet dialect
(`with delimiter ";" decimal "," date "DD/MM/YYYY" thousands " " encoding "cp1252"`), or a
database query (`from sql "SELECT ..."`).

`input_source(st, error)` validates the options of one `ast.Input` and returns its
`plan.Dialect` (None for the canonical CSV contract); `error(code, message, span, hint)`
reports. `date_tokens(pattern)` splits a date pattern into its parts (kamrules.data.dialect
compiles them into a reader). The options, their values and why each rule exists:
docs/cookbook/dialects.md.
"""
from __future__ import annotations

import attrs

from kamrules.check.plan import Dialect
from kamrules.diagnostics.diagnostic import did_you_mean
from kamrules.syntax import ast

OPTIONS = ("delimiter", "decimal", "thousands", "date", "encoding")
DECIMALS = (".", ",")
# " " stands for the spaces spreadsheets put between thousands: U+0020, U+00A0, U+202F
THOUSANDS = ("", " ", ".", ",", "'", "\u00a0", "\u202f")
DATE_PARTS = ("YYYY", "MM", "DD", "M", "D")  # longest first: the pattern is read greedily
DATE_SEPARATORS = "/-. "
_NOT_DELIMITERS = '"\r\n'


def date_tokens(pattern: str) -> list[str] | str:
    """The parts of a date pattern (`DD/MM/YYYY` -> [DD, /, MM, /, YYYY]), or why it is not one."""
    tokens, i = [], 0
    while i < len(pattern):
        part = next((p for p in DATE_PARTS if pattern.startswith(p, i)), None)
        if part is not None:
            if tokens and tokens[-1] in DATE_PARTS and (len(tokens[-1]) == 1 or len(part) == 1):
                return (f"`{tokens[-1]}{part}` has no separator between a one-digit part and the next "
                        "(write D/M/YYYY, or DDMMYYYY with two-digit parts)")
            tokens.append(part)
            i += len(part)
        elif pattern.startswith("YY", i):
            return "a two-digit year is ambiguous: write YYYY"
        elif pattern[i] in DATE_SEPARATORS:
            tokens.append(pattern[i])
            i += 1
        else:
            return (f"`{pattern[i]}` is not a part of a date pattern (parts: YYYY, MM or M, DD or D; "
                    f"separators: / - . and space)")
    for kind, spelled in (("Y", "YYYY"), ("M", "MM or M"), ("D", "DD or D")):
        count = sum(1 for t in tokens if t[0] == kind)
        if count != 1:
            return f"it has {'no' if not count else 'more than one'} {spelled} part"
    return tokens


def _problem(name: str, value: str) -> str | None:
    """Why `value` is not a valid value of the option `name`, or None."""
    if name == "delimiter":
        if value == "tab":
            return None
        if len(value) != 1 or value in _NOT_DELIMITERS or value.isalnum():
            return 'a delimiter is one character other than a letter, a digit, `"` or a newline (or "tab")'
    elif name == "decimal":
        if value not in DECIMALS:
            return 'the decimal mark is "." or ","'
    elif name == "thousands":
        if value not in THOUSANDS:
            return 'the thousands separator is " ", ".", ",", "\'" or "" (none)'
    elif name == "date":
        tokens = date_tokens(value)
        if isinstance(tokens, str):
            return f"`{value}` is not a date pattern: {tokens}"
    elif name == "encoding":
        try:
            "0123456789;,.'\" ".encode(value)
            b"0".decode(value)
        except (LookupError, ValueError):
            return f"`{value}` is not a text encoding Python knows (utf-8, cp1252, latin-1, ...)"
    return None


def input_source(st: ast.Input, error) -> Dialect | None:
    """The dialect of `st` (None: canonical CSV, a JSON or Parquet file, a query), after
    reporting its unknown, repeated, invalid, conflicting or inapplicable options."""
    if st.sql is not None and not st.sql.strip():
        error("KR427", f"input `{st.name}`: the query after `from sql` is empty", st.span,
              'write the query: from sql "SELECT deal_id, amount FROM deals"')
    if not st.options:
        return None
    where = ("a database query (`from sql`)" if st.sql is not None else
             "a JSON file" if (st.file or "").lower().endswith(".json") else
             "a Parquet file" if (st.file or "").lower().endswith((".parquet", ".pq")) else None)
    if where is not None:
        error("KR427", f"input `{st.name}` reads {where}: `with` options are for CSV files", st.options[0].span,
              "a query or a JSON/Parquet file has typed values, not spreadsheet text: drop the `with` options")
        return None
    values: dict = {}
    for opt in st.options:
        if opt.name not in OPTIONS:
            error("KR425", f"input `{st.name}`: `{opt.name}` is not an input option", opt.span,
                  did_you_mean(opt.name, OPTIONS) or f"the options are {', '.join(OPTIONS)}")
        elif opt.name in values:
            error("KR425", f"input `{st.name}`: the option `{opt.name}` is given twice", opt.span,
                  "keep one")
        else:
            problem = _problem(opt.name, opt.value)
            if problem is not None:
                error("KR426", f"input `{st.name}`: {opt.name} \"{opt.value}\": {problem}", opt.span)
            values[opt.name] = (opt, problem is None)
    good = {k: o.value for k, (o, ok) in values.items() if ok}
    if good.get("delimiter") == "tab":
        good["delimiter"] = "\t"
    dialect = Dialect(**good)
    marks = (("delimiter", dialect.delimiter), ("decimal", dialect.decimal), ("thousands", dialect.thousands))
    for i, (a, va) in enumerate(marks):
        for b, vb in marks[i + 1:]:
            same = va == vb or (a != "delimiter" and " " in (va, vb) and {va, vb} & {"\u00a0", "\u202f"})
            if va and same:
                named = values.get(b, values.get(a, (st.options[0], True)))[0]
                error("KR426", f"input `{st.name}`: the {a} and the {b} are both \"{va}\"", named.span,
                      "a cell could be read two ways: declare different marks "
                      '(a French export: delimiter ";" decimal ",")')
    return None if dialect == Dialect() else dialect


def describe(dialect: Dialect) -> str:
    """The dialect as the plan writes it (for messages)."""
    shown = {"delimiter": "tab" if dialect.delimiter == "\t" else dialect.delimiter}
    return " ".join(f'{f.name} "{shown.get(f.name, getattr(dialect, f.name))}"'
                    for f in attrs.fields(Dialect) if getattr(dialect, f.name) != f.default)
