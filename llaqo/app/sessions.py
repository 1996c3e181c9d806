"""Per-tab session storage: the folder holding a tab's recordings, and when it is deleted.

A tab's recordings live only in its Session's temporary folder. The folder is deleted when the tab
closes (Gradio's unload event, fired when the page's heartbeat connection drops), when the user presses
Clear, or when the session has been idle for IDLE_S. PRIVACY says so to the user, in these terms.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from llaqo import report
from llaqo.protocol import Clip, Evidence, Turn

MAX_UPLOAD_MB = 50
MB = 1 << 20
CACHE_S = 600  # Gradio's copies of files it still holds (attached but never sent, API uploads, exported reports)
IDLE_S = 3 * 3600  # a session nobody closed (an API client) ends this long after its last question
PRIVACY = (
    "Your recordings and scores are kept only for this page: they are deleted from the server as soon as you close "
    "it (or press Clear), and after 3 hours without a question. A file attached but never sent, and the exported "
    f"report, are deleted within {2 * CACHE_S // 60} minutes. Nothing about a recording is logged."
)


def oversized(paths: list[str], max_upload_mb: float) -> str | None:
    """The message refusing the first file that is gone or over the upload limit (which is deleted), or None."""
    for path in paths:
        if not Path(path).is_file():
            return f"{Path(path).name} is no longer on the server (its upload was interrupted): please attach it again."
        size = Path(path).stat().st_size
        if size > max_upload_mb * MB:
            Path(path).unlink()
            return f"{Path(path).name} is {size / MB:.0f} MB; uploads are limited to {max_upload_mb:g} MB."
    return None


@dataclass
class Session:
    """One browser session's recordings, conversation and report."""

    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="llaqo-session-")))
    clip: Clip | None = None
    evidence: Evidence | None = None
    audio: Path | None = None
    """The current recording's file, in the session's folder."""
    recording: str | None = None
    """The current recording's content hash: its key in the report."""
    turns: list[Turn] = field(default_factory=list)
    report: report.SessionReport = field(default_factory=report.SessionReport)
    reference: Clip | None = None
    """The recording marked as the reference; comparison questions are answered against it."""
    save_history: bool = False
    """Opted in to saving each analysed take to the local practice history."""
    class_score: Path | None = None
    """The class view's score, for opening one of its takes in the chat."""
    shown_pass: str | None = None
    """The pass the marked score shows, by its name in the evidence's score_passes (None: the latest)."""
    kept: dict[str, Path] = field(default_factory=dict)
    """Each upload moved into the folder, by the path it arrived at: a message sent again after Stop still
    names the upload's first path, which the move emptied."""
    closed: bool = False

    def keep(self, upload: str) -> Path:
        """Move an upload into the session's folder, which is deleted with the session. Each upload gets its
        own subfolder, so a second take under the same name (every microphone take is `audio.wav`) does
        not overwrite the first, and the coach still sees the name the user gave."""
        path = Path(tempfile.mkdtemp(dir=self.folder)) / Path(upload).name
        shutil.move(upload, path)
        self.kept[upload] = path
        return path

    def arrived(self, upload: str) -> str:
        """Where an upload's file is now: its own path, or its copy in the folder if it was kept already."""
        kept = self.kept.get(upload)
        return str(kept) if not Path(upload).exists() and kept is not None and kept.exists() else upload

    @property
    def name(self) -> str:
        """The current recording's distinct name in this session, e.g. "audio.wav (take 2)"."""
        return self.report.recordings[self.recording].name

    @property
    def recording_stem(self) -> str:
        """The current recording's file-name stem for its clips, distinct between takes ("audio-take-2")."""
        return self.report.recordings[self.recording].stem

    def close(self) -> None:
        self.closed = True
        shutil.rmtree(self.folder, ignore_errors=True)


class Sessions:
    """The open tabs' sessions by Gradio session hash, so that closing a tab can end its session, and each tab's
    Stop button."""

    def __init__(self):
        self._by_hash: dict[str, Session] = {}
        self._stops: dict[str, threading.Event] = {}

    def open(self, session: Session | None, request: gr.Request | None) -> Session:
        """The tab's session (a new one at its first message), remembered so that closing the tab ends it.

        A message stopped before its first update never returned its session to the page, so the page sends
        the next one with none: the tab's open session is taken again, never replaced by a new one while it
        still holds the stopped message's upload. A session the page does not hold any more is closed."""
        key = request.session_hash if request is not None else None
        known = self._by_hash.get(key) if key else None
        if session is None and known is not None and not known.closed:
            return known
        session = session if session is not None and not session.closed else Session()
        if key:
            if known is not None and known is not session:
                known.close()
            self._by_hash[key] = session
        return session

    def until_stopped(self, request: gr.Request | None, updates: Iterator[tuple]) -> Iterator[tuple]:
        """updates, until the tab's Stop (`stop`): they are then closed at their next update, which stops their
        work as a closed tab does (an analysis at its next transcription segment, an answer at its next step);
        the handlers yield at least every HEARTBEAT_S. The page sees the answer end as any other does.

        Why not Gradio's own cancel (an event's `cancels`): the page's event stream can close before the cancelled
        event's end is handled, and the chat's status then shows "Error" until the next message (seen under
        load, about one Stop in four). A Stop pressed while the message still waits behind other tabs' answers
        is not kept: that message runs, and Stop ends it once it shows its progress."""
        if request is None:
            yield from updates
            return
        stop = self._stops.setdefault(request.session_hash, threading.Event())
        stop.clear()
        with contextlib.closing(updates):
            for update in updates:
                if stop.is_set():
                    return
                yield update

    def stop(self, request: gr.Request) -> None:
        """The Stop button: the tab's running answer or analysis ends at its next update (`until_stopped`)."""
        self._stops.setdefault(request.session_hash, threading.Event()).set()

    def forget(self, request: gr.Request) -> None:
        """The tab was closed: delete its recordings now (Gradio itself keeps a closed tab's state an hour)."""
        self._stops.pop(request.session_hash, None)
        session = self._by_hash.pop(request.session_hash, None)
        if session is not None:
            session.close()

    def end(self, session: Session | None) -> None:
        """Gradio dropped a session's state (idle past IDLE_S): delete its recordings."""
        if session is not None:
            session.close()
            for key in [k for k, s in self._by_hash.items() if s is session]:
                self._by_hash.pop(key, None)
