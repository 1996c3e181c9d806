"""The chat app: build_demo(coach) -> gr.Blocks. Gradio only translates between the UI and a Coach.

Per-session state only: each browser tab has its own Session (current recording, turns, report), and the
recordings it uploaded are deleted when the tab closes (PRIVACY in llaqo.app.sessions says exactly when).

    layout      build_demo: the Blocks and their wiring
    handlers    ChatApp: upload, answer, regenerate, clear, export
    api         the HTTP API (ask, ask_passages): a recording and a question in, the answer out
    views       what the panels show (overview, heard window, banner)
    practice    the reference, history and class-view controls
    score_view  the marked score's pages as HTML
    microphone  the microphone overlay's close button (a script run in the browser)
    sessions    a tab's Session, its folder and when it is deleted
"""

from llaqo.app.handlers import ChatApp
from llaqo.app.layout import build_demo
from llaqo.app.sessions import Session

__all__ = ["ChatApp", "Session", "build_demo"]
