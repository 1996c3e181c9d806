"""Alignment: the score, the take aligned to it (align; heard: the audio's word on unmatched notes), a session's
passes each judged on its own (passes, pass_report; repeats without a score), and the errors (score_report).
"""
