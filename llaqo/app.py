"""The chat app: build_demo(coach) -> gr.Blocks. Gradio only translates between the UI and a Coach.

Per-session state only: each browser tab has its own Session (current recording, turns, report), and
the recordings it uploaded are deleted when the session ends. Nothing about a recording is logged.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
from gradio.data_classes import FileData

from llaqo import examples, report
from llaqo.audio import AudioError
from llaqo.checkpoint import CheckpointError
from llaqo.decoding import PromptTooLong
from llaqo.lite.coach import LiteCoach
from llaqo.lite.score import ScoreError
from llaqo.lite.transcribe import Progress
from llaqo.protocol import Clip, Coach, Evidence, Settings, Turn

log = logging.getLogger(__name__)

AUDIO_TYPES = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".webm", ".m4a")
SCORE_TYPES = (".mid", ".midi", ".musicxml", ".xml", ".mxl")
OVERALL_QUESTION = "How would you rate the performance, and what should the student practise?"
MODES = {
    "Streaming, greedy": "greedy",
    "Streaming, sampling": "sample",
    "Faithful (the original's 5-beam search)": "faithful",
}
MAX_UPLOAD_MB = 50
USER_ERRORS = (AudioError, ScoreError, CheckpointError, PromptTooLong)
PROGRESS = gr.Progress()  # Gradio injects a live tracker for a parameter whose default is a Progress


@dataclass
class Session:
    """One browser session's recordings, conversation and report."""

    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="llaqo-session-")))
    clip: Clip | None = None
    evidence: Evidence | None = None
    turns: list[Turn] = field(default_factory=list)
    report: report.SessionReport = field(default_factory=report.SessionReport)

    def keep(self, upload: str) -> Path:
        """Move an upload into the session's folder, which is deleted with the session."""
        path = self.folder / Path(upload).name
        shutil.move(upload, path)
        return path

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def overview(evidence: Evidence | None, coach: Coach) -> str:
    """The Overview tab: audio facts, the window heard, and the headline measurements."""
    if evidence is None:
        return "Upload or record a performance to see its measurements here."
    f = evidence.facts
    heard = f"{_clock(f.heard_s[0])}–{_clock(f.heard_s[1])}"
    lines = [
        f"**{f.name}**: {f.duration_s:.1f} s, {f.sample_rate} Hz, {f.channels} channel(s)",
        f"**{coach.name} heard:** {heard}",
    ]
    m = evidence.measurements
    if m:
        lines += [
            f"**Tempo:** {m['tempo']['bpm']:.0f} BPM, {m['tempo']['label']} (variation {m['tempo']['cv_pct']:.1f}%)",
            f"**Dynamics:** {m['dynamics']['label']}, range {m['dynamics']['range_db']:.1f} dB",
            f"**Articulation:** {m['articulation']['label']} · **Pedal:** {m['pedal']['label']}",
            f"**Notes detected:** {len(m['notes'])}",
        ]
        if "score" in m:
            s = m["score"]
            lines.append(
                f"**Against the score:** {len(s['wrong'])} wrong, {len(s['missed'])} missed, {len(s['extra'])} extra"
            )
    return "  \n".join(lines)


def ui_settings(mode: str, temperature: float, max_new_tokens: int, use_history: bool) -> Settings:
    """The Settings accordion's values -> decoding Settings (0 tokens: the original's budget)."""
    return Settings(
        mode=MODES.get(mode, "greedy"),
        temperature=temperature,
        max_new_tokens=int(max_new_tokens) or None,
        use_history=use_history,
    )


def _progress(coach: Coach, progress: Progress | None) -> dict:
    """prepare()'s progress keyword for the Lite coach (the only one with long, segmented work)."""
    return {"progress": progress} if progress is not None and isinstance(coach, LiteCoach) else {}


class ChatApp:
    """The handlers behind the UI. Each takes and returns plain values and a Session."""

    def __init__(self, coach: Coach, evidence_coach: Coach | None):
        self.coach = coach
        self.evidence_coach = evidence_coach

    def load(
        self, session: Session, audio: Path, score: Path | None, start_s: float, progress: Progress | None = None
    ) -> None:
        """Prepare a new recording (and its evidence); raises the coaches' errors. progress(done, total) is
        passed to the Lite coach, whose transcription reports each segment."""
        clip = self.coach.prepare(audio, score_path=score, start_s=start_s, **_progress(self.coach, progress))
        if self.evidence_coach is self.coach:
            evidence = self.coach.evidence(clip)
        elif self.evidence_coach is not None:
            prepared = self.evidence_coach.prepare(audio, score_path=score, **_progress(self.evidence_coach, progress))
            lite = self.evidence_coach.evidence(prepared)
            evidence = Evidence(clip.facts, lite.measurements, lite.plots)
        else:
            evidence = self.coach.evidence(clip)
        session.clip, session.evidence, session.turns = clip, evidence, []
        name = clip.facts.name
        session.report.facts[name] = clip.facts
        session.report.measurements[name] = evidence.measurements
        session.report.plots[name] = evidence.plots

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
        progress=PROGRESS,
    ) -> Iterator[tuple]:
        """Chat submit: optional new recording/score, then a streamed answer."""
        session = session or Session()
        text = (message or {}).get("text", "").strip()
        files = (message or {}).get("files", [])
        # Gradio has already refused any other file type, with a message naming the allowed ones.
        audio = [f for f in files if Path(f).suffix.lower() in AUDIO_TYPES]
        scores = [f for f in files if Path(f).suffix.lower() in SCORE_TYPES]
        history = list(history or [])
        # File names, not the files: the chat never serves a recording back, so nothing lingers in caches.
        for path in files:
            history.append({"role": "user", "content": f"Recording: {Path(path).name}"})
        history.append({"role": "user", "content": text or "(overall assessment)"})
        evidence_changed = False
        if audio or scores:
            if not audio and session.clip is None:
                yield from self._say(history, session, "Please add the recording along with the score.")
                return
            progress(0.1, desc="Analysing the recording…")
            try:
                # A score alone applies to the current recording.
                kept_audio = session.keep(audio[-1]) if audio else session.folder / session.clip.facts.name
                kept_score = session.keep(scores[-1]) if scores else None
                self.load(
                    session,
                    kept_audio,
                    kept_score,
                    start_s,
                    lambda done, total: progress(done / total, desc=f"Transcribing: segment {done} of {total}"),
                )
            except USER_ERRORS as err:
                yield from self._say(history, session, f"**Problem:** {err}")
                return
            except Exception:
                log.exception("preparing a recording failed")
                problem = "**Problem:** something went wrong while analysing this recording; please try another file."
                yield from self._say(history, session, problem)
                return
            evidence_changed = True
        if session.clip is None:
            hint = (
                "Upload or record a performance first (the paperclip or microphone button in the message box), "
                "then ask your question."
            )
            yield from self._say(history, session, hint)
            return
        settings = ui_settings(mode, temperature, max_new_tokens, use_history)
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
    ) -> Iterator[tuple]:
        """Answer the last question again (e.g. with other settings)."""
        if session is None or session.clip is None or not session.turns:
            yield history, session, gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        last = session.turns.pop()
        session.report.exchanges.pop()
        history = list(history)
        while history and history[-1]["role"] == "assistant":
            history.pop()
        settings = ui_settings(mode, temperature, max_new_tokens, use_history)
        yield from self._answer(history, session, last.question, settings, False)

    def _say(self, history: list, session: Session, text: str) -> Iterator[tuple]:
        history.append({"role": "assistant", "content": text})
        yield self._outputs(history, session, False)

    def _answer(self, history, session: Session, question: str, settings: Settings, evidence_changed: bool):
        facts = session.clip.facts
        header = f"*{facts.name} · heard {_clock(facts.heard_s[0])}–{_clock(facts.heard_s[1])}*\n\n"
        history.append({"role": "assistant", "content": header})
        yield self._outputs(history, session, evidence_changed)
        answer = ""
        try:
            for piece in self.coach.answer(session.clip, question, session.turns, settings):
                answer += piece
                history[-1] = {"role": "assistant", "content": header + answer}
                yield self._outputs(history, session, False)
        except USER_ERRORS as err:
            history[-1] = {"role": "assistant", "content": header + f"**Problem:** {err}"}
            yield self._outputs(history, session, False)
            return
        except Exception:
            log.exception("answering failed")
            history[-1] = {
                "role": "assistant",
                "content": header + "**Problem:** something went wrong; please ask again.",
            }
            yield self._outputs(history, session, False)
            return
        session.turns.append(Turn(question, answer))
        mode = settings.mode if self.coach.name != "Lite" else "measured"
        session.report.exchanges.append(report.Exchange(facts.name, question, answer, self.coach.name, mode))
        yield self._outputs(history, session, False)

    def _outputs(self, history: list, session: Session, evidence_changed: bool) -> tuple:
        """(chatbot, session, overview, tempo plot, dynamics plot, piano roll)."""
        if not evidence_changed:
            return history, session, gr.skip(), gr.skip(), gr.skip(), gr.skip()
        plots = session.evidence.plots if session.evidence else {}
        return (
            history,
            session,
            overview(session.evidence, self.coach),
            plots.get("tempo"),
            plots.get("dynamics"),
            plots.get("piano_roll"),
        )

    def clear(self, session: Session) -> tuple:
        if session is not None:
            session.close()
        return [], Session(), overview(None, self.coach), None, None, None, gr.update(value=None, visible=False)

    def export(self, session: Session):
        if session is None or not session.report.exchanges:
            gr.Warning("Ask at least one question before exporting the session.")
            return gr.skip()
        markdown = session.folder / "llaqo-session.md"
        markdown.write_text(report.to_markdown(session.report))
        data = session.folder / "llaqo-session.json"
        data.write_text(report.to_json(session.report))
        return gr.update(value=[str(markdown), str(data)], visible=True)

    def ask(self, audio: FileData, question: str, score: FileData | None = None) -> Iterator[str]:
        """API: answer a question about a recording, streaming the text. Send the same file again for a
        follow-up: it is recognised by its content and not analysed twice."""
        try:
            clip = self.coach.prepare(
                audio["path"] if isinstance(audio, dict) else audio.path,
                score_path=None if score is None else (score["path"] if isinstance(score, dict) else score.path),
            )
            answer = ""
            for piece in self.coach.answer(clip, question.strip() or OVERALL_QUESTION):
                answer += piece
                yield answer
        except USER_ERRORS as err:
            yield f"**Problem:** {err}"


def banner(coach: Coach) -> str:
    return f"### LLaQo piano coach · {coach.name} coach\n{coach.about}"


def build_demo(
    coach: Coach,
    *,
    evidence_coach: Coach | None = None,
    examples_dir: str | Path | None = None,
) -> gr.Blocks:
    """The chat UI around a coach. evidence_coach (the Lite coach) supplies the measurements and plots."""
    app = ChatApp(coach, evidence_coach)
    limit_min = min(c.max_duration_s for c in (coach, evidence_coach) if c is not None) / 60
    example_paths = examples.write_examples(examples_dir or Path(tempfile.gettempdir()) / "llaqo-examples")
    with gr.Blocks(title="LLaQo piano coach", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(banner(coach))
        session = gr.State(None, delete_callback=lambda s: s.close() if s else None)
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Coach", height=520, buttons=["copy"])
                message = gr.MultimodalTextbox(
                    placeholder="Attach or record a performance (and optionally a MIDI/MusicXML score), "
                    "then ask, e.g. “How was my pedalling?”",
                    sources=["upload", "microphone"],
                    file_types=[*AUDIO_TYPES, *SCORE_TYPES],
                    file_count="multiple",
                    show_label=False,
                )
                with gr.Row():
                    stop = gr.Button("Stop", size="sm")
                    regenerate = gr.Button("Regenerate", size="sm")
                    clear = gr.Button("Clear", size="sm")
                    export = gr.Button("Export report", size="sm")
                report_files = gr.File(label="Session report (Markdown, JSON)", file_count="multiple", visible=False)
                gr.Examples(
                    examples=[
                        {"text": question, "files": [str(path)]}
                        for question, path in zip(examples.QUESTIONS, example_paths, strict=False)
                    ],
                    inputs=message,
                    label="Example recordings (synthesized) with questions",
                )
                gr.Examples(
                    examples=[[{"text": q}] for q in examples.QUESTIONS], inputs=message, label="Example questions"
                )
                gr.Markdown(
                    f"Uploads up to {MAX_UPLOAD_MB} MB; recordings up to {limit_min:.0f} min are analysed. "
                    "Recordings are deleted when you close the page and are never logged."
                )
                with gr.Accordion("Settings", open=False):
                    mode = gr.Radio(list(MODES), value=next(iter(MODES)), label="Decoding (LLaQo model)")
                    temperature = gr.Slider(0.1, 1.5, value=0.7, step=0.05, label="Temperature (sampling)")
                    max_new_tokens = gr.Slider(
                        0, 512, value=0, step=16, label="Maximum answer tokens (0: the original's budget)"
                    )
                    start_s = gr.Number(value=0.0, minimum=0.0, label="Start offset (s) for the part the model hears")
                    use_history = gr.Checkbox(False, label="Include earlier turns (only for models trained so)")
            # The evidence, all visible at once: a plot updated inside a hidden tab is not drawn by Gradio 6.
            with gr.Column(scale=2):
                facts = gr.Markdown(overview(None, coach))
                tempo_plot = gr.Plot(label="Tempo curve")
                dynamics_plot = gr.Plot(label="Loudness")
                notes_plot = gr.Plot(label="Piano roll (notes)")

        settings = [mode, temperature, max_new_tokens, start_s, use_history]
        outputs = [chatbot, session, facts, tempo_plot, dynamics_plot, notes_plot]

        def submit(
            message, history, session, mode, temperature, max_new_tokens, start_s, use_history, progress=PROGRESS
        ):
            """The answer's updates, with the message box emptied at once so the next question can be typed."""
            settings = (mode, temperature, max_new_tokens, start_s, use_history)
            for i, update in enumerate(app.respond(message, history, session, *settings, progress)):
                yield (*update, gr.MultimodalTextbox(value=None) if i == 0 else gr.skip())

        submitted = message.submit(
            submit,
            [message, chatbot, session, *settings],
            [*outputs, message],
            api_name="chat",
            concurrency_id="coach",
        )
        regenerated = regenerate.click(
            app.regenerate, [chatbot, session, *settings], outputs, api_visibility="private", concurrency_id="coach"
        )
        stop.click(None, None, None, cancels=[submitted, regenerated], api_visibility="private")
        clear.click(app.clear, session, [*outputs, report_files], api_visibility="private")
        export.click(app.export, session, report_files, api_visibility="private")
        gr.api(app.ask, api_name="ask", concurrency_id="coach")
    return demo
