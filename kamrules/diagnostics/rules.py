"""What each code means, read from docs/diagnostics.md (the one source of truth): its section
(meaning, example, fix) for `kamrules rule KRnnn`, SARIF's rule help and the editor's hover.

A section starts at `<a id="krnnn"></a>` followed by `### KRnnn: title` and ends at the next
anchor or `## ` heading. Without the docs file (a wheel installed without the repository),
only the one-line title of `CODES` is known, and the text says where the full one is.
"""
from __future__ import annotations

import functools
import os
import re
from pathlib import Path

# docs/diagnostics.md, shipped inside the package (kamrules/docs/diagnostics.md links to it in the
# repository; a wheel holds a copy), so that `kamrules rule` works wherever kamrules is installed.
DOCS_FILE = Path(__file__).resolve().parent.parent / "docs" / "diagnostics.md"
_SECTION = re.compile(r'^<a id="(kr\d{3})"></a>\n### (KR\d{3}): ([^\n]*)\n(.*?)(?=^<a id=|^## |\Z)',
                      re.M | re.S)


def docs_url(code: str) -> str:
    """Where the section of `code` is: $KAMRULES_DOCS_URL (a published copy of
    docs/diagnostics.md) or this checkout's docs file, with the code's anchor."""
    base = os.environ.get("KAMRULES_DOCS_URL") or DOCS_FILE.as_uri()
    return f"{base}#{code.lower()}"


@functools.lru_cache(maxsize=1)
def sections() -> dict[str, tuple[str, str]]:
    """code -> (title, body in Markdown) for every section of the docs page."""
    try:
        text = DOCS_FILE.read_text(encoding="utf-8")
    except OSError:
        return {}
    out = {}
    for m in _SECTION.finditer(text):
        body = re.sub(r"^```(\w+)[^\n]*$", r"```\1", m.group(4).strip(), flags=re.M)
        out[m.group(2)] = (m.group(3).strip(), body)
    return out


def rule_text(code: str) -> str | None:
    """The explanation of `code` as `kamrules rule` prints it, or None for an unknown code."""
    from kamrules.diagnostics.diagnostic import CODES

    code = code.upper()
    if code not in CODES:
        return None
    title, body = sections().get(code, (CODES[code], ""))
    if not body:
        body = f"(the full explanation is in docs/diagnostics.md, section {code})"
    where = docs_url(code) if os.environ.get("KAMRULES_DOCS_URL") else f"docs/diagnostics.md#{code.lower()}"
    return f"# {code}: {title}\n\n{body}\n\nDocs: {where}\n"


def fix_text(code: str) -> str | None:
    """The `Fix: ...` paragraph of a code's section (SARIF help, code actions), if it has one."""
    body = sections().get(code.upper(), ("", ""))[1]
    m = re.search(r"^Fix: (.*?)(?:\n\n|\Z)", body, re.M | re.S)
    return " ".join(m.group(1).split()) if m else None
