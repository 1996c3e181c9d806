"""Evidence: what supports the answers, shown beside them: the tempo, dynamics and piano-roll figures (plots,
compare_plots), the marked score (notation, verovio), and clips of the cited passages (clips).
"""
