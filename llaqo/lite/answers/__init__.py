"""Answers: a question read (questions) and resolved to a part of the take (scope), answered with a verdict, then in
cited sentences and advice (grounding) from the Analysis; a session's passes (session); overview lines, passages.
"""
