"""Derivation trees: a payout and the tree of values that produced it, from the data row up (tree).
"""
