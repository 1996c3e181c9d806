"""The marked score as HTML for the app's evidence panel: SVG pages in a scrolling box, and the browser-side
script that turns a click on a bar into a select event. Plain strings; the app hands them to gr.HTML."""

from __future__ import annotations

import re

from llaqo.lite.evidence.notation import COLOURS

MIN_PAGE_PX = 400  # a page fits the panel's width, but never narrower than this: below, the panel scrolls


def _fit_width(page: str) -> str:
    """An SVG page drawn at the panel's width (at least MIN_PAGE_PX), its proportions kept."""
    head, rest = page.split(">", 1)
    width, height = re.search(r'width="([\d.]+)px"', head), re.search(r'height="([\d.]+)px"', head)
    if width is None or height is None:
        return page
    head = head.replace(width.group(0), f'viewBox="0 0 {width.group(1)} {height.group(1)}"')
    head = head.replace(height.group(0), f'style="width:100%;min-width:{MIN_PAGE_PX}px;height:auto"')
    return f"{head}>{rest}"


SCORE_CLICK_JS = """
element.addEventListener('click', (event) => {
    const bar = event.target.closest('[data-llaqo-bar]');
    if (bar) trigger('select', {index: Number(bar.dataset.llaqoBar), value: Number(bar.dataset.llaqoBar)});
});
"""
"""Runs in the browser: a click inside a bar of the marked score sends a select event with its number."""


def score_panel(pages: list[str]) -> str:
    """The marked score's SVG pages stacked in a scrolling box (a long score scrolls; it is never shrunk)."""
    if not pages:
        return "<p>Attach a score (MusicXML or MIDI) with the recording to see it here with your mistakes marked.</p>"
    legend = " · ".join(
        f'<span style="color:{COLOURS[k]}">■</span> {text}'
        for k, text in (
            ("wrong", "wrong note (played pitch above)"),
            ("missed", "missed note"),
            ("extra", "extra note"),
            ("tempo", "tempo departed"),
            ("pedal", "pedal blurred"),
        )
    )
    body = "".join(f'<div class="llaqo-page" style="cursor:pointer">{_fit_width(page)}</div>' for page in pages)
    return (
        f'<div class="llaqo-score-legend" style="font-size:0.85em">{legend} · click a bar to hear it</div>'
        f'<div class="llaqo-score" style="max-height:480px;overflow:auto;background:white">{body}</div>'
    )
