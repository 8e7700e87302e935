"""What an editor asks about one plan text, answered from the parser and the checker: the
definitions and every reference to them (go to definition, references, rename, symbols),
the type and unit of a name (hover), the names that may come at a place (completion), and
the canonical layout (formatting). Nothing here knows LSP: positions are (line, column)
1-based in characters, as in `Span`; server.py converts.

A text that does not parse keeps the last index that did (the server passes it in), so
hover and completion go on working while a line is half typed.
"""
from __future__ import annotations

import re

import attrs

from kamrules.check.checker import check
from kamrules.check.lint import filter_findings, lint
from kamrules.core import builtins
from kamrules.diagnostics.diagnostic import KamError
from kamrules.diagnostics.source import SourceFile, Span
from kamrules.syntax import ast
from kamrules.syntax.highlight import EXPR_KEYWORDS, STATEMENT_KEYWORDS
from kamrules.syntax.parser import parse

_DEF_KINDS = {ast.Param: "param", ast.Let: "let", ast.Component: "component", ast.Decision: None,
              ast.Input: "input"}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@attrs.frozen
class Symbol:
    name: str
    kind: str  # param | let | component | curve | table | input | column
    span: Span  # the whole statement (or column line)
    name_span: Span  # the defining name only
    detail: str  # type and unit, when known
    container: str | None = None  # the input of a column


@attrs.define
class Analysis:
    source: SourceFile
    diagnostics: list
    symbols: list = attrs.Factory(list)  # [Symbol], plan order
    references: dict = attrs.Factory(dict)  # name -> [Span] of every use (definition excluded)
    payee_columns: dict = attrs.Factory(dict)  # column -> type text, of the payees' input
    parsed: bool = False
    checked: object = None  # the CheckedPlan when the text checks with no error (hover values)

    def symbol(self, name: str, kind: str | None = None) -> Symbol | None:
        for s in self.symbols:
            if s.name == name and s.kind != "column" and (kind is None or s.kind == kind):
                return s
        return None


def _children(node):
    if isinstance(node, (tuple, list)):
        yield from node
    elif attrs.has(type(node)):
        for field in attrs.fields(type(node)):
            if field.name != "span":
                yield getattr(node, field.name)


def _walk(node):
    stack = [node]
    while stack:
        n = stack.pop()
        if attrs.has(type(n)):
            yield n
        if isinstance(n, (tuple, list)) or attrs.has(type(n)):
            stack.extend(reversed(list(_children(n))))


def _name_span(source: SourceFile, span: Span, name: str) -> Span:
    """Where `name` is written in the first line of its statement (after the keyword)."""
    text = source.line_text(span.line)
    m = re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", text[span.column - 1:])
    if m is None:
        return span
    col = span.column + m.start()
    return Span(span.file, span.line, col, span.line, col + len(name))


def analyse(text: str, path: str, previous: Analysis | None = None, config=(None, ())) -> Analysis:
    """Diagnostics of `text` as `kamrules check` gives them (errors, then lints, `# noqa`
    and the select/ignore of `config` applied), with the index of its names."""
    from kamrules.syntax.parser import BOM

    source = SourceFile(path, text.removeprefix(BOM))
    try:
        plan = parse(text, path)
    except KamError as err:
        out = Analysis(source, list(err.diagnostics))
        if previous is not None:
            out.symbols, out.references = previous.symbols, previous.references
            out.payee_columns = previous.payee_columns
        return out
    checked, diags = check(plan, source)
    if checked is not None:
        diags = list(diags) + lint(checked)
    diags = filter_findings(diags, source, *config)
    out = Analysis(source, diags, parsed=True, checked=checked)
    _index(out, plan, checked)
    if checked is None and previous is not None:  # an error elsewhere: the types last known
        known = {(s.name, s.kind): s.detail for s in previous.symbols}
        out.symbols = [s if s.detail else attrs.evolve(s, detail=known.get((s.name, s.kind), ""))
                       for s in out.symbols]
    return out


def _index(out: Analysis, plan: ast.Plan, checked) -> None:
    source, types = out.source, {}
    if checked is not None:
        types = {name: str(d.type) for name, d in checked.definitions.items()}
    payees = "people"
    for st in plan.statements:
        if isinstance(st, ast.Header) and st.key == "payees" and st.values:
            payees = str(st.values[0])
    defined = set()
    for st in plan.statements:
        kind = _DEF_KINDS.get(type(st), "") if not isinstance(st, ast.Decision) else st.kind
        if not kind:
            continue
        detail = types.get(st.name, "")
        if isinstance(st, ast.Decision):
            params = ", ".join(f"{n}: {t.name}" for n, t in st.params)
            detail = f"({params})" + (f" -> {st.result.name}" if st.result is not None else "")
        elif isinstance(st, ast.Input):
            detail = f"input with {len(st.columns)} columns" + (f", key {st.key}" if st.key else "")
        elif not detail and getattr(st, "type", None) is not None:
            detail = st.type.name
        out.symbols.append(Symbol(st.name, kind, st.span, _name_span(source, st.span, st.name), detail))
        defined.add(st.name)
        if isinstance(st, ast.Input):
            for col in st.columns:
                ctype = col.type.name + (f"[{col.type.currency}]" if col.type.currency else "")
                if ctype == "Money" and checked is not None:
                    ctype = f"Money[{checked.currency}]"
                ctype = ("optional " if col.optional else "") + ctype
                out.symbols.append(Symbol(col.name, "column", col.span,
                                          _name_span(source, col.span, col.name), ctype, st.name))
                if st.name == payees:
                    out.payee_columns[col.name] = ctype
    resolution = checked.resolution if checked is not None else None
    for st in plan.statements:
        params = {n for n, _ in st.params} if isinstance(st, ast.Decision) else set()
        for node in _walk(st):
            if isinstance(node, ast.Name) and node.id in defined and node.id not in params:
                if resolution is not None and resolution.get(id(node), ("def",))[0] not in ("def", "table"):
                    continue  # a column or a curve's own parameter of the same name
                out.references.setdefault(node.id, []).append(node.span)
            elif isinstance(node, ast.Call) and node.func in defined:
                m = re.match(rf"\s*{re.escape(node.func)}\b", source.line_text(node.span.line)[node.span.column - 1:])
                if m is not None:
                    col = node.span.column + m.start() + (len(m.group()) - len(node.func))
                    out.references.setdefault(node.func, []).append(
                        Span(node.span.file, node.span.line, col, node.span.line, col + len(node.func)))


def word_at(source: SourceFile, line: int, column: int) -> tuple[str, Span] | None:
    """The name under (line, column), with its span."""
    text = source.line_text(line)
    for m in _WORD.finditer(text):
        if m.start() + 1 <= column <= m.end() + 1 - (m.end() < len(text) and column == m.end() + 1):
            return m.group(), Span(source.path, line, m.start() + 1, line, m.end() + 1)
    return None


def _inside(span: Span, line: int, column: int) -> bool:
    return (span.line, span.column) <= (line, column) <= (span.end_line, span.end_column)


def target_at(an: Analysis, line: int, column: int) -> Symbol | None:
    """The definition that the name at (line, column) stands for (a use or the definition)."""
    found = word_at(an.source, line, column)
    if found is None:
        return None
    name, span = found
    before = an.source.line_text(line)[:span.column - 1].rstrip()
    if before.endswith("."):
        owner = re.search(r"(\w+)\s*\.$", before)
        table = "payees" if owner and owner.group(1) == "payee" else (owner.group(1) if owner else None)
        for s in an.symbols:
            if s.kind == "column" and s.name == name and (table == "payees" and s.name in an.payee_columns
                                                          or s.container == table):
                return s
        return None
    sym = an.symbol(name)
    if sym is None:
        return None
    if _inside(sym.name_span, line, column) or any(_inside(r, line, column) for r in an.references.get(name, ())):
        return sym
    return None


def hover(an: Analysis, line: int, column: int) -> str | None:
    """Markdown: the kind, name, type and unit of the name at the place, and its definition."""
    found = word_at(an.source, line, column)
    if found is None:
        return None
    name, span = found
    sym = target_at(an, line, column)
    if sym is not None:
        head = f"{sym.kind} `{sym.name}`" + (f": {sym.detail}" if sym.detail else "")
        if sym.kind == "column":
            head = f"column `{sym.name}` of `{sym.container}`: {sym.detail}"
        body = "\n".join(an.source.line_text(n) for n in range(sym.span.line, min(sym.span.end_line, sym.span.line + 8) + 1))
        return f"{head}\n\n```kam\n{body.rstrip()}\n```"
    after = an.source.line_text(line)[span.end_column - 1:].lstrip()
    if name in builtins.REGISTRY and after.startswith("("):
        b = builtins.REGISTRY[name]
        return f"built-in `{b.signature}`\n\n{b.summary}"
    return None


def definition(an: Analysis, line: int, column: int) -> Span | None:
    sym = target_at(an, line, column)
    return sym.name_span if sym is not None else None


def references(an: Analysis, line: int, column: int, include_declaration: bool = True) -> list[Span]:
    sym = target_at(an, line, column)
    if sym is None or sym.kind == "column":
        return []
    return ([sym.name_span] if include_declaration else []) + list(an.references.get(sym.name, ()))


def rename(an: Analysis, line: int, column: int, new_name: str) -> list[tuple[Span, str]] | None:
    """The edits renaming the definition at the place everywhere, or None when it cannot be
    renamed (not a definition, a column, or a new name that is not a free plain name)."""
    sym = target_at(an, line, column)
    if sym is None or sym.kind == "column" or not re.fullmatch(r"[a-z_][a-z0-9_]*", new_name):
        return None
    taken = {s.name for s in an.symbols if s.kind != "column"} | set(builtins.NAMES)
    if new_name in taken | set(STATEMENT_KEYWORDS) | set(EXPR_KEYWORDS) | {"payee", "period", "true", "false"}:
        return None
    return [(s, new_name) for s in references(an, line, column)]


def completions(an: Analysis, line: int, column: int) -> list[tuple[str, str, str]]:
    """(label, kind, detail) of what may be written at the place: after `payee.` the payees'
    columns, after `T.` the columns of input T, inside `... for T where` also T's columns,
    else the definitions, the built-ins with their signatures and the keywords."""
    before = an.source.line_text(line)[:column - 1]
    m = re.search(r"(\w+)\s*\.\s*\w*$", before)
    if m is not None:
        owner = m.group(1)
        if owner == "payee":
            return [(c, "column", t) for c, t in an.payee_columns.items()] + [("id", "column", "the payee's key")]
        return [(s.name, "column", s.detail) for s in an.symbols if s.kind == "column" and s.container == owner]
    out = [(s.name, s.kind, s.detail) for s in an.symbols if s.kind != "column"]
    out += [(b.name, "builtin", b.signature) for b in builtins.REGISTRY.values()]
    out += [("payee", "variable", "the payee of the row being computed"),
            ("period", "variable", "the period being computed")]
    statement = _statement_text(an.source, line, column)
    for table in re.findall(r"\b(?:for|count\(|exists\()\s*(\w+)\s+where\b", statement) + \
            re.findall(r"\bfor\s+(\w+)\b", statement):
        out += [(s.name, "column", f"{s.detail} (column of {table})") for s in an.symbols
                if s.kind == "column" and s.container == table]
    out += [(k, "keyword", "") for k in STATEMENT_KEYWORDS + EXPR_KEYWORDS]
    seen, unique = set(), []
    for item in out:
        if item[0] not in seen:
            seen.add(item[0])
            unique.append(item)
    return unique


def _statement_text(source: SourceFile, line: int, column: int) -> str:
    """The text of the statement around (line, column): back to the last line starting at
    column 1 with a word, forward to the next one."""
    lines = source.text.split("\n")
    start = line - 1
    while start > 0 and not re.match(r"[a-z]", lines[start]):
        start -= 1
    end = line
    while end < len(lines) and not re.match(r"[a-z]", lines[end]):
        end += 1
    return "\n".join(lines[start:end])


def symbols(an: Analysis) -> list[Symbol]:
    return [s for s in an.symbols if s.kind != "column"]


def formatted(text: str, path: str) -> str | None:
    """The `fmt` layout of the text, or None when it does not parse."""
    from kamrules.syntax.fmt import format_text

    try:
        return format_text(text, path)
    except KamError:
        return None
