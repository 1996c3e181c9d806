"""The chat app: build_demo(coach) -> gr.Blocks. Gradio only translates between the UI and a Coach.

Per-session state only: each browser tab has its own Session (current recording, turns, report), and
the recordings it uploaded are deleted when the tab closes (PRIVACY says exactly when). Nothing about a
recording (its name, its content, an error message that may name it) is logged.
"""

from __future__ import annotations

import logging
import tempfile
import traceback
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import gradio as gr
from gradio.data_classes import FileData

from llaqo import app_practice, examples, report
from llaqo.audio import AudioError
from llaqo.checkpoint import CheckpointError
from llaqo.decoding import PromptTooLong
from llaqo.lite import clips
from llaqo.lite.coach import LiteCoach
from llaqo.lite.score import ScoreError
from llaqo.lite.transcribe import Progress
from llaqo.protocol import Coach, Evidence, Passage, Settings, Turn, content_hash
from llaqo.score_view import SCORE_CLICK_JS, score_panel
from llaqo.sessions import CACHE_S, IDLE_S, MAX_UPLOAD_MB, MB, PRIVACY, Session, Sessions, oversized

log = logging.getLogger(__name__)

AUDIO_TYPES = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".webm", ".m4a")
SCORE_TYPES = (".mid", ".midi", ".musicxml", ".xml", ".mxl")
OVERALL_QUESTION = "How would you rate the performance, and what should the student practise?"
MODES = {
    "Streaming, greedy": "greedy",
    "Streaming, sampling": "sample",
    "Faithful (the original's 5-beam search)": "faithful",
}
SCOPES = {"One window": "window", "Whole recording": "whole"}
USER_ERRORS = (AudioError, ScoreError, CheckpointError, PromptTooLong)
PROGRESS = gr.Progress()  # Gradio injects a live tracker for a parameter whose default is a Progress


class ChatDemo(gr.Blocks):
    """The app's Blocks: launch() refuses uploads over the limit before they are stored, whoever launches it
    (the handlers refuse them too, for a demo mounted without launch())."""

    max_upload_mb: float = MAX_UPLOAD_MB

    def launch(self, *args, **kwargs):
        kwargs.setdefault("max_file_size", int(self.max_upload_mb * MB))
        return super().launch(*args, **kwargs)


def log_failure(what: str, err: BaseException) -> None:
    """Log an unexpected error by its type and where it happened, without its message: the message of a
    decoder's error often names the user's file."""
    log.error("%s: %s\n%s", what, type(err).__name__, "".join(traceback.format_tb(err.__traceback__)).rstrip())


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def overview(evidence: Evidence | None, coach: Coach) -> str:
    """The Overview tab: audio facts, the window heard, and the headline measurements."""
    if evidence is None:
        return "Upload or record a performance to see its measurements here."
    f = evidence.facts
    heard = f"{_clock(f.heard_s[0])}–{_clock(f.heard_s[1])}"
    lines = [
        f"**{report.escape(f.name)}**: {f.duration_s:.1f} s, {f.sample_rate} Hz, {f.channels} channel(s)",
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


def ui_settings(
    mode: str,
    temperature: float,
    max_new_tokens: int,
    use_history: bool,
    scope: str = "One window",
    stride_s: float | None = 0.0,
) -> Settings:
    """The Settings accordion's values -> decoding Settings (0 tokens: the original's budget; 0 s stride:
    windows side by side)."""
    return Settings(
        mode=MODES.get(mode, "greedy"),
        temperature=temperature,
        max_new_tokens=int(max_new_tokens) or None,
        use_history=use_history,
        scope=SCOPES.get(scope, "window"),
        stride_s=float(stride_s or 0) or None,
    )


def timeline(evidence: Evidence | None, scope: str = "One window", stride_s: float | None = 0.0) -> str:
    """A bar for the recording with the part the model hears highlighted (HTML)."""
    if evidence is None:
        return ""
    f = evidence.facts
    whole = SCOPES.get(scope) == "whole"
    start, end = (0.0, f.duration_s) if whole else f.heard_s
    left, width = 100 * start / f.duration_s, 100 * max(end - start, 0.0) / f.duration_s
    if whole:
        stride = f"{stride_s:g} s" if stride_s else "the window's length"
        label = f"Heard: all {_clock(f.duration_s)}, window by window, one starting every {stride}"
    else:
        label = f"Heard: {_clock(start)}–{_clock(end)} of {_clock(f.duration_s)} (set by the start offset)"
    return (
        '<div style="background:#ddd;height:10px;border-radius:4px;position:relative">'
        f'<div style="position:absolute;left:{left:.2f}%;width:{width:.2f}%;height:10px;background:#e67e22;'
        f'border-radius:4px"></div></div><small>{label}</small>'
    )


def _progress(coach: Coach, progress: Progress | None) -> dict:
    """prepare()'s progress keyword for the Lite coach (the only one with long, segmented work)."""
    return {"progress": progress} if progress is not None and isinstance(coach, LiteCoach) else {}


class ChatApp:
    """The handlers behind the UI. Each takes and returns plain values and a Session."""

    def __init__(self, coach: Coach, evidence_coach: Coach | None, max_upload_mb: float = MAX_UPLOAD_MB):
        self.coach = coach
        self.evidence_coach = evidence_coach
        self.practice = app_practice.Practice(self)
        self.max_upload_mb = max_upload_mb
        self.sessions = Sessions()

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
            evidence = Evidence(clip.facts, lite.measurements, lite.plots, lite.score_pages)
        else:
            evidence = self.coach.evidence(clip)
        key = content_hash(audio)
        recording = session.report.add(key, audio.name, clip.facts, evidence.measurements, evidence.plots)
        # The overview names the take, as the answers' headers do.
        evidence = replace(evidence, facts=replace(recording.facts, name=recording.name))
        session.clip, session.evidence, session.turns = clip, evidence, []
        session.audio, session.recording = audio, key
        session.report.recordings[key].score_pages = evidence.score_pages

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
        files = (message or {}).get("files", [])
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
            try:
                # A score alone applies to the current recording.
                kept_audio = session.keep(audio[-1]) if audio else session.audio
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
            except Exception as err:
                log_failure("preparing a recording failed", err)
                problem = "**Problem:** something went wrong while analysing this recording; please try another file."
                yield from self._say(history, session, problem)
                return
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
        yield from self._answer(history, session, last.question, settings, False)

    def _say(self, history: list, session: Session, text: str) -> Iterator[tuple]:
        history.append({"role": "assistant", "content": text})
        yield self._outputs(history, session, False)

    def _answer(self, history, session: Session, question: str, settings: Settings, evidence_changed: bool):
        facts = session.clip.facts
        heard = facts.heard_s if settings.scope == "window" else (0.0, facts.duration_s)
        header = f"*{report.escape(session.name)} · heard {_clock(heard[0])}–{_clock(heard[1])}*\n\n"
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
        session.turns.append(Turn(question, answer))
        mode = settings.mode if self.coach.name != "Lite" else "measured"
        cited = self._clips(session, answer)
        for passage, path in cited:
            history.append({"role": "assistant", "content": gr.Audio(str(path), label=f"Listen: {passage.label}")})
        exchange = report.Exchange(session.recording, question, answer, self.coach.name, mode)
        exchange.passages = [report.cited_passage(passage, path) for passage, path in cited]
        session.report.exchanges.append(exchange)
        yield self._outputs(history, session, False)

    def _clips(self, session: Session, answer: str) -> list[tuple[Passage, Path]]:
        """The passages the answer cites, each cut from the recording into the session's folder (deleted with it).
        A clip that cannot be cut costs the clip, not the answer."""
        try:
            cited = self.coach.passages(session.clip, answer)
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

    def play_bar(self, session: Session, event: gr.SelectData):
        """A click on a bar of the marked score: cut that bar (with context) and play it in the evidence panel."""
        if session is None or session.clip is None or session.evidence is None:
            return gr.skip(), session
        bars = session.evidence.measurements.get("score", {}).get("bars", [])
        view = next((b for b in bars if b["bar"] == event.value), None)
        if view is None:
            return gr.skip(), session
        passage = Passage(view["start_s"], view["end_s"], f"bar {view['bar']}", (view["bar"], view["bar"]))
        try:
            [path] = clips.write_clips(session.audio, [passage], session.folder / "clips", stem=session.recording_stem)
        except Exception:
            log.exception("cutting the chosen bar failed")
            return gr.skip(), session
        label = f"Bar {view['bar']} ({_clock(view['start_s'])}–{_clock(view['end_s'])})"
        return gr.Audio(str(path), label=label, visible=True), session

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

    def ask(
        self,
        audio: FileData,
        question: str,
        score: FileData | None = None,
        scope: str = "window",
        stride_s: float = 0.0,
    ) -> Iterator[str]:
        """API: answer a question about a recording, streaming the text. Send the same file again for a
        follow-up: it is recognised by its content and not analysed twice. scope: "window" (the part from the
        start) or "whole" (every window, one every stride_s seconds; 0: windows side by side)."""
        if scope not in SCOPES.values():
            yield f"**Problem:** scope must be one of {', '.join(SCOPES.values())} (got {scope!r})"
            return
        paths = [f["path"] if isinstance(f, dict) else f.path for f in (audio, score) if f is not None]
        too_big = oversized(paths, self.max_upload_mb)
        if too_big:
            yield f"**Problem:** {too_big}"
            return
        settings = Settings(scope=scope, stride_s=float(stride_s or 0) or None)
        try:
            clip = self.coach.prepare(paths[0], score_path=paths[1] if score is not None else None)
            answer = ""
            for piece in self.coach.answer(clip, question.strip() or OVERALL_QUESTION, settings=settings):
                answer += piece
                yield answer
        except USER_ERRORS as err:
            yield f"**Problem:** {err}"

    def ask_passages(self, audio: FileData, question: str, score: FileData | None = None) -> dict:
        """API: the complete answer and the passages of the recording it cites, as
        {"answer": str, "passages": [{"start_s", "end_s", "label", "bars"}]} (bars: [first, last] or null)."""
        paths = [f["path"] if isinstance(f, dict) else f.path for f in (audio, score) if f is not None]
        too_big = oversized(paths, self.max_upload_mb)
        if too_big:
            return {"answer": f"**Problem:** {too_big}", "passages": []}
        try:
            clip = self.coach.prepare(paths[0], score_path=paths[1] if score is not None else None)
            answer = "".join(self.coach.answer(clip, question.strip() or OVERALL_QUESTION))
        except USER_ERRORS as err:
            return {"answer": f"**Problem:** {err}", "passages": []}
        cited = self.coach.passages(clip, answer)
        return {"answer": answer, "passages": [report.passage_json(p) for p in cited]}


def banner(coach: Coach) -> str:
    return f"### LLaQo piano coach · {coach.name} coach\n{coach.about}"


def build_demo(
    coach: Coach,
    *,
    evidence_coach: Coach | None = None,
    examples_dir: str | Path | None = None,
    max_upload_mb: float = MAX_UPLOAD_MB,
) -> ChatDemo:
    """The chat UI around a coach. evidence_coach (the Lite coach) supplies the measurements and plots."""
    app = ChatApp(coach, evidence_coach, max_upload_mb)
    limit_min = min(c.max_duration_s for c in (coach, evidence_coach) if c is not None) / 60
    example_paths = examples.write_examples(examples_dir or Path(tempfile.gettempdir()) / "llaqo-examples")
    with ChatDemo(title="LLaQo piano coach", delete_cache=(CACHE_S, CACHE_S)) as demo:
        demo.max_upload_mb = max_upload_mb
        gr.Markdown(banner(coach))
        session = gr.State(None, time_to_live=IDLE_S, delete_callback=app.sessions.end)
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
                    f"Uploads up to {max_upload_mb:g} MB; recordings up to {limit_min:.0f} min are analysed. {PRIVACY}"
                )
                with gr.Accordion("Settings", open=False):
                    mode = gr.Radio(list(MODES), value=next(iter(MODES)), label="Decoding (LLaQo model)")
                    temperature = gr.Slider(0.1, 1.5, value=0.7, step=0.05, label="Temperature (sampling)")
                    max_new_tokens = gr.Slider(
                        0, 512, value=0, step=16, label="Maximum answer tokens (0: the original's budget)"
                    )
                    with gr.Row():
                        start_s = gr.Number(
                            value=0.0, minimum=0.0, label="Start offset (s) for the part the model hears"
                        )
                        scope = gr.Radio(list(SCOPES), value="One window", label="What the LLaQo model hears")
                        stride_s = gr.Number(
                            value=0.0, minimum=0.0, label="Whole recording: seconds between windows (0: side by side)"
                        )
                    heard = gr.HTML()
                    use_history = gr.Checkbox(False, label="Include earlier turns (only for models trained so)")
                practice_controls = app_practice.build_controls(app.practice, session)
            # The evidence, all visible at once: a plot updated inside a hidden tab is not drawn by Gradio 6.
            with gr.Column(scale=2):
                facts = gr.Markdown(overview(None, coach))
                score_view = gr.HTML(score_panel([]), label="Score, marked", padding=False, js_on_load=SCORE_CLICK_JS)
                bar_player = gr.Audio(label="Bar", interactive=False, autoplay=True, visible=False)
                tempo_plot = gr.Plot(label="Tempo curve")
                dynamics_plot = gr.Plot(label="Loudness")
                notes_plot = gr.Plot(label="Piano roll (notes)")
                compare_plot = gr.Plot(label="Against the reference", elem_id="compare-plot")

        settings = [mode, temperature, max_new_tokens, start_s, use_history, scope, stride_s]
        outputs = [chatbot, session, facts, tempo_plot, dynamics_plot, notes_plot, score_view]

        def submit(
            message,
            history,
            session,
            mode,
            temperature,
            max_new_tokens,
            start_s,
            use_history,
            scope,
            stride_s,
            request: gr.Request,
            progress=PROGRESS,
        ):
            """The answer's updates, with the message box emptied at once so the next question can be typed."""
            session = app.sessions.open(session, request)
            settings = (mode, temperature, max_new_tokens, start_s, use_history, scope, stride_s)
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
        show_heard = {"fn": lambda s, *scan: timeline(s and s.evidence, *scan), "api_visibility": "private"}
        for event in (submitted, regenerated):
            event.then(inputs=[session, scope, stride_s], outputs=heard, **show_heard)
        for control in (scope, stride_s):
            control.change(inputs=[session, scope, stride_s], outputs=heard, queue=False, **show_heard)
        clear.click(app.clear, session, [*outputs, report_files, bar_player], api_visibility="private").then(
            lambda: None, None, compare_plot, api_visibility="private"
        )
        submitted.then(app.practice.comparison_plot, session, compare_plot, api_visibility="private")
        app_practice.wire(app.practice, practice_controls, session, chatbot, outputs, compare_plot)
        export.click(app.export, session, report_files, api_visibility="private")
        score_view.select(app.play_bar, session, [bar_player, session], api_visibility="private")
        gr.api(app.ask, api_name="ask", concurrency_id="coach")
        gr.api(app.ask_passages, api_name="ask_passages", concurrency_id="coach")
        demo.unload(app.sessions.forget)
    return demo
