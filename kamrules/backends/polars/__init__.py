"""The columnar engine: a checked plan evaluated for every payee and period at once on polars
frames (load, compile, run), with the interpreter as the reference it must agree with."""
