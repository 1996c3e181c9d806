"""The local practice history: each saved take's headline numbers in SQLite, grouped by piece.

Opt-in and local only: the database lives in the user's data folder (platformdirs; LLAQO_HISTORY overrides
the file), and holds measurements, a content hash and a coarse chroma fingerprint (two 12-value frames per
second, to recognise the piece), never the audio. Several app sessions may write at once: the database runs
in WAL mode with a busy timeout, and every call opens its own short connection.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from llaqo.lite.practice.headline import FIELDS, Headline

ENV_VAR = "LLAQO_HISTORY"
BUSY_TIMEOUT_S = 30.0  # a writer waits this long for another session's write to finish
FINGERPRINT_RATE = 2.0  # chroma frames per second kept to recognise a piece
SAME_PIECE_COST = 0.2  # mean DTW cost per step (cosine) below which two takes are surely the same music
OTHER_PIECE_COST = 0.3  # ... and above which they surely are not; in between, the user is asked
SCHEMA = """
CREATE TABLE IF NOT EXISTS pieces (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    score_hash TEXT UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS takes (
    id INTEGER PRIMARY KEY,
    piece_id INTEGER NOT NULL REFERENCES pieces(id) ON DELETE CASCADE,
    recorded_at TEXT NOT NULL,
    name TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    tempo_bpm REAL, accuracy_pct REAL, evenness_ms REAL, range_db REAL, pedal_pct REAL,
    top_problem TEXT,
    fingerprint BLOB,
    UNIQUE (piece_id, content_hash)
);
"""
COLUMNS = (*FIELDS, "top_problem")  # the takes table's headline columns, in Headline's order after its name
TAKE_KEYS = ("id", "piece", "recorded_at", "content_hash")  # an export's first columns; the headline's follow


class HistoryError(ValueError):
    """A history request that cannot be done as asked (an unknown piece, a take that matches none surely)."""


class UnsurePiece(HistoryError):
    """The take may or may not be a piece already in the history: ask the user, then save with piece_name."""

    def __init__(self, candidate: str, cost: float):
        self.candidate, self.cost = candidate, cost
        super().__init__(
            f"this take may be {candidate!r} (match cost {cost:.2f}): name the piece to save it "
            f"(the same name to add it to {candidate!r}, another for a new piece)"
        )


@dataclass(frozen=True)
class Piece:
    id: int
    name: str
    n_takes: int


@dataclass(frozen=True)
class Take:
    """A saved take: when, which piece, and its headline numbers (the same Headline the class view shows)."""

    id: int
    piece: str
    recorded_at: datetime
    content_hash: str
    headline: Headline

    def to_json(self) -> dict:
        """A flat record: the take's id, piece, date and content hash, then the headline's fields."""
        out = {key: getattr(self, key) for key in TAKE_KEYS}
        out["recorded_at"] = self.recorded_at.isoformat(timespec="seconds")
        return out | asdict(self.headline)


def default_path() -> Path:
    """$LLAQO_HISTORY, else history.sqlite3 in the user's data folder (e.g. ~/.local/share/llaqo)."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    import platformdirs

    return platformdirs.user_data_path("llaqo") / "history.sqlite3"


def fingerprint(wave: np.ndarray, sample_rate: int) -> np.ndarray:
    """(samples,) mono -> (12, F) float16 L2-normalised chroma at FINGERPRINT_RATE frames per second."""
    import librosa

    hop = int(sample_rate / FINGERPRINT_RATE)
    chroma = librosa.feature.chroma_stft(y=wave, sr=sample_rate, hop_length=hop, n_fft=4 * 1024)
    chroma = chroma + 1e-3
    return (chroma / np.linalg.norm(chroma, axis=0, keepdims=True)).astype(np.float16)


def match_cost(a: np.ndarray, b: np.ndarray) -> float:
    """Two (12, F) fingerprints -> mean cosine cost per step of the best alignment of the shorter inside the
    longer (a take may cover part of the piece): ~0.05 for the same music, 0.3 and more for other music."""
    import librosa

    short, long = (a, b) if a.shape[1] <= b.shape[1] else (b, a)
    cost, path = librosa.sequence.dtw(X=short.astype(float), Y=long.astype(float), metric="cosine", subseq=True)
    return float(cost[-1, path[0, 1]] / len(path))


class History:
    """The practice history in one SQLite file. Safe to use from several threads and processes."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as con:
            con.execute("PRAGMA journal_mode=WAL")  # readers never block the writer, nor it them
            con.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        con.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        con.execute("PRAGMA foreign_keys=ON")
        return con

    def save(
        self,
        headline: Headline,
        content_hash: str,
        chroma: np.ndarray,
        *,
        score_hash: str | None = None,
        score_name: str | None = None,
        piece_name: str | None = None,
        recorded_at: datetime | None = None,
    ) -> Take:
        """Save one take under its piece -> the saved Take.

        The piece: piece_name when given (created if new); else the piece with this score_hash; else the
        piece whose latest take matches the fingerprint surely (a new piece when none comes close). Raises
        UnsurePiece when the closest piece is neither surely the same nor surely another.
        Saving the same recording of the same piece again replaces its row.
        """
        when = (recorded_at or datetime.now(timezone.utc)).astimezone(timezone.utc)
        with closing(self._connect()) as con:
            con.execute("BEGIN IMMEDIATE")  # one writer at a time decides the piece and inserts
            try:
                piece_id = self._piece_for(con, chroma, score_hash, score_name or headline.name, piece_name, when)
                con.execute(
                    "INSERT OR REPLACE INTO takes (piece_id, recorded_at, name, content_hash, tempo_bpm, accuracy_pct,"
                    " evenness_ms, range_db, pedal_pct, top_problem, fingerprint) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        piece_id,
                        when.isoformat(),
                        headline.name,
                        content_hash,
                        *(getattr(headline, c) for c in COLUMNS),
                        chroma.astype(np.float16).tobytes(),
                    ),
                )
                take_id = con.execute("SELECT last_insert_rowid()").fetchone()[0]
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return next(t for t in self.takes() if t.id == take_id)

    def _piece_for(
        self,
        con: sqlite3.Connection,
        chroma: np.ndarray,
        score_hash: str | None,
        default_name: str,
        piece_name: str | None,
        when: datetime,
    ) -> int:
        if piece_name:
            row = con.execute("SELECT id FROM pieces WHERE lower(name) = lower(?)", (piece_name,)).fetchone()
            if row:
                return row[0]
            return self._new_piece(con, piece_name, score_hash, when)
        if score_hash:
            row = con.execute("SELECT id FROM pieces WHERE score_hash = ?", (score_hash,)).fetchone()
            if row:
                return row[0]
            return self._new_piece(con, default_name, score_hash, when)
        best = None
        rows = con.execute(
            "SELECT p.id, p.name, t.fingerprint FROM pieces p JOIN takes t ON t.piece_id = p.id "
            "WHERE t.id = (SELECT max(id) FROM takes WHERE piece_id = p.id)"
        ).fetchall()
        for piece_id, name, blob in rows:
            known = np.frombuffer(blob, dtype=np.float16).reshape(12, -1)
            cost = match_cost(chroma, known)
            if best is None or cost < best[0]:
                best = (cost, piece_id, name)
        if best is not None and best[0] < SAME_PIECE_COST:
            return best[1]
        if best is not None and best[0] < OTHER_PIECE_COST:
            raise UnsurePiece(best[2], best[0])
        return self._new_piece(con, default_name, None, when)

    @staticmethod
    def _new_piece(con: sqlite3.Connection, name: str, score_hash: str | None, when: datetime) -> int:
        cur = con.execute(
            "INSERT INTO pieces (name, score_hash, created_at) VALUES (?,?,?)", (name, score_hash, when.isoformat())
        )
        return cur.lastrowid

    def pieces(self) -> list[Piece]:
        with closing(self._connect()) as con:
            rows = con.execute(
                "SELECT p.id, p.name, count(t.id) FROM pieces p LEFT JOIN takes t ON t.piece_id = p.id "
                "GROUP BY p.id ORDER BY p.id"
            ).fetchall()
        return [Piece(*row) for row in rows]

    def piece_of(self, content_hash: str) -> str | None:
        """The piece a recording (by content hash) was saved under, or None."""
        with closing(self._connect()) as con:
            row = con.execute(
                "SELECT p.name FROM takes t JOIN pieces p ON p.id = t.piece_id WHERE t.content_hash = ? "
                "ORDER BY t.id DESC",
                (content_hash,),
            ).fetchone()
        return row[0] if row else None

    def takes(self, piece: str | None = None) -> list[Take]:
        """Saved takes, oldest first; of one piece (by name, case-insensitive) when given."""
        query = (
            "SELECT t.id, p.name, t.recorded_at, t.content_hash, t.name, "
            + ", ".join(f"t.{c}" for c in COLUMNS)
            + " FROM takes t JOIN pieces p ON p.id = t.piece_id"
        )
        args: tuple = ()
        if piece is not None:
            query += " WHERE lower(p.name) = lower(?)"
            args = (piece,)
        with closing(self._connect()) as con:
            rows = con.execute(query + " ORDER BY t.recorded_at, t.id", args).fetchall()
        return [Take(r[0], r[1], datetime.fromisoformat(r[2]), r[3], Headline(*r[4:])) for r in rows]

    def delete(self, piece: str | None = None, take_id: int | None = None) -> int:
        """Delete one take (take_id), one piece with its takes (piece), or everything (neither) -> rows deleted."""
        with closing(self._connect()) as con:
            if take_id is not None:
                return con.execute("DELETE FROM takes WHERE id = ?", (take_id,)).rowcount
            if piece is not None:
                n = con.execute(
                    "DELETE FROM takes WHERE piece_id IN (SELECT id FROM pieces WHERE lower(name) = lower(?))",
                    (piece,),
                ).rowcount
                gone = con.execute("DELETE FROM pieces WHERE lower(name) = lower(?)", (piece,)).rowcount
                if not gone:
                    raise HistoryError(f"no piece named {piece!r} in the history; `history list` shows the pieces")
                return n
            n = con.execute("DELETE FROM takes").rowcount
            con.execute("DELETE FROM pieces")
            return n

    def export(self, fmt: str, piece: str | None = None) -> str:
        """The takes as "csv" or "json" text."""
        rows = [t.to_json() for t in self.takes(piece)]
        if fmt == "json":
            return json.dumps(rows, indent=1)
        if fmt != "csv":
            raise HistoryError(f"unknown export format {fmt!r}: use csv or json")
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=[*TAKE_KEYS, *Headline.__dataclass_fields__])
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()
