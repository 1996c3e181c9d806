"""Answers: a question read (questions) and resolved to a part of the take (scope), answered in cited sentences
(sentences, advice, answers, grounding) from the Analysis; the overview lines (summary) and the cited passages.
"""
