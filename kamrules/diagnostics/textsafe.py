"""Text from data or plans made safe to show: on a terminal, in Markdown, in HTML, in JSON.

Ids, names, text cells, file names and plan strings are written by whoever made the export
or the plan. Shown raw, an ESC sequence can erase or recolour a terminal line, a CR can
overwrite it, a bidi override can reorder it ("Trojan Source"), and in a Markdown document
a `|` or `<script>` from a payee name can break a table or inject HTML.

`for_terminal(s)` shows every unsafe character as a visible escape, one character at a time:
TAB, LF, CR as `\\t`, `\\n`, `\\r`; any other C0 control, DEL and C1 control as `\\xHH`; the
bidi controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069), the line and paragraph
separators U+2028/U+2029 and lone surrogates as `\\uHHHH`. Everything else, backslashes
included, is left as is: the map is idempotent (escaping twice changes nothing) and works
character by character (escaping cells then joining them gives the same as escaping the
line), so layers of the code can each apply it safely. The price: a literal backslash-x-1-b
typed in the data reads like an escaped ESC; the CSV and JSON outputs carry the exact value.

`for_markdown(s)` = `for_terminal`, then `&`, `<`, `>` as HTML entities (no raw HTML), and a
backslash before the Markdown characters that format, link or split a table cell (`\\`, a
backtick, `*`, `[`, `]`, `|`, `~`, and `_` at a word edge: `nrr_attainment` stays as is), and
before a block marker at the start (`#`, `-`, `+`, `=`, `1.`) outside a table; so a value
renders as its own text (`![x](url)` cannot load an image: its `[` is escaped).
`md_code(s)` is a code span holding s (escaped for the terminal, `|` as `\\|` in a table);
`md_inline(s)` keeps the `` `code` `` spans of a sentence the report wrote and escapes the
rest. `for_html(s)` is `html.escape(for_terminal(s))`: HTML never gets a raw control
character (they are invalid there). `json_safe(text)` rewrites, in a JSON document, the
characters json.dumps leaves raw (DEL, C1, bidi, lone surrogates) as `\\uHHHH`: the same JSON value.
"""
from __future__ import annotations

import re

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(m: re.Match) -> str:
    c = m.group()
    if c in _NAMED:
        return _NAMED[c]
    n = ord(c)
    return f"\\x{n:02x}" if n <= 0xFF else f"\\u{n:04x}"


def for_terminal(s) -> str:
    """s with every control, bidi and separator character shown as a visible escape."""
    s = str(s)
    return UNSAFE.sub(_escape, s) if UNSAFE.search(s) else s


def width(s) -> int:
    """The number of characters `for_terminal(s)` shows (for aligned columns)."""
    return len(for_terminal(s))


# `_` only at a word edge: `nrr_attainment` stays readable (no emphasis inside a word)
_MD_PUNCT = re.compile(r"([\\`*\[\]|~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")
_MD_BLOCK = re.compile(r"^(\s*)([#+=-]|\d+[.)])")


def for_markdown(s, in_table: bool = False) -> str:
    """s as Markdown text that renders as itself: no HTML, no link, no emphasis, no cell break.

    Outside a table (`in_table=False`) a leading block marker (heading, list, rule) is escaped
    too; inside a table cell it cannot start a block, so it is left alone.
    """
    return _md_text(s, block=not in_table)


def _md_text(s, block: bool) -> str:
    text = for_terminal(s)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_PUNCT.sub(r"\\\1", text)
    if block:
        text = _MD_BLOCK.sub(lambda m: m.group(1) + "\\" + m.group(2), text, count=1)
    return text


def md_code(s, in_table: bool = False) -> str:
    """A Markdown code span showing s (escaped for the terminal); in a table, `|` as `\\|`."""
    text = for_terminal(s)
    if in_table:
        text = text.replace("|", "\\|")
    fence = "`" * (max((len(r) for r in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_inline(s) -> str:
    """A sentence written by a report, whose `...` parts are code: code spans kept, rest escaped."""
    parts = str(s).split("`")
    if len(parts) % 2 == 0:  # an odd number of backticks: no reliable code span, all text
        return for_markdown(s)
    return "".join(_md_text(p, block=i == 0) if i % 2 == 0 else md_code(p)
                   for i, p in enumerate(parts))


def for_html(s) -> str:
    """s as HTML text or attribute value: controls shown escaped, then &<>"' escaped."""
    import html  # here: only the HTML reports need it

    return html.escape(for_terminal(s), quote=True)


_JSON_RAW = re.compile(f"[\x7f-\x9f{_BIDI}\ud800-\udfff]")


def json_safe(text: str) -> str:
    """A JSON document with DEL, C1 and bidi characters inside its strings as \\uHHHH escapes."""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text) if _JSON_RAW.search(text) else text
