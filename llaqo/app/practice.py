"""The app's practice tools: compare with a reference, the local progress history, and the class view.

build_controls() adds their controls to the page built by llaqo.app.build_demo; the handlers only
translate between the UI and a PracticeCoach (llaqo.protocol: the Lite coach), the practice history
(llaqo.lite.practice.history) and the class view (llaqo.lite.practice.classview).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import gradio as gr

from llaqo.app.sessions import Session, Sessions
from llaqo.lite.practice import classview, progress
from llaqo.lite.practice.history import History, HistoryError, UnsurePiece, default_path
from llaqo.protocol import Answer, PracticeCoach

log = logging.getLogger(__name__)
NO_REFERENCE = (
    "Mark a recording (your teacher's, or a professional one) as the reference, then upload your take and ask how "
    "it differs."
)
UNSET_REFERENCE = (
    "No reference is set, so I cannot compare: open **Compare with a reference**, press “Use the current recording "
    "as the reference” on the recording to compare with, then upload your take and ask again."
)

PROGRESS = gr.Progress()  # Gradio injects a live tracker for a parameter whose default is a Progress
HISTORY_COLUMNS = ["id", "date", "take", "tempo (BPM)", "accuracy (%)", "evenness (ms)", "range (dB)", "pedal (%)"]


class Practice:
    """Handlers for the reference, the history and the class view, over the tabs' sessions.

    coach: the chat's coach when it is a PracticeCoach (the Lite coach), else None: comparisons and progress
    are then not answered, and takes are not saved.
    """

    def __init__(self, sessions: Sessions, coach: PracticeCoach | None):
        self.sessions = sessions
        self.coach = coach

    # -- the chat: comparison and progress questions ------------------------------------------------------

    def route(self, session: Session, question: str) -> Answer | None:
        """A stream answering a comparison (with a reference) or progress question (with saved takes), or None
        when the question is for the coach."""
        if self.coach is None or session.clip is None:
            return None
        previous = session.turns[-1].question if session.turns else None
        if self.coach.asks_comparison(question, previous):
            if session.reference is None:  # never a plain answer that reads as a comparison
                return Answer([UNSET_REFERENCE])
            return self.coach.answer(session.clip, question, session.turns, reference=session.reference)
        if self.coach.asks_progress(question) and default_path().exists():
            store = History()
            piece = store.piece_of(_audio_hash(session))
            if piece is None:
                return Answer(
                    [
                        "This take is not in your practice history yet: tick “Save my takes” under Practice "
                        "history (or press “Save this take”), then ask again after a later take."
                    ]
                )
            return self.coach.answer(session.clip, question, session.turns, takes=store.takes(piece))
        return None

    def after_load(self, session: Session) -> str | None:
        """Save a newly analysed take when the session opted in -> a note for the chat, or None."""
        if not session.save_history or self.coach is None:
            return None
        return self.save(session, "")[0]

    # -- reference ---------------------------------------------------------------------------------------

    def mark_reference(self, session: Session):
        """ "Use as reference": the current recording becomes the one later takes are compared with."""
        if self.coach is None:
            gr.Warning("Comparisons come from the Lite coach: start the app with --backend lite.")
            return gr.skip(), session
        if session is None or session.clip is None:
            gr.Warning("Upload a recording first; then mark it as the reference.")
            return gr.skip(), session
        session.reference = session.clip
        status = (
            f"**Reference:** {session.clip.facts.name}. Upload your take (with the same score, if any) and ask, "
            "e.g. “Where was I slower than the reference?”"
        )
        return status, session

    def comparison_plot(self, session: Session):
        """The overlay of the current take and the reference (after each chat turn), when both are there; the
        reference against itself too, its curves lying on each other."""
        if session is None or session.reference is None or session.clip is None or self.coach is None:
            return gr.skip()
        try:
            return self.coach.comparison_figure(session.clip, session.reference)
        except Exception:
            log.exception("comparing with the reference failed")
            return None

    # -- history -----------------------------------------------------------------------------------------

    def set_saving(self, on: bool, session: Session | None, request: gr.Request):
        session = self.sessions.open(session, request)
        session.save_history = bool(on)
        return session

    def save(self, session: Session | None, piece: str) -> tuple[str, Session | None]:
        """Save the current take to the history -> (status, session)."""
        if session is None or session.clip is None or self.coach is None:
            return "Upload a recording first.", session
        try:
            take = self.coach.save_take(History(), session.clip, piece.strip() or None)
        except UnsurePiece as err:
            return (
                f"I am not sure this is a take of **{err.candidate}**. Type the piece's name under Practice "
                "history › Piece and press “Save this take”.",
                session,
            )
        except (HistoryError, OSError) as err:
            return f"**Problem:** could not save to the history: {err}", session
        return f"Saved to your practice history as take {take.id} of **{take.piece}**.", session

    def show_history(self, session: Session | None):
        """-> (table rows of the current piece, or of all takes, the trend plot, status)."""
        if not default_path().exists():
            return [], None, "The history is empty."
        store = History()
        piece = store.piece_of(_audio_hash(session)) if session is not None and session.clip else None
        takes = store.takes(piece)
        rows = [
            [
                t.id,
                f"{t.recorded_at:%Y-%m-%d %H:%M}",
                t.headline.name,
                round(t.headline.tempo_bpm, 1),
                None if t.headline.accuracy_pct is None else round(t.headline.accuracy_pct, 1),
                round(t.headline.evenness_ms, 1),
                round(t.headline.range_db, 1),
                round(t.headline.pedal_pct, 1),
            ]
            for t in takes
        ]
        trend = progress.trend_figure(takes) if piece and takes else None
        status = f"{len(takes)} take(s) of **{piece}**." if piece else f"{len(takes)} take(s) of all pieces."
        return rows, trend, status

    def export_history(self, fmt: str, session: Session | None, request: gr.Request):
        session = self.sessions.open(session, request)
        if not default_path().exists():
            gr.Warning("The history is empty.")
            return gr.skip(), session
        out = session.folder / f"llaqo-history.{fmt}"
        out.write_text(History().export(fmt))
        return gr.update(value=str(out), visible=True), session

    def delete_history(self, session: Session | None):
        """Delete the current piece's takes, or everything when no saved piece is open."""
        if not default_path().exists():
            return [], None, "The history is empty."
        store = History()
        piece = store.piece_of(_audio_hash(session)) if session is not None and session.clip else None
        n = store.delete(piece=piece)
        return [], None, f"Deleted {n} take(s){f' of **{piece}**' if piece else ''} from the history."

    # -- class view --------------------------------------------------------------------------------------

    def analyse_class(
        self, files: list | None, score, session: Session | None, request: gr.Request, progress_bar=PROGRESS
    ):
        """Several takes of one piece -> (table, CSV file, session)."""
        session = self.sessions.open(session, request)
        paths = [Path(f) for f in files or [] if Path(f).suffix.lower() in classview.AUDIO_SUFFIXES]
        if not paths:
            gr.Warning("Add the takes (audio files) to analyse.")
            return gr.skip(), gr.skip(), session
        folder = session.folder / "class"
        folder.mkdir(exist_ok=True)
        kept = []
        for path in paths:
            kept.append(folder / path.name)
            shutil.copy(path, kept[-1])
        score_path = None
        if score:
            score_path = folder / Path(score).name
            shutil.copy(score, score_path)
        session.class_score = score_path

        def done(n: int, total: int) -> None:
            progress_bar(n / total, desc=f"Analysed {n} of {total} takes")

        progress_bar(0, desc=f"Analysing {len(kept)} takes…")
        rows = classview.analyse_takes(kept, score_path, on_done=done)
        out = session.folder / "class-view.csv"
        out.write_text(classview.to_csv(rows))
        return [row.cells() for row in rows], gr.update(value=str(out), visible=True), session


def _audio_hash(session: Session | None) -> str:
    """The current recording's content hash (the history keys takes by it), or "" without one."""
    return (session.recording or "") if session is not None and session.clip is not None else ""


def build_controls(practice: Practice, session: gr.State) -> dict:
    """The Practice accordions (reference, history, class view), to be placed in the chat's column.
    -> the components build_demo wires to the chat."""
    c: dict = {}
    with gr.Accordion("Compare with a reference", open=True, elem_id="reference-panel"):
        c["reference_status"] = gr.Markdown(NO_REFERENCE)
        c["mark_reference"] = gr.Button(
            "Use the current recording as the reference", size="sm", elem_id="mark-reference"
        )
    with gr.Accordion("Practice history (stored on this computer only)", open=False, elem_id="history-panel"):
        c["save_history"] = gr.Checkbox(
            False, label="Save my analysed takes (their measurements, never the audio)", elem_id="save-history"
        )
        c["piece"] = gr.Textbox(label="Piece", placeholder="optional: the piece's name")
        with gr.Row():
            c["save_take"] = gr.Button("Save this take", size="sm")
            c["show_history"] = gr.Button("Show history", size="sm")
            c["export_csv"] = gr.Button("Export CSV", size="sm")
            c["export_json"] = gr.Button("Export JSON", size="sm")
            c["delete_history"] = gr.Button("Delete", size="sm", variant="stop")
        c["history_status"] = gr.Markdown()
        # Wrapped cells: the eight columns fit the panel's width at 1366 px instead of scrolling out of sight.
        c["history_table"] = gr.Dataframe(
            headers=HISTORY_COLUMNS, interactive=False, label="Saved takes", elem_id="history-table", wrap=True
        )
        c["trend_plot"] = gr.Plot(label="Progress", elem_id="trend-plot")
        c["history_file"] = gr.File(label="History export", visible=False)
    with gr.Accordion("Class view: many takes of one piece", open=False, elem_id="class-panel"):
        c["class_files"] = gr.File(
            label="Takes", file_count="multiple", file_types=list(classview.AUDIO_SUFFIXES), elem_id="class-files"
        )
        c["class_score"] = gr.File(
            label="Score (optional)", file_types=[".mid", ".midi", ".musicxml", ".xml", ".mxl"], elem_id="class-score"
        )
        c["analyse_class"] = gr.Button("Analyse the takes", size="sm")
        c["class_table"] = gr.Dataframe(
            headers=list(classview.COLUMNS),
            interactive=False,
            label="Class view (click a row to open it in the chat)",
            elem_id="class-table",
        )
        c["class_csv"] = gr.File(label="Class view CSV", visible=False)
    return c


def wire(practice: Practice, c: dict, session: gr.State, chatbot, chat_outputs: list, compare_plot, open_row) -> None:
    """Connect the Practice controls' events; open_row(event, history, session) opens a class-view row's take
    in the chat (ChatApp.open_row)."""
    private = {"api_visibility": "private"}
    c["mark_reference"].click(practice.mark_reference, session, [c["reference_status"], session], **private).then(
        practice.comparison_plot, session, compare_plot, **private
    )
    c["save_history"].change(practice.set_saving, [c["save_history"], session], session, **private)
    c["save_take"].click(practice.save, [session, c["piece"]], [c["history_status"], session], **private)
    history_view = [c["history_table"], c["trend_plot"], c["history_status"]]
    c["show_history"].click(practice.show_history, session, history_view, **private)
    for fmt in ("csv", "json"):
        c[f"export_{fmt}"].click(
            lambda s, fmt=fmt: practice.export_history(fmt, s), session, [c["history_file"], session], **private
        )
    c["delete_history"].click(practice.delete_history, session, history_view, **private)
    c["analyse_class"].click(
        practice.analyse_class,
        [c["class_files"], c["class_score"], session],
        [c["class_table"], c["class_csv"], session],
        concurrency_id="coach",
        **private,
    )
    c["class_table"].select(open_row, [chatbot, session], chat_outputs, concurrency_id="coach", **private)
