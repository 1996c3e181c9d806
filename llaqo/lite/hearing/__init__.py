"""Hearing: what a recording holds, before any judgement: the notes and pedal presses (transcribe), the
pitch envelopes (spectral), the beat and tempo (tempo), the metre and downbeats (metre, downbeat), the hands (voices).
"""
