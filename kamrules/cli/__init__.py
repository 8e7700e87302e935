"""Subcommands of `kamrules`: one module each, each with `register(subparsers)`.

To add a command: write `cli/<name>.py` with `register(sub)` that adds a parser and sets
`func`, then add its name and one-line help to `COMMANDS` (the order of `kamrules --help`).
`kamrules --help` lists the commands from this table alone, and `kamrules NAME ...` imports
only `cli/NAME.py` (cli/main.py): a command's heavy modules (polars, lark, pygments) are
loaded by the command that needs them, never at start-up. tests/test_cli_startup.py checks
that each module registers the help written here.
"""
COMMANDS = {
    "init": "start a new plan project from a template",
    "check": "check and lint plans before any data is read",
    "run": "compute payouts",
    "explain": "why a payee gets what they get: the derivation tree",
    "test": "run the example cases written beside plans (plans/tests/<plan>/<case>/)",
    "fmt": "rewrite plans in the canonical layout (comments kept)",
    "diff": "payout change per payee between two versions of a plan",
    "simulate": "several plans on several data scenarios, side by side",
    "statement": "a payee's payout statement: amounts, derivation, curves, effort",
    "team": "a manager's page: every payee's measures, components, totals, charts",
    "rule": "what a diagnostic code means, with an example and the fix",
    "lsp": "the language server for editors (LSP over stdio; needs the lsp extra)",
    "close": "record what a period pays in the ledger (then never paid again)",
    "ledger": "verify, show or reopen the payment ledger",
    "payroll": "what a closed period pays, per payee and earning code (CSV)",
    "serve": "a local read-only web portal: every payee's statement, the team page",
}


def examples(*commands: str) -> dict:
    """The keyword arguments of `add_parser` that end a command's --help with these examples
    (kept as written: RawDescriptionHelpFormatter). tests/test_readme.py parses every one."""
    import argparse

    return {"formatter_class": argparse.RawDescriptionHelpFormatter,
            "epilog": "examples:\n" + "".join(f"  {c}\n" for c in commands)}
