"""The language's foundations shared by every stage and backend: exact decimal arithmetic and rounding
(numeric), value types (types), periods and calendars (calendar), documented limits (limits) and
the registry of built-in functions (builtins).
"""
