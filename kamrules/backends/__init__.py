"""Engines that evaluate a checked plan: `interp` (the reference interpreter, payee by payee, with
its derivation tree) and `polars` (the columnar engine, every payee and period at once).
"""
