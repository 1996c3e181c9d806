"""Alignment: the notated score (score), the performance aligned to it (align), the audio's word on notes the
transcription lacks (heard), and what it shows: wrong, missed and extra notes, bars' tempo and level (score_report).
"""
