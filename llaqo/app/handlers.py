"""The chat's handlers (ChatApp): plain values and a Session in, chat updates out. Gradio only translates
between the UI (llaqo.app.layout) and a Coach.

Nothing about a recording (its name, its content, an error message that may name it) is logged.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import gradio as gr

from llaqo import report
from llaqo.app import practice
from llaqo.app.api import OVERALL_QUESTION, USER_ERRORS, Api
from llaqo.app.score_view import score_panel
from llaqo.app.sessions import MAX_UPLOAD_MB, Session, Sessions, oversized
from llaqo.app.views import overview, ui_settings
from llaqo.lite.evidence import clips
from llaqo.protocol import Clip, Coach, Evidence, Passage, PracticeCoach, Progress, Settings, Turn, clock, content_hash

log = logging.getLogger(__name__)

AUDIO_TYPES = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".webm", ".m4a")
SCORE_TYPES = (".mid", ".midi", ".musicxml", ".xml", ".mxl")
PROGRESS = gr.Progress()  # Gradio injects a live tracker for a parameter whose default is a Progress
HEARTBEAT_S = 0.2  # while a recording is analysed, the handler yields this often, so that Stop can close it
ANALYSING = "*Analysing the recording…*"  # the chat's line while a new recording is analysed
SAME_AGAIN = "\n\n*(Asked again: the same answer. Change the settings, or ask in other words, for another.)*"


class Stopped(Exception):
    """Raised in the analysis' worker thread at its next segment once the user pressed Stop."""


def log_failure(what: str, err: BaseException) -> None:
    """Log an unexpected error by its type and where it happened, without its message: the message of a
    decoder's error often names the user's file."""
    log.error("%s: %s\n%s", what, type(err).__name__, "".join(traceback.format_tb(err.__traceback__)).rstrip())


class ChatApp:
    """The handlers behind the UI. Each takes and returns plain values and a Session.

    practice_coach (the Lite coach) serves the practice tools, which answer in the chat when it is the chat's
    coach; its prepare() reports progress, whether it answers or supplies the evidence, and its answers are
    measured (the session report says so instead of naming the decoding settings).
    """

    def __init__(
        self,
        coach: Coach,
        evidence_coach: Coach | None,
        max_upload_mb: float = MAX_UPLOAD_MB,
        practice_coach: PracticeCoach | None = None,
    ):
        self.coach = coach
        self.evidence_coach = evidence_coach
        self.practice_coach = practice_coach
        self.max_upload_mb = max_upload_mb
        self.sessions = Sessions()
        self.practice = practice.Practice(self.sessions, practice_coach if practice_coach is coach else None)
        self.api = Api(coach, max_upload_mb)

    def load(
        self, session: Session, audio: Path, score: Path | None, start_s: float, progress: Progress | None = None
    ) -> None:
        """Prepare a new recording (and its evidence); raises the coaches' errors. progress(done, total) is
        passed to the Lite coach, whose transcription reports each segment."""
        clip = self._prepare(self.coach, audio, score, progress, start_s=start_s)
        if self.evidence_coach is self.coach:
            evidence = self.coach.evidence(clip)
        elif self.evidence_coach is not None:
            prepared = self._prepare(self.evidence_coach, audio, score, progress)
            lite = self.evidence_coach.evidence(prepared)
            evidence = Evidence(clip.facts, lite.measurements, lite.plots, lite.score_pages, lite.score_passes)
        else:
            evidence = self.coach.evidence(clip)
        key = content_hash(audio)
        recording = session.report.add(key, audio.name, clip.facts, evidence.measurements, evidence.plots)
        # The overview names the take, as the answers' headers do.
        evidence = replace(evidence, facts=replace(recording.facts, name=recording.name))
        session.clip, session.evidence, session.turns = clip, evidence, []
        session.audio, session.recording, session.shown_pass = audio, key, None
        session.report.recordings[key].score_pages = evidence.score_pages

    def _prepare(self, coach: Coach, audio: Path, score: Path | None, progress: Progress | None, **kw) -> Clip:
        """coach.prepare, with progress when the coach is the practice coach (the one with long, segmented work)."""
        if progress is not None and coach is self.practice_coach:
            return self.practice_coach.prepare(audio, score_path=score, progress=progress, **kw)
        return coach.prepare(audio, score_path=score, **kw)

    def respond(
        self,
        message: dict,
        history: list,
        session: Session,
        mode: str,
        temperature: float,
        max_new_tokens: int,
        start_s: float,
        use_history: bool,
        scope: str = "One window",
        stride_s: float | None = 0.0,
        progress=PROGRESS,
    ) -> Iterator[tuple]:
        """Chat submit: optional new recording/score, then a streamed answer."""
        session = session or Session()
        text = (message or {}).get("text", "").strip()
        files = [session.arrived(f) for f in (message or {}).get("files", [])]
        # Gradio has already refused any other file type, with a message naming the allowed ones.
        audio = [f for f in files if Path(f).suffix.lower() in AUDIO_TYPES]
        scores = [f for f in files if Path(f).suffix.lower() in SCORE_TYPES]
        history = list(history or [])
        # File names, not the files: the chat never serves a recording back, so nothing lingers in caches.
        for path in files:
            history.append({"role": "user", "content": f"Recording: {report.escape(Path(path).name)}"})
        history.append({"role": "user", "content": report.escape(text) or "(overall assessment)"})
        too_big = oversized(files, self.max_upload_mb)
        if too_big:
            yield from self._say(history, session, f"**Problem:** {too_big}")
            return
        evidence_changed = False
        if audio or scores:
            if not audio and session.clip is None:
                yield from self._say(history, session, "Please add the recording along with the score.")
                return
            progress(0.1, desc="Analysing the recording…")
            history.append({"role": "assistant", "content": ANALYSING})
            yield self._outputs(history, session, False)
            try:
                # A score alone applies to the current recording.
                kept_audio = session.keep(audio[-1]) if audio else session.audio
                kept_score = session.keep(scores[-1]) if scores else None
                yield from self._load_stoppably(session, kept_audio, kept_score, start_s, progress)
            except USER_ERRORS as err:
                history[-1] = {"role": "assistant", "content": f"**Problem:** {err}"}
                yield self._outputs(history, session, False)
                return
            except Exception as err:
                log_failure("preparing a recording failed", err)
                problem = "**Problem:** something went wrong while analysing this recording; please try another file."
                history[-1] = {"role": "assistant", "content": problem}
                yield self._outputs(history, session, False)
                return
            history.pop()  # the "Analysing" line: the answer takes its place
            evidence_changed = True
            note = self.practice.after_load(session)
            if note:
                history.append({"role": "assistant", "content": note})
        if session.clip is None:
            hint = (
                "Upload or record a performance first (the paperclip or microphone button in the message box), "
                "then ask your question."
            )
            yield from self._say(history, session, hint)
            return
        settings = ui_settings(mode, temperature, max_new_tokens, use_history, scope, stride_s)
        yield from self._answer(history, session, text or OVERALL_QUESTION, settings, evidence_changed)

    def regenerate(
        self,
        history: list,
        session: Session,
        mode: str,
        temperature: float,
        max_new_tokens: int,
        start_s: float,
        use_history: bool,
        scope: str = "One window",
        stride_s: float | None = 0.0,
    ) -> Iterator[tuple]:
        """Answer the last question again (e.g. with other settings)."""
        if session is None or session.clip is None or not session.turns:
            yield history, session, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        last = session.turns.pop()
        session.report.exchanges.pop()
        history = list(history)
        while history and history[-1]["role"] == "assistant":
            history.pop()
        settings = ui_settings(mode, temperature, max_new_tokens, use_history, scope, stride_s)
        yield from self._answer(history, session, last.question, settings, False, again=last.answer)

    def _load_stoppably(
        self, session: Session, audio: Path, score: Path | None, start_s: float, progress
    ) -> Iterator[tuple]:
        """load() in a worker thread, yielding while it works so that Stop (or a closed tab), which closes this
        generator at a yield, also stops the analysis: the next transcription segment then raises Stopped in
        the worker, and nothing of the stopped take is cached. Raises what load() raised."""
        stop = threading.Event()
        failed: list[BaseException] = []

        def segment_done(done: int, total: int) -> None:
            if stop.is_set():
                raise Stopped
            progress(done / total, desc=f"Transcribing: segment {done} of {total}")

        def work() -> None:
            try:
                self.load(session, audio, score, start_s, segment_done)
            except BaseException as err:  # handed to the generator, which raises it in the handler's thread
                failed.append(err)

        worker = threading.Thread(target=work, name="llaqo-load", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(HEARTBEAT_S)
                yield (gr.skip(),) * 7
        finally:
            stop.set()
        if failed:
            raise failed[0]

    def _say(self, history: list, session: Session, text: str) -> Iterator[tuple]:
        history.append({"role": "assistant", "content": text})
        yield self._outputs(history, session, False)

    def _answer(
        self,
        history,
        session: Session,
        question: str,
        settings: Settings,
        evidence_changed: bool,
        again: str | None = None,
    ):
        """Stream the answer to question into the chat. again: the answer being regenerated, so that one that
        comes out the same (measured answers always do) says so instead of looking as if nothing happened."""
        facts = session.clip.facts
        heard = facts.heard_s if settings.scope == "window" else (0.0, facts.duration_s)
        header = f"*{report.escape(session.name)} · heard {clock(heard[0])}–{clock(heard[1])}*\n\n"
        history.append({"role": "assistant", "content": header})
        yield self._outputs(history, session, evidence_changed)
        answer = ""
        try:
            stream = self.practice.route(session, question) or self.coach.answer(
                session.clip, question, session.turns, settings
            )
            for piece in stream:
                if not piece:  # the coach is still working: a yield lets Gradio close us on Stop or a closed tab
                    yield (gr.skip(),) * 7
                    continue
                answer += piece
                history[-1] = {"role": "assistant", "content": header + answer}
                yield self._outputs(history, session, False)
        except USER_ERRORS as err:
            history[-1] = {"role": "assistant", "content": header + f"**Problem:** {err}"}
            yield self._outputs(history, session, False)
            return
        except Exception as err:
            log_failure("answering failed", err)
            history[-1] = {
                "role": "assistant",
                "content": header + "**Problem:** something went wrong; please ask again.",
            }
            yield self._outputs(history, session, False)
            return
        session.turns.append(Turn(question, answer, stream.passages))
        if again is not None and answer == again:
            history[-1] = {"role": "assistant", "content": header + answer + SAME_AGAIN}
        mode = "measured" if self.coach is self.practice_coach else settings.mode
        cited = self._clips(session, stream.passages)
        for passage, path in cited:
            history.append({"role": "assistant", "content": gr.Audio(str(path), label=f"Listen: {passage.label}")})
        exchange = report.Exchange(session.recording, question, answer, self.coach.name, mode)
        exchange.passages = [report.cited_passage(passage, path) for passage, path in cited]
        session.report.exchanges.append(exchange)
        yield self._outputs(history, session, False)

    def _clips(self, session: Session, cited: Sequence[Passage]) -> list[tuple[Passage, Path]]:
        """The passages an answer cites, each cut from the recording into the session's folder (deleted with it).
        A clip that cannot be cut costs the clip, not the answer."""
        try:
            paths = clips.write_clips(session.audio, cited, session.folder / "clips", stem=session.recording_stem)
        except Exception:
            log.exception("cutting the cited passages failed")
            return []
        return list(zip(cited, paths, strict=True))

    def _outputs(self, history: list, session: Session, evidence_changed: bool) -> tuple:
        """(chatbot, session, overview, tempo plot, dynamics plot, piano roll, marked score)."""
        if not evidence_changed:
            return history, session, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        plots = session.evidence.plots if session.evidence else {}
        pages = session.evidence.score_pages if session.evidence else []
        return (
            history,
            session,
            overview(session.evidence, self.coach),
            plots.get("tempo"),
            plots.get("dynamics"),
            plots.get("piano_roll"),
            score_panel(pages),
        )

    def open_row(self, event: gr.SelectData, history, session, progress_bar=PROGRESS):
        """A click on a class-view row opens that take in the chat, with its evidence. (Only `event` is
        annotated: Gradio finds it by its type hint, which must resolve at run time, and Session cannot.)"""
        if session is None or not (session.folder / "class").is_dir():
            return self._outputs(history, session, False)
        name = (event.row_value or [None])[0]
        path = session.folder / "class" / str(name)
        if not path.is_file():
            return self._outputs(history, session, False)
        progress_bar(0.1, desc=f"Opening {name}…")
        self.load(session, path, session.class_score, 0.0)
        # A line of the user's, so that the note opens a bubble of its own rather than joining the last answer's.
        history = [
            *(history or []),
            {"role": "user", "content": f"(open {report.escape(str(name))} from the class view)"},
            {"role": "assistant", "content": f"Opened **{report.escape(str(name))}** from the class view."},
        ]
        return self._outputs(history, session, True)

    def play_bar(self, session: Session, message: dict | None, event: gr.SelectData):
        """A click on a bar of the marked score: cut that bar (with context) and play it in the evidence panel, and
        offer "How was bar N?" in the message box when it is empty (what the user types is never replaced)."""
        if session is None or session.clip is None or session.evidence is None:
            return gr.skip(), session, gr.skip()
        shown, bars = shown_bars(session.evidence, session.shown_pass)
        view = next((b for b in bars if b["bar"] == event.value), None)
        if view is None:
            return gr.skip(), session, gr.skip()
        typed = (message or {}).get("text", "").strip() or (message or {}).get("files")
        question = gr.skip() if typed else gr.MultimodalTextbox(value={"text": f"How was bar {view['bar']}?"})
        name = f"bar {view['bar']}" + (f", {shown.partition(':')[0]}" if shown else "")
        passage = Passage(view["start_s"], view["end_s"], name, (view["bar"], view["bar"]))
        try:
            [path] = clips.write_clips(session.audio, [passage], session.folder / "clips", stem=session.recording_stem)
        except Exception:
            log.exception("cutting the chosen bar failed")
            return gr.skip(), session, question
        label = f"{name.capitalize()} ({clock(view['start_s'])}–{clock(view['end_s'])})"
        return gr.Audio(str(path), label=label, visible=True), session, question

    def pass_choice(self, session: Session | None):
        """The choice of the pass the marked score shows: offered only for a session of several passes through
        the score, the shown one (at first the latest) selected."""
        names = list(session.evidence.score_passes) if session is not None and session.evidence else []
        if len(names) < 2:
            return gr.update(choices=[], value=None, visible=False)
        return gr.update(choices=names, value=session.shown_pass or names[-1], visible=True)

    def show_pass(self, session: Session | None, name: str | None):
        """The user chose a pass: the marked score of that pass, whose bars a click then plays."""
        if session is None or session.evidence is None or name not in session.evidence.score_passes:
            return gr.skip(), session
        session.shown_pass = name
        return score_panel(session.evidence.score_passes[name]), session

    def clear(self, session: Session) -> tuple:
        if session is not None:
            session.close()
        return (
            [],
            None,
            overview(None, self.coach),
            None,
            None,
            None,
            score_panel([]),
            gr.update(value=None, visible=False),
            gr.update(value=None, visible=False),
        )

    def export(self, session: Session):
        if session is None or not session.report.exchanges:
            gr.Warning("Ask at least one question before exporting the session.")
            return gr.skip()
        markdown = session.folder / "llaqo-session.md"
        markdown.write_text(report.to_markdown(session.report))
        data = session.folder / "llaqo-session.json"
        data.write_text(report.to_json(session.report))
        evidence = report.write_evidence(session.report, session.folder / "report")
        return gr.update(value=[str(markdown), str(data), *map(str, evidence)], visible=True)


def shown_bars(evidence: Evidence, shown_pass: str | None) -> tuple[str | None, list[dict]]:
    """The marked score on show -> (its pass's name, None for a single run; its bars with their times).

    In a session of several passes the score shows one pass (shown_pass, else the latest), and a bar is played
    from that pass: the measurements' score.passes hold each pass's bars, in the order of score_passes."""
    score = evidence.measurements.get("score", {})
    names, found = list(evidence.score_passes), score.get("passes", [])
    if len(names) < 2 or len(found) != len(names):
        return None, score.get("bars", [])
    shown = shown_pass if shown_pass in names else names[-1]
    return shown, found[names.index(shown)].get("bars", [])
