"""Text to AST: the Lark LALR parser over `grammar/kamrules.lark`, builders to `ast`.

A valid plan goes through `lalr.Driver`, an LALR loop over Lark's own tables and lexer regexes
that builds the AST while it parses (about 5 times faster than Lark's tree + Transformer);
anything else goes through Lark's parser and a Transformer, which word the errors.

Syntax errors become `Diagnostic`s (KR001) with the token found, the words expected (terminal
names mapped to plan words) and a hint for the common slips.
"""
from __future__ import annotations

import functools
import os
import re
from decimal import Decimal, InvalidOperation

import lark
from lark import Transformer, Token

from kamrules.syntax import ast, lalr, tables

from kamrules.core import limits
from kamrules.diagnostics.diagnostic import Diagnostic, KamError, did_you_mean
from kamrules.diagnostics.source import Span, SourceFile
from kamrules.files.encoding import bad_utf8
from kamrules.files.inputs import NotRegular, open_regular

WORDS = {
    "PLAN": "`plan`", "VERSION": "`version`", "CURRENCY_KW": "`currency`", "PERIOD_KW": "`period`",
    "PAYEES": "`payees`", "ROUND": "`round`", "COMPONENTS": "`components`", "FISCAL": "`fiscal`",
    "YEAR": "`year`", "STARTS": "`starts`", "ELIGIBLE": "`eligible`", "INPUT": "`input`",
    "FROM": "`from`", "KEY": "`key`", "SQL": "`sql`", "WITH": "`with`", "OPTIONAL": "`optional`", "UNIQUE": "`unique`", "REFERENCES": "`references`", "REQUIRE": "`require`",
    "EVERY": "`every`", "PAYMENT": "`payment`",
    "PARAM": "`param`", "LET": "`let`", "COMPONENT": "`component`", "WHEN": "`when`", "HOLD": "`hold`", "TO": "`to`",
    "DECISION_KW": "`curve` or `table`", "HIT": "`hit`", "MARGINAL": "`marginal`", "ANY": "`any`", "WHERE": "`where`",
    "IF": "`if`", "THEN": "`then`", "ELSE": "`else`", "OR": "`or`", "AND": "`and`", "NOT": "`not`",
    "IN": "`in`", "FOR": "`for`", "BY": "`by`", "TRUE": "`true`", "FALSE": "`false`", "ARROW": "`->`",
    "CMP": "a comparison (`<`, `<=`, `==`, ...)", "EQ": "`=`", "ADD_OP": "`+` or `-`",
    "MUL_OP": "`*` or `/`", "BAR": "`|`", "COLON": "`:`", "COMMA": "`,`", "DOT": "`.`",
    "LPAR": "`(`", "RPAR": "`)`", "LSQB": "`[`", "RSQB": "`]`", "LBRACE": "`{`", "RBRACE": "`}`",
    "DATE": "a date (2025-04-01)", "PERIOD_LIT": "a period (2025-Q1, 2025-03)",
    "PERCENT": "a percentage (105%)", "NUMBER": "a number", "CURRENCY": "a currency code (EUR)",
    "TYPE": "a type (Money, Rate, Date, ...)", "NAME": "a name", "STRING": 'a string ("...")',
    "$END": "the end of the file",
}

STATEMENT_WORDS = ("plan", "version", "currency", "period", "payees", "round", "fiscal",
                   "eligible", "require", "payment", "input", "param", "let", "component", "curve", "table")


@functools.lru_cache(maxsize=1)
def _lark() -> lark.Lark:
    # the LALR parser shipped in the package (syntax/tables.py), built from the grammar when
    # it does not match it: nothing written at run time
    return tables.parser()


def _span_tok(path: str, tok: Token) -> Span:
    return Span(path, tok.line, tok.column, tok.end_line or tok.line,
                tok.end_column or tok.column + len(tok))


def _span_meta(path: str, meta) -> Span:
    if getattr(meta, "empty", True):
        return Span(path, 0, 0, 0, 0)
    return Span(path, meta.line, meta.column, meta.end_line, meta.end_column)


def _number(text: str) -> Decimal:
    problem = limits.number_literal_problem(text)
    if problem:
        raise ValueError(problem)
    return Decimal(text.replace("_", ""))


# ---------------------------------------------------------------- AST builders
# One function per grammar rule (its alias or name): `s` is the node's Span, `c` the rule's
# children as Lark's tree builder gives them (tokens as strings, `None` for an absent `[...]`).
# Both parsers below call them: the fast LALR driver and the Lark Transformer fallback.

# statements
def _b_start(s, c):
    return ast.Plan(tuple(c))


def _b_plan_name(s, c):
    return ast.Header("plan", (c[1][1:-1],), span=s)


def _b_plan_version(s, c):
    return ast.Header("version", (c[1][1:-1],), span=s)


def _b_plan_currency(s, c):  # `currency EUR`, or `currency payee.COLUMN` (checked by the checker)
    return ast.Header("currency", ("".join(str(x) for x in c[1:]),), span=s)


def _b_plan_period(s, c):
    return ast.Header("period", (str(c[1]),), span=s)


def _b_plan_payees(s, c):
    return ast.Header("payees", (str(c[1]),), span=s)


def _b_plan_rounding(s, c):
    return ast.Header("round", (str(c[3]), str(c[4])), span=s)


def _b_plan_fiscal(s, c):
    return ast.Header("fiscal", (str(c[3]),), span=s)


def _b_eligible(s, c):
    return ast.Eligible(c[2], span=s)


def _b_input_decl(s, c):
    _, name, _, source, dialect, _, key, _, *cols, _ = c
    kind, text = source or (None, None)
    return ast.Input(str(name), text if kind == "file" else None, str(key) if key else None,
                     tuple(cols), options=dialect or (), sql=text if kind == "sql" else None, span=s)


def _b_input_source(s, c):
    """("file", the name as written) or ("sql", the query, escapes read)."""
    if len(c) == 1:
        return "file", c[0][1:-1]
    return "sql", _unescape(c[1])


def _b_dialect(s, c):
    return tuple(c[1:])


def _b_dialect_option(s, c):
    return ast.InputOption(str(c[0]), _unescape(c[1]), span=s)


def _b_column(s, c):
    name, _, optional, type_ref, unique, _, references = c
    return ast.Column(str(name), type_ref, optional is not None, unique is not None,
                      str(references) if references else None, span=s)


def _b_plan_payment(s, c):
    return ast.Header("payment", (str(c[1]),), span=s)


def _b_require_decl(s, c):
    _, _, table, _, cond, _, message = c
    return ast.Require(str(table), cond, message[1:-1] if message else None, span=s)


def _b_type_ref(s, c):
    return ast.TypeRef(str(c[0]), str(c[2]) if c[2] else None, span=s)


def _b_param_decl(s, c):
    return ast.Param(str(c[1]), c[3], c[5], span=s)


def _b_let_decl(s, c):
    return ast.Let(str(c[1]), c[3], c[5], span=s)


def _b_component_decl(s, c):
    _, name, validity, _, when, hold, _, expr = c
    lo, hi = validity if validity else (None, None)
    return ast.Component(str(name), lo, hi, when, expr, span=s, hold=hold)


def _b_hold(s, c):
    return c[2]


def _b_validity(s, c):
    return (c[1], c[3])


def _b_decision_decl(s, c):
    kind, name, _, params, _, _, result, hit, _, *rows, _ = c
    return ast.Decision(str(kind), str(name), params, result, str(hit or "unique"), tuple(rows),
                        span=s)


def _b_param_list(s, c):
    return tuple(x for x in c if not isinstance(x, str))


def _b_typed_param(s, c):
    return (str(c[0]), c[2])


def _b_hit_policy(s, c):
    return str(c[1])


def _b_row(s, c):
    cells = [x for x in c if not (isinstance(x, str))]
    conds = tuple(x if isinstance(x, ast.Cell) else ast.Cell("eq", lo=x, span=x.span)
                  for x in cells[:-1])
    return ast.DecisionRow(conds, cells[-1], span=s)


def _b_cell_compare(s, c):
    return ast.Cell("cmp", op=str(c[0]), lo=c[1], span=s)


def _b_cell_range(s, c):
    return ast.Cell("range", op=str(c[2]), lo=c[0], hi=c[3], span=s)


def _b_cell_any(s, c):
    return ast.Cell("any", span=s)


# expressions
def _b_where(s, c):
    return ast.Where(c[0], c[2], span=s)


def _b_if_else(s, c):
    return ast.IfElse(c[1], c[3], c[5], span=s)


def _b_binop(s, c):
    return ast.BinOp(str(c[1]), c[0], c[2], span=s)


def _b_not_in(s, c):
    return ast.BinOp("not in", c[0], c[3], span=s)


def _b_not_(s, c):
    return ast.Not(c[1], span=s)


def _b_neg(s, c):
    if str(c[0]) == "+":
        return c[1]
    return ast.Neg(c[1], span=s)


def _b_attr(s, c):
    return ast.Attr(c[0], str(c[2]), span=s)


def _b_index(s, c):
    return ast.Index(c[0], c[2], span=s)


def _b_call(s, c):
    args = c[2] if c[2] is not None else ()
    return ast.Call(str(c[0]), tuple(args), span=s)


def _b_args(s, c):
    return tuple(x for x in c if not isinstance(x, str))


def _b_each(s, c):
    return ast.Each(c[0], c[2], span=s)


def _b_by_arg(s, c):
    return ast.By(c[1], span=s)


def _b_number(s, c):
    return ast.Number(_number(c[0]), str(c[0]), span=s)


def _b_percent(s, c):
    text = str(c[0])
    return ast.Number(_number(text[:-1]).scaleb(-2), text, percent=True, span=s)


def _b_money(s, c):
    return ast.MoneyLit(_number(c[0]), str(c[0]), str(c[1]), span=s)


def _b_date(s, c):
    return ast.DateLit(str(c[0]), span=s)


def _b_period_lit(s, c):
    return ast.PeriodLit(str(c[0]), span=s)


def _unescape(token: str) -> str:
    """The text of a STRING token, its escapes read one at a time (a backslash-backslash-n is a
    backslash then n)."""
    unescape = {'"': '"', "\\": "\\", "n": "\n"}
    return re.sub(r'\\(["\\n])', lambda m: unescape[m.group(1)], token[1:-1])


def _b_string(s, c):
    return ast.String(_unescape(c[0]), span=s)


def _b_true(s, c):
    return ast.Bool(True, span=s)


def _b_false(s, c):
    return ast.Bool(False, span=s)


def _b_name(s, c):
    return ast.Name(str(c[0]), span=s)


def _b_atom(s, c):  # ( expr )
    return ast.Paren(c[1], span=s)


def _b_list_(s, c):
    return ast.ListLit(tuple(x for x in c if x is not None and not isinstance(x, str)),
                       span=s)


BUILDERS = {name[3:]: fn for name, fn in list(globals().items()) if name.startswith("_b_")}


class _ToAst(Transformer):
    """The reference path: Lark's parse tree with positions, then one builder per node."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def __default__(self, data, children, meta):
        span = _span_meta(self.path, meta)
        try:
            return BUILDERS[data](span, children)
        except (InvalidOperation, ValueError) as err:
            raise _BadLiteral(err, span) from None


class _BadLiteral(Exception):
    """A number literal a builder refused (too long, not a decimal), and where it is."""

    def __init__(self, err: Exception, span: Span):
        super().__init__(str(err))
        self.err, self.span = err, span


def _expected_words(expected) -> str:
    words = sorted({WORDS.get(e, e) for e in expected})
    if len(words) > 6:
        words = words[:6] + ["..."]
    return ", ".join(words)


def _syntax_error(src: SourceFile, err: lark.exceptions.UnexpectedInput) -> Diagnostic:
    line, col = getattr(err, "line", 0) or 0, getattr(err, "column", 0) or 0
    if isinstance(err, lark.exceptions.UnexpectedCharacters):
        ch = src.text[err.pos_in_stream] if err.pos_in_stream < len(src.text) else "?"
        span = Span(src.path, line, col, line, col + 1)
        hint = None
        if ch == "'":
            hint = 'strings use double quotes: "text"'
        elif ch == "=" and src.text[err.pos_in_stream:err.pos_in_stream + 2] == "=>":
            hint = "write `>=` for greater-or-equal"
        elif ch.isdigit():
            hint = "numbers are written 1234.56, percentages 105%, money 1000 EUR, dates 2025-04-01"
        elif ch == "%" and src.text[err.pos_in_stream - 1:err.pos_in_stream] in (" ", "\t"):
            hint = "a percentage is written without a space: 10%"
        elif ch == '"' and '"' not in src.text[err.pos_in_stream + 1:].split("\n", 1)[0]:
            return Diagnostic("KR001", "this string is never closed", span,
                              'end it with `"` on the same line (write `\\"` for a quote inside it)')
        elif ch.isalpha() and ch.isupper() and re.search(r"(?:[0-9]\s+|\[)[A-Z]*$",
                                                         src.text[:err.pos_in_stream]):
            hint = "a currency is its ISO 4217 code, three capital letters: 1000 EUR, Money[USD]"
        return Diagnostic("KR001", f"unexpected character {ch!r}; expected {_expected_words(err.allowed)}",
                          span, hint)
    tok = err.token
    if tok.type == "$END":
        text = src.text[:-1] if src.text.endswith("\n") else src.text
        lines = text.split("\n")
        line, col = len(lines), len(lines[-1]) + 1
        span = Span(src.path, line, col, line, col + 1)
        found = "the end of the file"
    else:
        span = _span_tok(src.path, tok)
        found = f"`{tok}`"
    expected = set(err.expected) if hasattr(err, "expected") else set()
    hint = None
    before = src.text[:tok.start_pos] if tok.type != "$END" else src.text
    pend = len(before.rstrip())
    prev = before[:pend].rsplit(None, 1)[-1] if pend else ""
    pstart = pend - len(prev)
    line_start = not src.text[src.text.rfind("\n", 0, pstart) + 1:pstart].strip()
    tok_line_start = tok.type == "$END" or not src.text[src.text.rfind("\n", 0, tok.start_pos) + 1:tok.start_pos].strip()
    if tok_line_start or (prev in STATEMENT_WORDS and line_start):
        unclosed = _unclosed_opener(src, pstart if not tok_line_start else len(before))
        if unclosed is not None:
            return unclosed
    lower_code = re.search(r"(?m)^[ \t]*currency[ \t]+([a-z]{3})[ \t]*(?:#[^\n]*)?\n\s*$", before)
    if lower_code and "DOT" in expected:
        code = lower_code.group(1)
        line, col = _position(src, lower_code.start(1))
        return Diagnostic("KR001", f"`currency {code}`: a currency code is written in capitals",
                          Span(src.path, line, col, line, col + 3),
                          f"write `currency {code.upper()}` (or `currency payee.COLUMN` for each payee's own)")
    kw = _keyword_slip(src, tok, expected, line_start=tok_line_start)
    if kw is not None:
        return kw
    if "EQ" in expected and tok.type == "CMP" and str(tok) == "==" \
            or tok.type == "EQ" and before.endswith("="):
        if tok.type == "EQ":
            span = Span(src.path, span.line, span.column - 1, span.line, span.end_column)
            found = "`==`"
        hint = "a definition uses a single `=`; `==` compares two values"
    elif prev in STATEMENT_WORDS and tok.type == "NAME" and line_start:
        line = src.text.count("\n", 0, pstart) + 1
        col = pstart - (src.text.rfind("\n", 0, pstart) + 1) + 1
        span = Span(src.path, line, col, line, col + len(prev))
        return Diagnostic("KR001", f"unexpected `{prev}`: the statement before it is unfinished", span,
                          "complete the previous line (a value after the last operator?)")
    elif str(tok) in STATEMENT_WORDS or tok.type in ("LET", "COMPONENT", "PARAM", "INPUT"):
        hint = "the previous statement looks unfinished"
    elif tok.type == "EQ":
        hint = "`=` defines a name; to compare two values write `==`"
    elif "EQ" in expected and tok.type != "EQ":
        hint = "a definition is written `name = value`"
    elif tok.type == "COMMA" and expected == {"RPAR"}:
        hint = 'a list is written in square brackets: ["won", "open"]; parentheses hold one value'
    elif tok.type == "NAME" and "RPAR" in expected:
        hint = "arguments are separated by commas"
    elif tok.type == "CURRENCY" or (tok.type == "TYPE" and "CURRENCY" in expected):
        hint = "money is written `1000 EUR`, with the amount first"
    return Diagnostic("KR001", f"unexpected {found}; expected {_expected_words(expected)}", span, hint)


_CLOSERS = {"(": ")", "[": "]", "{": "}"}
_BRACKETS_AND_TEXT = re.compile(r'"[^"\n]*"?|#[^\n]*|[()\[\]{}]')


def _position(src: SourceFile, offset: int) -> tuple[int, int]:
    line_start = src.text.rfind("\n", 0, offset) + 1
    return src.text.count("\n", 0, offset) + 1, offset - line_start + 1


def _unclosed_opener(src: SourceFile, upto: int) -> Diagnostic | None:
    """KR001 at the innermost `(`, `[` or `{` still open at offset `upto` (where the parser
    met the start of the next statement, or the end of the file), with that place labelled."""
    stack = []
    for m in _BRACKETS_AND_TEXT.finditer(src.text, 0, upto):
        piece = m.group()
        if piece in _CLOSERS:
            stack.append(m.start())
        elif piece in (")", "]", "}") and stack and _CLOSERS[src.text[stack[-1]]] == piece:
            stack.pop()
    if not stack:
        return None
    opener = src.text[stack[-1]]
    line, col = _position(src, stack[-1])
    span = Span(src.path, line, col, line, col + 1)
    if upto >= len(src.text.rstrip()):
        where, label = "the end of the file", "the file ends here"
        eline = len(src.text.rstrip().split("\n"))
        ecol = len(src.text.rstrip().split("\n")[-1]) + 1
        width = 1
    else:
        eline, ecol = _position(src, upto)
        word = re.match(r"\S+", src.text[upto:]).group()
        where, label = f"`{word}` on line {eline}", "the next statement starts here"
        width = len(word)
    end = Span(src.path, eline, ecol, eline, ecol + width)
    return Diagnostic("KR001", f"this `{opener}` is never closed", span,
                      f"add `{_CLOSERS[opener]}` before {where}", labels=((end, label),))


KEYWORDS = STATEMENT_WORDS + ("components", "key", "optional", "unique", "references", "from",
                              "when", "to", "hit", "any", "where", "if", "then", "else", "and",
                              "or", "not", "in", "for", "by", "marginal", "true", "false", "every", "starts",
                              "year")


def _keyword_slip(src: SourceFile, tok, expected, line_start: bool) -> Diagnostic | None:
    """A misspelt keyword (`compnent upsell = ...`): KR001 with did-you-mean, when a keyword
    could come there and a name that is not one was found, close to a keyword."""
    if tok.type != "NAME" or not line_start:
        return None
    allowed = {WORDS[e].strip("`") for e in expected if e in WORDS and WORDS[e].startswith("`")}
    allowed |= {"curve", "table"} if "DECISION_KW" in expected else set()
    close = did_you_mean(str(tok), [k for k in KEYWORDS if k in allowed])
    if close is None:
        return None
    return Diagnostic("KR001", f"unknown word `{tok}` where a statement starts", _span_tok(src.path, tok),
                      close)


def parse(text: str, path: str = "<plan>") -> ast.Plan:
    """Parse plan text; raise KamError with one KR001 diagnostic on a syntax error. A leading
    UTF-8 BOM is ignored (spans count from after it)."""
    text = text.removeprefix(BOM)
    if not _surely_within_limits(text):
        too_big = limits.plan_text_problem(text, path)
        if too_big is not None:
            raise KamError([too_big])
    plan = _fast_parse(text, path)
    if plan is None:  # not a plain valid plan: the reference path finds and words the problem
        plan = _reference_parse(text, path)
    comments = []
    for lineno, line in enumerate(text.split("\n"), 1):
        if "#" in line:
            idx = _comment_start(line)
            if idx is not None:
                comments.append((lineno, line[idx:].rstrip()))
    return ast.Plan(plan.statements, tuple(comments), path)


# Brackets, strings ("..." up to the next quote or the end of the line, escapes not
# special) and comments as limits.plan_text_problem scans them, one regex match each.
_BRACKETS_OUTSIDE_TEXT = re.compile(r'"[^"\n]*"?|#[^\n]*|[()\[\]]')


def _surely_within_limits(text: str) -> bool:
    """True when limits.plan_text_problem would find nothing (its loop reads the text one
    character at a time in Python; this asks the regex engine); False means: ask it."""
    if len(text) * 4 > limits.MAX_PLAN_BYTES or text.count("\n") + 1 > limits.MAX_PLAN_LINES:
        return False  # 4 bytes at most per character in UTF-8
    depth = 0
    for piece in _BRACKETS_OUTSIDE_TEXT.findall(text):
        if piece == "(" or piece == "[":
            depth += 1
            if depth > limits.MAX_NESTING:
                return False
        elif piece == ")" or piece == "]":
            depth -= 1
    return True


def _reference_parse(text: str, path: str) -> ast.Plan:
    """Lark's parse tree with positions, then the builders: slow, and the authority on errors."""
    try:
        tree = _lark().parse(text)
    except lark.exceptions.UnexpectedInput as err:
        raise KamError([_syntax_error(SourceFile(path, text), err)]) from None
    deep = limits.tree_too_deep(tree)
    if deep is not None:
        raise KamError([limits.nesting_problem(path, *deep)])
    try:
        return _ToAst(path).transform(tree)
    except RecursionError:
        raise KamError([limits.nesting_problem(path, 1, 1)]) from None
    except _BadLiteral as bad:
        raise KamError([Diagnostic("KR002", f"invalid literal: {bad.err}", bad.span)]) from None


def _fast_parse(text: str, path: str) -> ast.Plan | None:
    """The plan through `lalr.Driver`, or None when it is not valid or the driver cannot take it."""
    driver = _driver()
    if driver is None:
        return None
    try:
        return driver.parse(text, path)
    except Exception:  # noqa: BLE001 - any surprise: the reference path decides, and words it
        return None


@functools.lru_cache(maxsize=1)
def _driver() -> lalr.Driver | None:
    try:
        return lalr.Driver(_lark(), BUILDERS)
    except lalr.Unsupported:
        return None


def _comment_start(line: str) -> int | None:
    in_str = False
    i = 0
    while i < len(line):
        ch = line[i]
        if in_str and ch == "\\":
            i += 2
            continue
        if ch == '"':
            in_str = not in_str
        elif ch == "#" and not in_str:
            return i
        i += 1
    return None


BOM = "\ufeff"


def read_plan_text(path: str, newline: str | None = None, keep_bom: bool = False) -> str:
    """A plan file's text without its UTF-8 BOM if it has one (a plan with a BOM is read like
    one without; keep_bom: as written, for fmt); KR401 when it is missing, not a regular
    file (never blocks on a FIFO) or not UTF-8."""
    try:
        with open_regular(path, binary=False, encoding="utf-8", newline=newline) as fh:
            text = fh.read()
    except UnicodeDecodeError:
        raise KamError([_not_utf8_plan(path)]) from None
    except OSError as err:
        raise KamError([_unreadable_plan(path, err)]) from None
    return text if keep_bom else text.removeprefix(BOM)


def _not_utf8_plan(path: str) -> Diagnostic:
    """KR401 at the plan's first byte that is not UTF-8, with the encoding it looks written in."""
    try:
        with open_regular(path) as fh:
            bad = bad_utf8(fh)
    except OSError:
        bad = None
    if bad is None:  # the file changed since it was read
        return Diagnostic("KR401", f"plan file {path} is not UTF-8 text", hint="save the plan as UTF-8")
    return Diagnostic("KR401", f"plan file {path} is not UTF-8 text: {bad.where()}",
                      Span(path, bad.line, bad.column, bad.line, bad.column + 1),
                      "save the plan as UTF-8; " + bad.convert())


def _unreadable_plan(path: str, err: Exception) -> Diagnostic:
    """KR401 in words (never `[Errno 2]`): missing (with the .kam files beside it), a folder,
    not a regular file, not readable, not UTF-8."""
    if isinstance(err, FileNotFoundError):
        folder = os.path.dirname(path) or "."
        try:
            plans = sorted(n for n in os.listdir(folder) if n.endswith(".kam"))
        except OSError:
            plans = []
        hint = did_you_mean(os.path.basename(path), plans)
        if hint is None:
            hint = ("plans there: " + ", ".join(plans[:8])) if plans else "check the path (a .kam file)"
        return Diagnostic("KR401", f"plan file {path} does not exist", hint=hint)
    if isinstance(err, NotRegular):
        return Diagnostic("KR401", f"plan file {err}", hint="give a .kam file, e.g. plans/plan.kam")
    if isinstance(err, IsADirectoryError):
        return Diagnostic("KR401", f"plan file {path} is a folder", hint="give a .kam file, e.g. plans/plan.kam")
    if isinstance(err, PermissionError):
        return Diagnostic("KR401", f"plan file {path} cannot be read (permission denied)",
                          hint="check the file's permissions")
    reason = err.strerror if getattr(err, "strerror", None) else str(err)
    return Diagnostic("KR401", f"cannot read plan file {path}: {reason}",
                      hint="check the path and that the file is UTF-8 text")


def plan_source(path: str) -> SourceFile | None:
    """The plan file as a SourceFile (for the lines under a diagnostic), or None if unreadable."""
    try:
        return SourceFile(path, read_plan_text(path))
    except KamError:
        return None


def parse_file(path: str) -> tuple[ast.Plan, SourceFile]:
    text = read_plan_text(path)
    return parse(text, path), SourceFile(path, text)
