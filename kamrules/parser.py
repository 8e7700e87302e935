"""Text to AST: the Lark LALR parser over `grammar/kamrules.lark` and a Transformer to `ast`.

Syntax errors become `Diagnostic`s (KR001) with the token found, the words expected (terminal
names mapped to plan words) and a hint for the common slips.
"""
from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation
from importlib import resources

import lark
from lark import Transformer, v_args, Token

from . import ast, limits
from .diagnostics import Diagnostic, KamError
from .source import Span, SourceFile

WORDS = {
    "PLAN": "`plan`", "VERSION": "`version`", "CURRENCY_KW": "`currency`", "PERIOD_KW": "`period`",
    "PAYEES": "`payees`", "ROUND": "`round`", "COMPONENTS": "`components`", "FISCAL": "`fiscal`",
    "YEAR": "`year`", "STARTS": "`starts`", "ELIGIBLE": "`eligible`", "INPUT": "`input`",
    "FROM": "`from`", "KEY": "`key`", "OPTIONAL": "`optional`", "UNIQUE": "`unique`", "REFERENCES": "`references`", "REQUIRE": "`require`",
    "EVERY": "`every`", "PAYMENT": "`payment`",
    "PARAM": "`param`", "LET": "`let`", "COMPONENT": "`component`", "WHEN": "`when`", "TO": "`to`",
    "DECISION_KW": "`curve` or `table`", "HIT": "`hit`", "ANY": "`any`", "WHERE": "`where`",
    "IF": "`if`", "THEN": "`then`", "ELSE": "`else`", "OR": "`or`", "AND": "`and`", "NOT": "`not`",
    "IN": "`in`", "FOR": "`for`", "TRUE": "`true`", "FALSE": "`false`", "ARROW": "`->`",
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
def grammar_text() -> str:
    return resources.files("kamrules").joinpath("grammar/kamrules.lark").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def _lark() -> lark.Lark:
    # cache=True keeps the built LALR tables in the temp folder (keyed by grammar and lark
    # version): every later start of kamrules skips the table construction.
    return lark.Lark(grammar_text(), parser="lalr", lexer="contextual",
                     propagate_positions=True, maybe_placeholders=True, cache=True)


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


@v_args(meta=True)
class _ToAst(Transformer):
    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def _s(self, meta):
        return _span_meta(self.path, meta)

    # statements
    def start(self, meta, items):
        return ast.Plan(tuple(items), path=self.path)

    def plan_name(self, meta, c):
        return ast.Header("plan", (c[1][1:-1],), span=self._s(meta))

    def plan_version(self, meta, c):
        return ast.Header("version", (c[1][1:-1],), span=self._s(meta))

    def plan_currency(self, meta, c):
        return ast.Header("currency", (str(c[1]),), span=self._s(meta))

    def plan_period(self, meta, c):
        return ast.Header("period", (str(c[1]),), span=self._s(meta))

    def plan_payees(self, meta, c):
        return ast.Header("payees", (str(c[1]),), span=self._s(meta))

    def plan_rounding(self, meta, c):
        return ast.Header("round", (str(c[3]), str(c[4])), span=self._s(meta))

    def plan_fiscal(self, meta, c):
        return ast.Header("fiscal", (str(c[3]),), span=self._s(meta))

    def eligible(self, meta, c):
        return ast.Eligible(c[2], span=self._s(meta))

    def input_decl(self, meta, c):
        _, name, _, file, _, key, _, *cols, _ = c
        return ast.Input(str(name), file[1:-1] if file else None, str(key) if key else None,
                         tuple(cols), span=self._s(meta))

    def column(self, meta, c):
        name, _, optional, type_ref, unique, _, references = c
        return ast.Column(str(name), type_ref, optional is not None, unique is not None,
                          str(references) if references else None, span=self._s(meta))

    def plan_payment(self, meta, c):
        return ast.Header("payment", (str(c[1]),), span=self._s(meta))

    def require_decl(self, meta, c):
        _, _, table, _, cond, _, message = c
        return ast.Require(str(table), cond, message[1:-1] if message else None, span=self._s(meta))

    def type_ref(self, meta, c):
        return ast.TypeRef(str(c[0]), str(c[2]) if c[2] else None, span=self._s(meta))

    def param_decl(self, meta, c):
        return ast.Param(str(c[1]), c[3], c[5], span=self._s(meta))

    def let_decl(self, meta, c):
        return ast.Let(str(c[1]), c[3], c[5], span=self._s(meta))

    def component_decl(self, meta, c):
        _, name, validity, _, when, _, expr = c
        lo, hi = validity if validity else (None, None)
        return ast.Component(str(name), lo, hi, when, expr, span=self._s(meta))

    def validity(self, meta, c):
        return (c[1], c[3])

    def decision_decl(self, meta, c):
        kind, name, _, params, _, _, result, hit, _, *rows, _ = c
        return ast.Decision(str(kind), str(name), params, result, hit or "unique", tuple(rows),
                            span=self._s(meta))

    def param_list(self, meta, c):
        return tuple(x for x in c if not isinstance(x, Token))

    def typed_param(self, meta, c):
        return (str(c[0]), c[2])

    def hit_policy(self, meta, c):
        return str(c[1])

    def row(self, meta, c):
        cells = [x for x in c if not (isinstance(x, Token) and x.type == "BAR")]
        conds = tuple(x if isinstance(x, ast.Cell) else ast.Cell("eq", lo=x, span=x.span)
                      for x in cells[:-1])
        return ast.DecisionRow(conds, cells[-1], span=self._s(meta))

    def cell_compare(self, meta, c):
        return ast.Cell("cmp", op=str(c[0]), lo=c[1], span=self._s(meta))

    def cell_range(self, meta, c):
        return ast.Cell("range", op=str(c[2]), lo=c[0], hi=c[3], span=self._s(meta))

    def cell_any(self, meta, c):
        return ast.Cell("any", span=self._s(meta))

    # expressions
    def where(self, meta, c):
        return ast.Where(c[0], c[2], span=self._s(meta))

    def if_else(self, meta, c):
        return ast.IfElse(c[1], c[3], c[5], span=self._s(meta))

    def binop(self, meta, c):
        return ast.BinOp(str(c[1]), c[0], c[2], span=self._s(meta))

    def not_in(self, meta, c):
        return ast.BinOp("not in", c[0], c[3], span=self._s(meta))

    def not_(self, meta, c):
        return ast.Not(c[1], span=self._s(meta))

    def neg(self, meta, c):
        if str(c[0]) == "+":
            return c[1]
        return ast.Neg(c[1], span=self._s(meta))

    def attr(self, meta, c):
        return ast.Attr(c[0], str(c[2]), span=self._s(meta))

    def index(self, meta, c):
        return ast.Index(c[0], c[2], span=self._s(meta))

    def call(self, meta, c):
        args = c[2] if c[2] is not None else ()
        return ast.Call(str(c[0]), tuple(args), span=self._s(meta))

    def args(self, meta, c):
        return tuple(x for x in c if not isinstance(x, Token))

    def each(self, meta, c):
        return ast.Each(c[0], c[2], span=self._s(meta))

    def number(self, meta, c):
        return ast.Number(_number(c[0]), str(c[0]), span=self._s(meta))

    def percent(self, meta, c):
        text = str(c[0])
        return ast.Number(_number(text[:-1]).scaleb(-2), text, percent=True, span=self._s(meta))

    def money(self, meta, c):
        return ast.MoneyLit(_number(c[0]), str(c[0]), str(c[1]), span=self._s(meta))

    def date(self, meta, c):
        return ast.DateLit(str(c[0]), span=self._s(meta))

    def period_lit(self, meta, c):
        return ast.PeriodLit(str(c[0]), span=self._s(meta))

    def string(self, meta, c):
        unescape = {'"': '"', "\\": "\\", "n": "\n"}  # one escape at a time: "\\n" is \ + n
        return ast.String(re.sub(r'\\(["\\n])', lambda m: unescape[m.group(1)], c[0][1:-1]),
                          span=self._s(meta))

    def true(self, meta, c):
        return ast.Bool(True, span=self._s(meta))

    def false(self, meta, c):
        return ast.Bool(False, span=self._s(meta))

    def name(self, meta, c):
        return ast.Name(str(c[0]), span=self._s(meta))

    def atom(self, meta, c):  # ( expr )
        return ast.Paren(c[1], span=self._s(meta))

    def list_(self, meta, c):
        return ast.ListLit(tuple(x for x in c if x is not None and not isinstance(x, Token)),
                           span=self._s(meta))


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
    elif "EQ" in expected and tok.type != "EQ":
        hint = "a definition is written `name = value`"
    elif tok.type == "NAME" and "RPAR" in expected:
        hint = "arguments are separated by commas"
    elif tok.type == "CURRENCY" or (tok.type == "TYPE" and "CURRENCY" in expected):
        hint = "money is written `1000 EUR`, with the amount first"
    return Diagnostic("KR001", f"unexpected {found}; expected {_expected_words(expected)}", span, hint)


def parse(text: str, path: str = "<plan>") -> ast.Plan:
    """Parse plan text; raise KamError with one KR001 diagnostic on a syntax error."""
    src = SourceFile(path, text)
    comments: list[tuple[int, str]] = []
    too_big = limits.plan_text_problem(text, path)
    if too_big is not None:
        raise KamError([too_big])
    try:
        tree = _lark().parse(text)
    except lark.exceptions.UnexpectedInput as err:
        raise KamError([_syntax_error(src, err)]) from None
    deep = limits.tree_too_deep(tree)
    if deep is not None:
        raise KamError([limits.nesting_problem(path, *deep)])
    try:
        plan = _ToAst(path).transform(tree)
    except RecursionError:
        raise KamError([limits.nesting_problem(path, 1, 1)]) from None
    except lark.exceptions.VisitError as err:
        if isinstance(err.orig_exc, (InvalidOperation, ValueError)):
            raise KamError([Diagnostic("KR002", f"invalid literal: {err.orig_exc}",
                                       _span_meta(path, err.obj.meta))]) from None
        raise
    for lineno, line in enumerate(text.split("\n"), 1):
        idx = _comment_start(line)
        if idx is not None:
            comments.append((lineno, line[idx:].rstrip()))
    return ast.Plan(plan.statements, tuple(comments), path)


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


def parse_file(path: str) -> tuple[ast.Plan, SourceFile]:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as err:
        raise KamError([Diagnostic("KR401", f"cannot read plan file {path}: {err}",
                                   hint="check the path and that the file is UTF-8 text")]) from None
    return parse(text, path), SourceFile(path, text)
