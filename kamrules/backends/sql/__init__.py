"""The SQL backend: the lowered plan (core.ir) as SQL, run on DuckDB (`--engine duckdb`)."""
