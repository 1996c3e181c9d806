"""The chat's HTTP API (gr.api endpoints "ask" and "ask_passages"): a recording and a question in, the answer
out, with no session. A file sent again is recognised by its content and not analysed twice.
"""

from __future__ import annotations

from collections.abc import Iterator

from gradio.data_classes import FileData

from llaqo import report
from llaqo.app.sessions import oversized
from llaqo.app.views import SCOPES
from llaqo.audio import AudioError
from llaqo.checkpoint import CheckpointError
from llaqo.decoding import PromptTooLong
from llaqo.lite.alignment.score import ScoreError
from llaqo.protocol import Coach, Settings
from llaqo.vllm_engine import VllmError

OVERALL_QUESTION = "How would you rate the performance, and what should the student practise?"
USER_ERRORS = (AudioError, ScoreError, CheckpointError, PromptTooLong, VllmError)
"""The coaches' errors that are the user's to fix: shown as a one-line problem, never logged as a failure."""


class Api:
    """The endpoints, over the chat's coach."""

    def __init__(self, coach: Coach, max_upload_mb: float):
        self.coach = coach
        self.max_upload_mb = max_upload_mb

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
            answer = self.coach.answer(clip, question.strip() or OVERALL_QUESTION)
            text = "".join(answer)
        except USER_ERRORS as err:
            return {"answer": f"**Problem:** {err}", "passages": []}
        return {"answer": text, "passages": [report.passage_json(p) for p in answer.passages]}
