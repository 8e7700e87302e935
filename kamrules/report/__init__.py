"""Views of payouts and traces: CSV/JSON/text tables, explanation statements."""
