"""Measures: the performance judged over a time grid of bars or beats: dynamics, articulation, pedalling, balance,
chords and runs, each a typed result with its label and the numbers the answers cite; bars holds the grid.
"""
