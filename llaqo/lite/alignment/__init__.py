"""Alignment: the notated score (score), the performance aligned to it with its passes and jumps (align), and what
the alignment shows: wrong, missed and extra notes, and each bar's tempo and level (score_report).
"""
