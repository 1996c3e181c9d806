"""The Lite coach: measurements of a piano recording (and its score) that answers cite; no checkpoints, CPU only.

hearing -> measures -> alignment -> analysis (the typed result and its JSON) -> answers -> practice, evidence;
coach.py the Coach protocol over them, cli.py `python -m llaqo analyze`. Imports run in that order only.
"""
