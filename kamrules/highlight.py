"""Pygments lexer for `.kam` plans (registered as the `kamrules` lexer entry point)."""
from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Text

STATEMENT_KEYWORDS = ("plan", "version", "currency", "period", "payees", "round", "components",
                      "fiscal", "year", "starts", "eligible", "input", "from", "key", "optional",
                      "unique", "param", "let", "component", "when", "to", "curve", "table", "hit")
EXPR_KEYWORDS = ("where", "if", "then", "else", "and", "or", "not", "in", "for", "any")
BUILTINS = ("sum", "count", "min", "max", "avg", "one", "exists", "round", "money", "abs",
            "default", "between", "present", "assignee", "share", "paid", "days", "payee")


class KamLexer(RegexLexer):
    name = "kamrules"
    aliases = ["kamrules", "kam"]
    filenames = ["*.kam"]
    mimetypes = ["text/x-kamrules"]

    tokens = {
        "root": [
            (r"\s+", Text),
            (r"#.*$", Comment.Single),
            (r'"(\\\\|\\"|[^"\\\n])*"', String.Double),
            (r"\d{4}-\d{2}-\d{2}\b", Number.Other),
            (r"\d{4}-(Q[1-4]|\d{2})\b", Number.Other),
            (r"\d+(_\d+)*(\.\d+)?%", Number.Float),
            (r"(\d+(?:_\d+)*(?:\.\d+)?)(\s+)([A-Z]{3})\b", bygroups(Number, Text, Keyword.Type)),
            (r"\d+(_\d+)*(\.\d+)?", Number),
            (words(("true", "false"), suffix=r"\b"), Keyword.Constant),
            (words(STATEMENT_KEYWORDS, suffix=r"\b"), Keyword.Declaration),
            (words(EXPR_KEYWORDS, suffix=r"\b"), Operator.Word),
            (words(BUILTINS, suffix=r"(?=\s*\()"), Name.Builtin),
            (r"[A-Z][a-z][A-Za-z]*", Keyword.Type),
            (r"[A-Z]{3}\b", Keyword.Type),
            (r"[a-z_][a-z0-9_]*", Name),
            (r"->|==|!=|<=|>=|[<>=+\-*/]", Operator),
            (r"[|(){}\[\],.:]", Punctuation),
            (r".", Text),
        ],
    }
