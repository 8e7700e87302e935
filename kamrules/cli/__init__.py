"""Subcommands of `kamrules`: one module each, each with `register(subparsers)`.

To add a command: write `cli/<name>.py` with `register(sub)` that adds a parser and
sets `func`, then add the module name to `COMMANDS` (the order of `kamrules --help`).
"""
COMMANDS = ["check", "run", "explain", "test", "fmt", "diff", "simulate", "statement", "team", "serve"]
