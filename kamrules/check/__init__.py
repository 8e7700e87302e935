"""Static analysis of a parsed plan, before any data is read: names, types and calls (checker,
calls), decision tables (tables), period placement of rows (discovery), lints (lint); the result
is a CheckedPlan (plan).
"""
