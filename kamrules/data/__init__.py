"""Loading the plan's inputs into typed rows: the strict loader that words every data error (strict)
and Parquet reading (parquet).
"""
