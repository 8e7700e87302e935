"""Text to AST: the Lark LALR parser over `grammar/kamrules.lark`, builders to `ast`.

A valid plan goes through `_Driver`, an LALR loop over Lark's own tables and lexer regexes
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
from importlib import resources

import lark
from lark import Transformer, Token

from . import ast, limits
from .diagnostics import Diagnostic, KamError, did_you_mean
from .source import Span, SourceFile
from .sources import NotRegular, open_regular

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


def _b_plan_currency(s, c):
    return ast.Header("currency", (str(c[1]),), span=s)


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
    _, name, _, file, _, key, _, *cols, _ = c
    return ast.Input(str(name), file[1:-1] if file else None, str(key) if key else None,
                     tuple(cols), span=s)


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
    _, name, validity, _, when, _, expr = c
    lo, hi = validity if validity else (None, None)
    return ast.Component(str(name), lo, hi, when, expr, span=s)


def _b_validity(s, c):
    return (c[1], c[3])


def _b_decision_decl(s, c):
    kind, name, _, params, _, _, result, hit, _, *rows, _ = c
    return ast.Decision(str(kind), str(name), params, result, hit or "unique", tuple(rows),
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


def _b_string(s, c):
    unescape = {'"': '"', "\\": "\\", "n": "\n"}  # one escape at a time: "\\n" is \ + n
    return ast.String(re.sub(r'\\(["\\n])', lambda m: unescape[m.group(1)], c[0][1:-1]),
                      span=s)


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
    """The plan through `_Driver`, or None when it is not valid or the driver cannot take it."""
    driver = _driver()
    if driver is None:
        return None
    try:
        return driver.parse(text, path)
    except Exception:  # noqa: BLE001 - any surprise: the reference path decides, and words it
        return None


# ---------------------------------------------------------------- the fast LALR driver
# Lark's own loop builds a Tree per rule, walks every `?rule` reduction through three
# wrappers, computes positions on each tree and then transforms the whole tree again: most
# of a parse. `_Driver` runs the same LALR tables and the same contextual lexer regexes in
# one tight loop, calls the builders as rules are reduced, and computes each node's span the
# way `propagate_positions` does (first positioned child's start, last one's end, tokens and
# nodes of rules inlined into their parent included). Same tables and regexes: same language,
# same trees; anything else than a valid plan within the limits is left to `_reference_parse`.

class _Unsupported(Exception):
    """The grammar uses a Lark feature the driver does not reproduce: use Lark's loop."""


class _NotPlain(Exception):
    """The text is not a valid plan within the limits (the reference path says why)."""


def _child_filter(rule):
    """Lark's ChildFilter for `rule` (maybe_placeholders on): ((index, splice, nones_before),
    ...) and the Nones after, or (None, 0) when the children pass as they are."""
    expansion = rule.expansion
    empty = rule.options.empty_indices
    if empty:
        counts = [len(ones) for ones in "".join(str(int(b)) for b in empty).split("0")]
    else:
        counts = [0] * (len(expansion) + 1)
    include, nones = [], 0
    for i, sym in enumerate(expansion):
        nones += counts[i]
        if not rule.options.keep_all_tokens and sym.is_term and sym.filter_out:
            raise _Unsupported(f"filtered token in {rule}")
        include.append((i, not sym.is_term and sym.name.startswith("_"), nones))
        nones = 0
    nones += counts[len(expansion)]
    if not empty and not any(splice for _, splice, _ in include):
        return None, 0
    return tuple(include), nones


def _nullable(rules) -> set:
    """Names of the rules that can derive the empty text (their nodes may have no position)."""
    found: set = set()
    changed = True
    while changed:
        changed = False
        for rule in rules:
            name = rule.origin.name
            if name not in found and all(not s.is_term and s.name in found for s in rule.expansion):
                found.add(name)
                changed = True
    return found


class _Driver:
    """An LALR(1) loop over Lark's parse table and contextual lexer that builds the AST.

    Stacks: LALR states, values (tokens as str, AST nodes, lists of children of inlined
    `_rules`) and metas, (line, column, end_line, end_column, height) of each value, line None
    for a node without position, height the parse-tree height `limits.tree_too_deep` bounds."""

    def __init__(self, parser: lark.Lark):
        from lark.lexer import ContextualLexer, UnlessCallback
        from lark.parsers.lalr_analysis import Shift
        if parser.options.postlex is not None or parser.options.lexer_callbacks:
            raise _Unsupported("postlex or lexer callbacks")
        frontend = parser.parser
        table = frontend.parser.parser.parse_table
        self._lexer = frontend.lexer
        if not isinstance(self._lexer, ContextualLexer):
            raise _Unsupported("not the contextual lexer")
        self._unless = UnlessCallback
        self._skip = self._ignored_prefix(parser)
        self.start_state = table.start_states["start"]
        self.end_state = table.end_states["start"]
        self.actions: dict = {}   # state -> {terminal: new state (shift) or ~rule (reduce)}
        self.gotos: dict = {}     # state -> {rule name: new state}
        reduced: dict = {}        # lark Rule -> index
        for state, row in table.states.items():
            acts, gos = {}, {}
            for sym, (action, arg) in row.items():
                if action is Shift:
                    (acts if sym.isupper() else gos)[sym] = arg
                else:
                    acts[sym] = ~reduced.setdefault(arg, len(reduced))
            self.actions[state], self.gotos[state] = acts, gos
        nullable = _nullable(reduced)
        # rules[i] = (origin, reducer), reducer None for `?rule: child` (the child stands for it)
        self.rules: list = [None] * len(reduced)
        for rule, i in reduced.items():
            self.rules[i] = (rule.origin.name, self._reducer(rule, nullable))
        self._lexers: dict = {}   # state -> (skip+match, match, retype, ignore, newline types)
        self._by_basic: dict = {}
        self._chains: dict = {}   # (state below, top state, terminal) -> top after `?rule`s

    def _chain(self, below, top, kind: str):
        """The top state after every pass-through reduction `kind` calls for on (below, top):
        they only replace the top state, so the run depends on these three alone."""
        start = top
        while True:
            act = self.actions[top].get(kind)
            if act is None or act >= 0 or self.rules[~act][1] is not None:
                break
            top = self.gotos[below][self.rules[~act][0]]
        self._chains[(below, start, kind)] = top
        return top

    @staticmethod
    def _ignored_prefix(parser: lark.Lark) -> str:
        """A regex prefix that skips ignored text (blanks, comments) before a token.

        Equivalent to Lark's one-ignored-token-at-a-time loop only if no other terminal can
        start where an ignored one does: checked here on the first characters they match
        (Latin-1; the tests compare the driver with Lark on every plan of the repository)."""
        import re as re_
        terms = {t.name: t.pattern.to_regexp() for t in parser.terminals}
        ignored = [terms[name] for name in parser.lexer_conf.ignore]
        starts = [ch for ch in map(chr, range(0x100))  # Latin-1: blanks and `#` here
                  if any(re_.match(rx, ch) for rx in ignored)]
        for name, rx in terms.items():
            if name in parser.lexer_conf.ignore:
                continue
            for ch in starts:
                for rest in ("", "a", "A", "1", " ", "\n", '"', "#", "-", ch * 3):
                    if re_.match(rx, ch + rest):
                        raise _Unsupported(f"{name} can start with the ignored {ch!r}")
        return "(?:" + "|".join(ignored) + ")*" if ignored else ""

    def _reducer(self, rule, nullable: set):
        """The function that reduces `rule` on the stacks (Lark's child filter, `?rule`
        inlining, propagate_positions and tree height, in one step), or None for a pass-through."""
        origin = rule.origin.name
        size = len(rule.expansion)
        include, nones = _child_filter(rule)
        name = rule.alias or rule.options.template_source or origin
        if rule.options.expand1 and not rule.alias:
            if include is None and size == 1:
                return None
            count = size if include is None else len(include) + sum(n for *_, n in include) + nones
            if include is not None and any(splice for _, splice, _ in include) or count == 1:
                raise _Unsupported(f"`?` rule that may keep a single child: {rule}")
        splice = origin.startswith("_")
        build = None if splice else BUILDERS.get(name)
        if build is None and not splice:
            raise _Unsupported(f"no builder for {name}")
        gotos = self.gotos
        rules_below = [i for i, s in enumerate(rule.expansion) if not s.is_term]
        if size == 1 and include is None and rule.expansion[0].is_term:
            def leaf(path, states, values, metas):  # a node of one token: number, name, ...
                m = metas[-1]
                values[-1] = build(Span(path, m[0], m[1], m[2], m[3]), [values[-1]])
                metas[-1] = (m[0], m[1], m[2], m[3], 0)
                states[-1] = gotos[states[-2]][origin]
            return leaf
        if size and not any(s.name in nullable for s in rule.expansion if not s.is_term):
            def node(path, states, values, metas):  # first and last child have positions
                kids, kid_metas = values[-size:], metas[-size:]
                del values[-size:], metas[-size:], states[-size:]
                first, last = kid_metas[0], kid_metas[-1]
                height = max([kid_metas[i][4] for i in rules_below], default=-1)
                if include is not None:
                    kids = _filtered(kids, include, nones)
                if splice:
                    values.append(kids)
                    metas.append((first[0], first[1], last[2], last[3], height))
                else:
                    values.append(build(Span(path, first[0], first[1], last[2], last[3]), kids))
                    metas.append((first[0], first[1], last[2], last[3], height + 1))
                states.append(gotos[states[-1]][origin])
            return node

        def general(path, states, values, metas):
            if size:
                kids, kid_metas = values[-size:], metas[-size:]
                del values[-size:], metas[-size:], states[-size:]
            else:
                kids, kid_metas = [], []
            placed = [m for m in kid_metas if m[0] is not None]
            height = max([m[4] for m in kid_metas], default=-1)
            if include is not None:
                kids = _filtered(kids, include, nones)
            if placed:
                where = (placed[0][0], placed[0][1], placed[-1][2], placed[-1][3])
            else:
                where = (None, None, None, None)
            if splice:
                values.append(kids)
            else:
                height += 1
                values.append(build(Span(path, *where) if placed else Span(path, 0, 0, 0, 0), kids))
            metas.append(where + (height,))
            states.append(gotos[states[-1]][origin])
        return general

    def _lexer_for(self, state) -> tuple:
        basic = self._lexer.lexers[state]
        info = self._by_basic.get(id(basic))
        if info is None:
            scanner = basic.scanner
            if len(scanner._mres) != 1:
                raise _Unsupported("more than one regex per lexer state")
            retype = {}
            for type_, callback in basic.callback.items():
                if not isinstance(callback, self._unless):
                    raise _Unsupported(f"lexer callback on {type_}")
                words: dict = {}
                for term in callback.scanner.terminals:
                    if term.pattern.type != "str" or term.pattern.flags:
                        raise _Unsupported(f"keyword {term.name} is not a plain string")
                    words.setdefault(term.pattern.value, term.name)
                retype[type_] = words
            plain = scanner._mres[0]
            skipping = re.compile(self._skip + "(?:" + plain.pattern + ")", plain.flags)
            info = (skipping.match, plain.match, retype, basic.ignore_types, basic.newline_types)
            self._by_basic[id(basic)] = info
        self._lexers[state] = info
        return info

    def parse(self, text: str, path: str) -> ast.Plan:
        actions, gotos, rules, lexers = self.actions, self.gotos, self.rules, self._lexers
        chains = self._chains
        states, values, metas = [self.start_state], [], []
        pos, line, line_start, end_of_text = 0, 1, 0, len(text)
        while pos < end_of_text:
            skip_match, match, retype, ignore, newline_types = \
                lexers.get(states[-1]) or self._lexer_for(states[-1])
            m = skip_match(text, pos)  # blanks and comments, then a token
            if m is not None and m.lastgroup not in ignore:
                kind = m.lastgroup
                start = m.start(kind)
                if start > pos:
                    newlines = text.count("\n", pos, start)
                    if newlines:
                        line += newlines
                        line_start = text.rfind("\n", pos, start) + 1
                value = m.group(kind)
            else:  # blanks at the end, or no token: one step of Lark's loop
                m = match(text, pos)
                if m is None:
                    raise _NotPlain("unexpected character")
                kind, value, start = m.lastgroup, m.group(), pos
            end = m.end()
            first_line, column = line, start - line_start + 1
            if kind in newline_types:
                newlines = value.count("\n")
                if newlines:
                    line += newlines
                    line_start = start + value.rindex("\n") + 1
            pos = end
            if kind in ignore:
                continue
            if kind in retype:
                kind = retype[kind].get(value, kind)
            meta = (first_line, column, line, end - line_start + 1, -1)
            while True:  # reduce as long as the table says, then shift the token
                act = actions[states[-1]].get(kind)
                if act is None:
                    raise _NotPlain("unexpected token")
                if act >= 0:
                    states.append(act)
                    values.append(value)
                    metas.append(meta)
                    break
                origin, reducer = rules[~act]
                if reducer is not None:
                    reducer(path, states, values, metas)
                else:  # a run of `?rule: child` reductions, replayed from memory
                    below, top = states[-2], states[-1]
                    states[-1] = chains.get((below, top, kind)) or self._chain(below, top, kind)
        while True:
            act = actions[states[-1]].get("$END")
            if act is None or act >= 0:
                raise _NotPlain("unexpected end of file")
            origin, reducer = rules[~act]
            if reducer is None:
                states[-1] = gotos[states[-2]][origin]
            else:
                reducer(path, states, values, metas)
            if states[-1] == self.end_state:
                break
        if metas[-1][4] > limits.MAX_NESTING * 3:  # what limits.tree_too_deep refuses
            raise _NotPlain("nested too deep")
        return values[-1]


def _filtered(kids: list, include: tuple, nones: int) -> list:
    """Lark's ChildFilter: children of inlined `_rules` spliced in, None for absent `[...]`."""
    children = []
    for i, splice, before in include:
        if before:
            children.extend([None] * before)
        if splice:
            children.extend(kids[i])
        else:
            children.append(kids[i])
    if nones:
        children.extend([None] * nones)
    return children


@functools.lru_cache(maxsize=1)
def _driver() -> _Driver | None:
    try:
        return _Driver(_lark())
    except _Unsupported:
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
    except (OSError, UnicodeDecodeError) as err:
        raise KamError([_unreadable_plan(path, err)]) from None
    return text if keep_bom else text.removeprefix(BOM)


def _unreadable_plan(path: str, err: Exception) -> Diagnostic:
    """KR401 in words (never `[Errno 2]`): missing (with the .kam files beside it), a folder,
    not a regular file, not readable, not UTF-8."""
    if isinstance(err, UnicodeDecodeError):
        return Diagnostic("KR401", f"plan file {path} is not UTF-8 text (byte {err.start} cannot be read)",
                          hint="save the plan as UTF-8")
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
