"""Loading the plan's inputs: the cell grammar both loaders follow (cells), the strict loader
that words every data error (strict), the fast polars loader the columnar engine reads
(fast), the `references` check (references) and Parquet reading (parquet).
"""
