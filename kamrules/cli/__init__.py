"""Subcommands of `kamrules`: one module each, each with `register(subparsers)`.

To add a command: write `cli/<name>.py` with `register(sub)` that adds a parser and
sets `func`, then add the module name to `COMMANDS` (the order of `kamrules --help`).
"""
COMMANDS = ["init", "check", "run", "explain", "test", "fmt", "diff", "simulate", "statement", "team"]


def examples(*commands: str) -> dict:
    """The keyword arguments of `add_parser` that end a command's --help with these examples
    (kept as written: RawDescriptionHelpFormatter). tests/test_readme.py parses every one."""
    import argparse

    return {"formatter_class": argparse.RawDescriptionHelpFormatter,
            "epilog": "examples:\n" + "".join(f"  {c}\n" for c in commands)}
