"""What the tool says to a person: spans in source files (source), diagnostics with codes, hints and
their renderings (diagnostic), and text made safe for terminals, Markdown, HTML and JSON (textsafe).
The bottom layer: imports nothing else from kamrules.
"""
