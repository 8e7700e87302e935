"""`kamrules lsp`: the language server of `.kam` plans over stdio, for editors (the VS Code
extension of editors/vscode/ starts it). Needs the `lsp` extra (pygls); without it, says so
and exits 2. Diagnostics follow the `[tool.kamrules]` select/ignore of each plan's
pyproject.toml, as `check` does.
"""
from __future__ import annotations

import sys


def cmd_lsp(args) -> int:
    try:
        from kamrules.lsp.server import build_server
    except ImportError as err:
        print(f"kamrules lsp: the language server needs pygls ({err.name} is not installed): "
              "pip install 'kamrules[lsp]'", file=sys.stderr)
        return 2
    from kamrules.cli.config import load_config
    from kamrules.diagnostics.diagnostic import KamError

    def config_for(path):
        try:
            config = load_config(path)
        except KamError:
            return None, ()
        return config.select, config.ignore

    build_server(config_for).start_io()
    return 0


def register(sub):
    from kamrules.cli import examples
    s = sub.add_parser("lsp", help="the language server for editors (LSP over stdio; needs the lsp extra)", **examples(
        "kamrules lsp", "kamrules lsp --stdio"))
    s.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default, for editors)")
    s.set_defaults(func=cmd_lsp)
