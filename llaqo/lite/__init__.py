"""The Lite coach: measurements of a piano recording (and its score) that answers cite; no checkpoints, CPU only.

transcribe -> notes; tempo, dynamics, articulation, pedal -> measurements; score -> alignment and errors;
analysis -> the typed result and its JSON; answers / coach -> grounded answers; plots -> the evidence figures.
"""
