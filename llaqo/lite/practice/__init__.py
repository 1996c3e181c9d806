"""Practice: beyond one take: a take against a reference (compare, compare_answers), the local history of takes
(history, headline) and the progress it shows (progress), and many takes of one piece side by side (classview).
"""
