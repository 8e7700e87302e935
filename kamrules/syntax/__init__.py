"""Plan text to AST and back: the AST (ast), the Lark parser and its builders (parser), the
formatter (fmt) and the Pygments lexer (highlight).
"""
