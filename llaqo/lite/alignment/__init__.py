"""Alignment: the notated score (score), the performance aligned to it (align), the passes of a practice session
found by an alignment that may jump (passes), each judged on its own (pass_report), without a score the passes
and what each repeats (repeats), and what the alignment shows: wrong, missed and extra notes, and each bar's tempo
and level (score_report).
"""
