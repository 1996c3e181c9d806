"""Alignment: the score (score), the performance aligned to it (align), a practice session's passes, each judged on its
own (passes, pass_report; without a score: repeats), and wrong, missed and extra notes, bar by bar (score_report).
"""
