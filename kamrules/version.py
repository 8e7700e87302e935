"""The version of kamrules, printed by `--version` and written in run metadata and SARIF."""
__version__ = "0.1.0"
