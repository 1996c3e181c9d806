"""The chat UI's layout (build_demo) and its wiring to the handlers (llaqo.app.handlers)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from llaqo import examples
from llaqo.app import practice
from llaqo.app.handlers import ANALYSING, AUDIO_TYPES, PROGRESS, SCORE_TYPES, ChatApp
from llaqo.app.microphone import CLOSE_MICROPHONE_JS
from llaqo.app.score_view import SCORE_CLICK_JS, score_panel
from llaqo.app.sessions import CACHE_S, IDLE_S, MAX_UPLOAD_MB, MB, PRIVACY
from llaqo.app.views import MODES, SCOPES, banner, overview, timeline
from llaqo.protocol import Coach, PracticeCoach


class ChatDemo(gr.Blocks):
    """The app's Blocks: launch() refuses uploads over the limit before they are stored, whoever launches it
    (the handlers refuse them too, for a demo mounted without launch())."""

    max_upload_mb: float = MAX_UPLOAD_MB

    def launch(self, *args, **kwargs):
        kwargs.setdefault("max_file_size", int(self.max_upload_mb * MB))
        return super().launch(*args, **kwargs)


def build_demo(
    coach: Coach,
    *,
    evidence_coach: Coach | None = None,
    practice_coach: PracticeCoach | None = None,
    examples_dir: str | Path | None = None,
    max_upload_mb: float = MAX_UPLOAD_MB,
) -> ChatDemo:
    """The chat UI around a coach. evidence_coach (the Lite coach) supplies the measurements and plots;
    practice_coach (the Lite coach too) serves the practice tools (ChatApp says when)."""
    app = ChatApp(coach, evidence_coach, max_upload_mb, practice_coach)
    limit_min = min(c.max_duration_s for c in (coach, evidence_coach) if c is not None) / 60
    example_paths = examples.write_examples(examples_dir or Path(tempfile.gettempdir()) / "llaqo-examples")
    with ChatDemo(title="LLaQo piano coach", delete_cache=(CACHE_S, CACHE_S)) as demo:
        demo.max_upload_mb = max_upload_mb
        gr.Markdown(banner(coach))
        session = gr.State(None, time_to_live=IDLE_S, delete_callback=app.sessions.end)
        with gr.Row():
            with gr.Column(scale=3):
                # A share of the window, so that Stop, Regenerate, Clear and Export stay on a 1366x768 screen.
                chatbot = gr.Chatbot(label="Coach", height="56vh", min_height=300, buttons=["copy"])
                message = gr.MultimodalTextbox(
                    placeholder="Attach or record a performance (and optionally a MIDI/MusicXML score), "
                    "then ask, e.g. “How was my pedalling?”",
                    sources=["upload", "microphone"],
                    file_types=[*AUDIO_TYPES, *SCORE_TYPES],
                    file_count="multiple",
                    show_label=False,
                )
                gr.HTML("", js_on_load=CLOSE_MICROPHONE_JS, padding=False)  # the microphone overlay's close button
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
                practice_controls = practice.build_controls(app.practice, session)
            # The evidence, all visible at once: a plot updated inside a hidden tab is not drawn by Gradio 6.
            with gr.Column(scale=2):
                facts = gr.Markdown(overview(None, coach))
                # A practice session of several passes: which pass the marked score shows (hidden for one run).
                score_pass = gr.Radio([], label="Pass shown on the score", visible=False)
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
            """The answer's updates. The message box is emptied as the answer starts, so the next question can be
            typed; while a new recording is analysed it keeps the message, so that after Stop it can be sent again."""
            session = app.sessions.open(session, request)
            settings = (mode, temperature, max_new_tokens, start_s, use_history, scope, stride_s)
            emptied = False
            for update in app.sessions.until_stopped(
                request, app.respond(message, history, session, *settings, progress)
            ):
                chat = update[0]
                analysing = not isinstance(chat, list) or (chat and chat[-1].get("content") == ANALYSING)
                empty = not emptied and not analysing
                emptied |= empty
                # A new recording's overview: the previous take's bar player and exported files go with it.
                stale = gr.update(value=None, visible=False) if isinstance(update[2], str) else gr.skip()
                yield (*update, gr.MultimodalTextbox(value=None) if empty else gr.skip(), stale, stale)

        # The progress is drawn on the chat alone, not on each of the seven panels the answer updates.
        submitted = message.submit(
            submit,
            [message, chatbot, session, *settings],
            [*outputs, message, bar_player, report_files],
            api_name="chat",
            concurrency_id="coach",
            show_progress_on=chatbot,
        )

        def again(request: gr.Request, history, session, *settings):
            """Regenerate's updates, until Stop. (The request comes first: Gradio passes it in a positional place.)"""
            yield from app.sessions.until_stopped(request, app.regenerate(history, session, *settings))

        regenerated = regenerate.click(
            again,
            [chatbot, session, *settings],
            outputs,
            api_visibility="private",
            concurrency_id="coach",
            show_progress_on=chatbot,
        )
        stop.click(app.sessions.stop, None, None, queue=False, api_visibility="private")
        show_heard = {"fn": lambda s, *scan: timeline(s and s.evidence, *scan), "api_visibility": "private"}
        for event in (submitted, regenerated):
            event.then(inputs=[session, scope, stride_s], outputs=heard, **show_heard)
        for control in (scope, stride_s):
            control.change(inputs=[session, scope, stride_s], outputs=heard, queue=False, **show_heard)
        clear.click(app.clear, session, [*outputs, report_files, bar_player], api_visibility="private").then(
            lambda: (None, practice.NO_REFERENCE),
            None,
            [compare_plot, practice_controls["reference_status"]],
            api_visibility="private",
        )
        submitted.then(app.practice.comparison_plot, session, compare_plot, api_visibility="private")
        practice.wire(app.practice, practice_controls, session, chatbot, outputs, compare_plot, app.open_row)
        export.click(app.export, session, report_files, api_visibility="private")
        score_view.select(app.play_bar, [session, message], [bar_player, session, message], api_visibility="private")
        # Every new marked score (a new take, a class-view row, Clear) offers its passes again.
        score_view.change(app.pass_choice, session, score_pass, api_visibility="private", queue=False)
        score_pass.input(app.show_pass, [session, score_pass], [score_view, session], api_visibility="private")
        gr.api(app.api.ask, api_name="ask", concurrency_id="coach")
        gr.api(app.api.ask_passages, api_name="ask_passages", concurrency_id="coach")
        demo.unload(app.sessions.forget)
    return demo
