"""Answers: a question read (questions) and resolved to a part of the take (scope), answered with a verdict, then in
sentences and advice that cite the Analysis and name their places (grounding), and the passages to play (passages).
"""
