"""A way out of the microphone: Gradio 6's recording overlay covers the message box, its own microphone button
included, so once opened it closed only by recording something. This script gives every overlay a close
button (and Escape) that toggles the microphone off as that button would."""

from __future__ import annotations

CLOSE_LABEL = "Close the microphone"

CLOSE_MICROPHONE_JS = f"""
const close = (overlay) => {{
    const box = overlay.closest('.multimodal-textbox') || overlay.parentElement.parentElement;
    const toggle = box && box.querySelector('[data-testid=microphone-button]');
    if (toggle) toggle.click();  // the microphone button, under the overlay: clicked, it turns the microphone off
}};
const equip = () => document.querySelectorAll('.recording-overlay').forEach((overlay) => {{
    if (overlay.querySelector('.llaqo-close-microphone')) return;
    const button = document.createElement('button');
    button.className = 'llaqo-close-microphone';
    button.type = 'button';
    button.textContent = '×';
    button.title = button.ariaLabel = '{CLOSE_LABEL}';
    button.style.cssText = 'position:absolute;top:4px;right:8px;font-size:1.4em;line-height:1;z-index:10;' +
        'background:none;border:none;cursor:pointer';
    button.addEventListener('click', (event) => {{ event.stopPropagation(); close(overlay); }});
    overlay.style.position = overlay.style.position || 'relative';
    overlay.appendChild(button);
}});
new MutationObserver(equip).observe(document.body, {{childList: true, subtree: true}});
document.addEventListener('keydown', (event) => {{
    if (event.key === 'Escape') document.querySelectorAll('.recording-overlay').forEach(close);
}});
"""
"""Runs once in the browser (an empty HTML component's js_on_load), for every overlay the page opens later."""
