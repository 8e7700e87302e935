"""The plan grammar's Lark parser, built once and shipped in the package.

`grammar/kamrules.lark.tables` holds the LALR parser Lark builds from `grammar/kamrules.lark`
(`Lark.save`: the tables, the terminals and the rules), behind one header line naming the
lark version and a digest of the grammar and options it was built from. `parser()` loads it
when the header matches the grammar and lark installed, else builds the parser in memory (a
tenth of a second): nothing is written at run time, in the temporary folder or elsewhere.

After an edit of the grammar: `python -m kamrules.syntax.tables` rewrites the file
(tests/test_parser_tables.py fails until it is rewritten).
"""
from __future__ import annotations

import hashlib
import io
import os
import sys
from importlib import resources

import lark

GRAMMAR = "grammar/kamrules.lark"
TABLES = GRAMMAR + ".tables"
OPTIONS = {"parser": "lalr", "lexer": "contextual", "propagate_positions": True, "maybe_placeholders": True}
_MAGIC = b"kamrules-lark-tables"


def grammar_text() -> str:
    return resources.files("kamrules").joinpath(GRAMMAR).read_text(encoding="utf-8")


def header(text: str) -> bytes:
    """The first line of the tables built from this grammar text by the installed lark."""
    digest = hashlib.sha256((text + repr(sorted(OPTIONS.items()))).encode("utf-8")).hexdigest()
    return b" ".join((_MAGIC, lark.__version__.encode("ascii"), digest.encode("ascii"))) + b"\n"


def build(text: str) -> lark.Lark:
    """The parser built from the grammar text (no cache read or written)."""
    return lark.Lark(text, **OPTIONS)


def serialized(text: str) -> bytes:
    """The content of the tables file for this grammar text."""
    out = io.BytesIO()
    out.write(header(text))
    build(text).save(out)
    return out.getvalue()


def shipped(text: str) -> lark.Lark | None:
    """The shipped parser, when it was built from this grammar text by this lark version."""
    try:
        blob = resources.files("kamrules").joinpath(TABLES).read_bytes()
    except OSError:
        return None
    head, _, body = blob.partition(b"\n")
    if head + b"\n" != header(text):
        return None
    try:
        return lark.Lark.load(io.BytesIO(body))
    except Exception:  # noqa: BLE001 - an unreadable file: build the parser instead
        return None


def parser() -> lark.Lark:
    """The grammar's parser: the shipped tables, or a fresh build."""
    text = grammar_text()
    return shipped(text) or build(text)


def write(path: str | None = None) -> str:
    """Rewrite the tables file from the grammar (the package's own by default)."""
    path = path or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), TABLES)
    from kamrules.files.outputs import write_files
    blob = serialized(grammar_text())
    write_files([(path, lambda fh: fh.write(blob))], "the parser tables")
    return path


if __name__ == "__main__":
    print(write(sys.argv[1] if len(sys.argv) > 1 else None))
