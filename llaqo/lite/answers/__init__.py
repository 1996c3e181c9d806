"""Answers: a question read (questions) and resolved to a part of the take (scope), answered first with a verdict,
then in cited sentences and advice (grounding) from the Analysis; a practice session's stops, restarts and passes
compared (session); the overview lines and the cited passages.
"""
