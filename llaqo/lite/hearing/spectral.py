"""Per-key energy envelopes: how loud each of the 88 piano pitches sounds over time.

A key's envelope is the power in narrow bands around its first three harmonics. It shows what
the transcription's note offsets cannot: when a damper stops a string (a fast fall, tens of dB
per second, at key release) as opposed to the slow natural decay of a held or pedalled note.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_FFT = 4096  # 186 ms at 22050 Hz: 5.4 Hz bins, enough to separate harmonics of bass notes
HOP = 256  # 11.6 ms between frames, the transcriber's frame rate
HARMONICS = (1, 2, 3)
BAND_SEMITONES = 0.3  # half-width of each harmonic's band
CHUNK_FRAMES = 2048  # STFT computed in chunks to bound memory on long recordings
LOWEST_PITCH = 21  # A0


@dataclass(frozen=True)
class Envelopes:
    """Band power in dB for MIDI pitches 21..108, frame_rate frames per second.

    db: (88, T) float32 over the first three harmonics: the most robust sign a string sounds;
    fundamental_db: (88, T) float32 over the fundamental alone: less masked by other notes' overtones.
    """

    db: np.ndarray
    fundamental_db: np.ndarray
    frame_rate: float

    def of(self, pitch: int, fundamental: bool = False) -> np.ndarray:
        rows = self.fundamental_db if fundamental else self.db
        return rows[int(np.clip(pitch - LOWEST_PITCH, 0, 87))]


def _band_matrix(sample_rate: int, harmonics: tuple[int, ...]):
    """(88, N_FFT // 2 + 1) sparse 0/1 weights selecting each pitch's bands at `harmonics`."""
    from scipy import sparse

    freqs = np.fft.rfftfreq(N_FFT, 1.0 / sample_rate)
    rows = np.zeros((88, len(freqs)), dtype=np.float32)
    for i in range(88):
        f0 = 440.0 * 2 ** ((i + LOWEST_PITCH - 69) / 12)
        for k in harmonics:
            lo, hi = k * f0 * 2 ** (-BAND_SEMITONES / 12), k * f0 * 2 ** (BAND_SEMITONES / 12)
            band = (freqs >= lo) & (freqs <= hi)
            if not band.any() and k * f0 < sample_rate / 2:
                band[np.argmin(np.abs(freqs - k * f0))] = True  # bass fundamentals narrower than a bin
            rows[i, band] = 1.0
    return sparse.csr_matrix(rows)


def pitch_envelopes(wave: np.ndarray, sample_rate: int) -> Envelopes:
    """(samples,) mono -> Envelopes with one frame per HOP samples (frame i centred at i * HOP)."""
    import librosa

    weights = _band_matrix(sample_rate, HARMONICS)
    fundamental_weights = _band_matrix(sample_rate, HARMONICS[:1])
    padded = np.pad(wave.astype(np.float32), N_FFT // 2)
    n_frames = 1 + len(wave) // HOP
    out = np.empty((88, n_frames), dtype=np.float32)
    fundamental = np.empty((88, n_frames), dtype=np.float32)
    for start in range(0, n_frames, CHUNK_FRAMES):
        stop = min(start + CHUNK_FRAMES, n_frames)
        segment = padded[start * HOP : (stop - 1) * HOP + N_FFT]
        power = np.abs(librosa.stft(segment, n_fft=N_FFT, hop_length=HOP, center=False)) ** 2
        out[:, start:stop] = (weights @ power)[:, : stop - start]
        fundamental[:, start:stop] = (fundamental_weights @ power)[:, : stop - start]
    return Envelopes(
        db=10 * np.log10(out + 1e-10), fundamental_db=10 * np.log10(fundamental + 1e-10), frame_rate=sample_rate / HOP
    )
