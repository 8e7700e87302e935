"""The language server of `.kam` plans (`kamrules lsp`): analysis.py answers the editor's
questions from the parser and the checker alone (no pygls there), server.py speaks LSP over
stdio on pygls with lsprotocol's types. pygls is the optional `lsp` extra.
"""
