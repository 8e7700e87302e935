"""Where a file stops being UTF-8, and what it was most likely written in.

Plans and CSV inputs are UTF-8 (a BOM accepted). When one is not, the reader's
UnicodeDecodeError knows only an offset in its own buffer; `bad_utf8(fh)` reads the file
again (binary, in chunks, so a large export costs no more memory than a chunk and its last
line) and returns the first byte that is not UTF-8 with its line and column (1-based; the
column counts the characters of the line before it, a BOM not counted) and the encoding
the bytes most likely are in: UTF-16 (a UTF-16 BOM, or NUL bytes: Excel's "Unicode text"),
else Windows-1252 (Excel's "CSV" on Windows, a superset of Latin-1 for text) when the
bytes read in it, else Latin-1 (ISO-8859-1), which reads any byte. `where` and `convert`
word it for a diagnostic.
"""
from __future__ import annotations

import attrs

CHUNK = 1 << 20
_UTF8_BOM = b"\xef\xbb\xbf"


@attrs.frozen
class BadByte:
    offset: int   # 0-based byte offset in the file
    line: int     # 1-based
    column: int   # 1-based, in characters of the decoded line
    byte: int
    codec: str    # the Python codec name of the likely encoding: "cp1252", "latin-1", "utf-16"
    label: str    # its name for people: "Windows-1252"
    char: str     # the bad byte (and what follows it on its line) read in that encoding

    def where(self) -> str:
        shown = f" ({self.char!r} in {self.label})" if self.char else ""
        return f"byte 0x{self.byte:02X}{shown} at line {self.line}, column {self.column} (offset {self.offset})"

    def convert(self) -> str:
        return f"it looks like {self.label}: convert it from {self.label} to UTF-8 " \
               f"(iconv -f {self.codec.upper()} -t UTF-8, or the editor's \"Save as UTF-8\")"


def _guess(head: bytes, sample: bytes) -> tuple[str, str]:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in sample:
        return "utf-16", "UTF-16"
    try:
        sample.decode("cp1252")
        return "cp1252", "Windows-1252"
    except UnicodeDecodeError:
        return "latin-1", "Latin-1 (ISO-8859-1)"


def bad_utf8(fh) -> BadByte | None:
    """The first byte of the binary file object `fh` (read from its start) that is not UTF-8,
    or None when the whole file is UTF-8."""
    offset, line, line_bytes, carry, head = 0, 1, b"", b"", b""
    while True:
        chunk = fh.read(CHUNK)
        data = carry + chunk
        if not head:
            head = data[:4]
        try:
            data.decode("utf-8")
            good, carry, bad = data, b"", None
        except UnicodeDecodeError as err:
            if chunk and err.reason == "unexpected end of data":  # a character cut by the chunk
                good, carry, bad = data[:err.start], data[err.start:], None
            else:
                good, carry, bad = data[:err.start], b"", err.start
        line += good.count(b"\n")
        cut = good.rfind(b"\n")
        line_bytes = good[cut + 1:] if cut >= 0 else line_bytes + good
        if bad is not None:
            if line == 1 and line_bytes.startswith(_UTF8_BOM):
                line_bytes = line_bytes[len(_UTF8_BOM):]
            rest = data[bad:].split(b"\n", 1)[0][:40]
            codec, label = _guess(head, data[bad:bad + 4096])
            char = "" if codec == "utf-16" else rest.decode(codec, errors="replace")[:1]
            return BadByte(offset + bad, line, len(line_bytes.decode("utf-8")) + 1, data[bad], codec, label,
                           char)
        if not chunk:
            return None
        offset += len(good)
