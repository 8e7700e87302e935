"""Pygments lexer for `.kam` plans (registered as the `kamrules` lexer entry point, so
`pygmentize -l kamrules plan.kam` and `get_lexer_by_name("kamrules")` work once installed).

Token types: statement words Keyword.Declaration, expression words Operator.Word, built-in
functions Name.Builtin, `payee` / `period` before a `.` Name.Builtin.Pseudo, attributes
Name.Attribute, the names a statement defines Name.Variable / Name.Function / Name.Class,
types Keyword.Type, currency codes Name.Constant, numbers Number, percentages Number.Percent,
dates and periods Literal.Date, strings String.Double, comments Comment.Single. A character
the language does not have is an Error token. Leading and trailing newlines are kept (the
tokens add up to the text).
"""
from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, words
from pygments.style import Style
from pygments.token import (Comment, Error, Keyword, Literal, Name, Number, Operator, Punctuation,
                            String, Whitespace)

from kamrules.core.builtins import NAMES

STATEMENT_KEYWORDS = ("plan", "version", "currency", "period", "payees", "round", "components",
                      "fiscal", "year", "starts", "eligible", "input", "from", "key", "optional",
                      "unique", "references", "require", "every", "payment", "param", "let",
                      "component", "when", "hold", "to", "curve", "table", "hit", "marginal")
EXPR_KEYWORDS = ("where", "if", "then", "else", "and", "or", "not", "in", "for", "by", "any")
BUILTINS = NAMES  # the registry's built-ins (kamrules/core/builtins.py)

_NAME = r"[a-z_][a-z0-9_]*"
_NUM = r"\d+(?:_\d+)*(?:\.\d+)?"


class KamLexer(RegexLexer):
    name = "kamrules"
    aliases = ["kamrules", "kam"]
    filenames = ["*.kam"]
    mimetypes = ["text/x-kamrules"]
    url = "https://github.com/kamrules/kamrules"
    version_added = ""

    def __init__(self, **options):
        options.setdefault("stripnl", False)  # tokens add up to the text, blank lines included
        super().__init__(**options)

    tokens = {
        "root": [
            (r"\s+", Whitespace),
            (r"#[^\n]*", Comment.Single),
            (r'"(\\\\|\\"|\\n|[^"\\\n])*"', String.Double),
            (r"\d{4}-\d{2}-\d{2}(?!\w)", Literal.Date),
            (r"\d{4}-(Q[1-4]|\d{2})(?![\w-])", Literal.Date),
            (_NUM + r"%", Number.Percent),
            (rf"({_NUM})(\s+)([A-Z]{{3}})(?!\w)", bygroups(Number, Whitespace, Name.Constant)),
            (_NUM + r"(?![\w%])", Number),
            (rf"(\.)(\s*)({_NAME})", bygroups(Punctuation, Whitespace, Name.Attribute)),
            (words(("true", "false"), suffix=r"\b"), Keyword.Constant),
            (words(BUILTINS, suffix=r"(?=\s*\()"), Name.Builtin),
            (r"(payee|period)(?=\s*\.)", Name.Builtin.Pseudo),
            (r"payee\b", Name.Builtin.Pseudo),
            (rf"(let|param|component)(\s+)({_NAME})",
             bygroups(Keyword.Declaration, Whitespace, Name.Variable)),
            (rf"(curve|table)(\s+)({_NAME})(?=\s*\()",
             bygroups(Keyword.Declaration, Whitespace, Name.Function)),
            (rf"(input)(\s+)({_NAME})", bygroups(Keyword.Declaration, Whitespace, Name.Class)),
            (words(STATEMENT_KEYWORDS, suffix=r"\b"), Keyword.Declaration),
            (words(EXPR_KEYWORDS, suffix=r"\b"), Operator.Word),
            (r"[A-Z][a-z][A-Za-z]*", Keyword.Type),
            (r"[A-Z]{3}(?!\w)", Name.Constant),
            (_NAME, Name),
            (r"->|==|!=|<=|>=|[<>=+\-*/]", Operator),
            (r"[|(){}\[\],.:]", Punctuation),
            (r".", Error),
        ],
    }


class KamStyle(Style):
    """The colours of plan code in statements: fixed here for every token type the lexer emits,
    so a statement's HTML does not change with the Pygments release (its default style does)."""
    background_color = "#f8f8f8"
    styles = {
        Comment: "italic #3D7B7B",
        Keyword: "bold #008000",
        Operator: "#666666",
        Operator.Word: "bold #AA22FF",
        Punctuation: "#333333",
        Name: "#000000",
        Name.Builtin: "#008000",
        Number: "#666666",
        String: "#BA2121",
        Literal: "#666666",
        Error: "border:#FF0000",
    }
