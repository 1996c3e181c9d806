"""The score engraved with the performance marked on it: an Analysis made with a score -> the score's SVG pages
(verovio).

Wrong notes are coloured and labelled with the pitch that was played, missed notes get another colour, extra
notes a mark at their place; bars where the tempo departed from the median are shaded, bars where the pedal
blurred the harmony are underlined; every bar is numbered. Only the bars the recording plays are engraved,
page by page at a readable size (a long score gets more pages, never smaller notes).

An event of the analysis (a bar, a time, a pitch) is placed on the engraved note of that pitch in that bar nearest
its time; the analysis (partitura) and the engraving (verovio) read the same MusicXML, so they agree on bars
and onsets (a MIDI score is converted to MusicXML by partitura first).
"""

from __future__ import annotations

import logging
import re
import tempfile
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np

from llaqo.lite.alignment import score as scores
from llaqo.lite.alignment.score_report import NoteEvent
from llaqo.lite.analysis import Analysis
from llaqo.lite.config import LITE
from llaqo.lite.measures import key as keys

log = logging.getLogger(__name__)

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)

COLOURS = {"wrong": "#d62728", "missed": "#ff7f0e", "extra": "#9467bd", "tempo": "#ffe08a", "pedal": "#6baed6"}
"""Marks: the piano roll's error colours (plots.ERROR_COLOURS), a yellow wash for tempo, a blue line for pedal."""


@dataclass(frozen=True)
class EngraveConfig:
    """How the pages are laid out (verovio units: a staff space is 180 units at scale 100)."""

    scale: int = 35
    """Percent; 35 gives staves about as large as a printed score on a laptop screen."""
    page_width: int = 1400
    """Verovio units before scaling: 1400 at 35% is a 490 px wide page, the width of the app's evidence panel."""
    label_size: int = 300
    """Font size of the played-pitch labels, in the page's units (a staff space is 180)."""
    margin_top: int = 150
    """Room above the first staff for the played-pitch labels and high ledger-line notes (verovio's is 50)."""


@dataclass
class Notation:
    """The engraved pages and what was marked on them (element ids of the marked notes, bar numbers)."""

    pages: list[str]
    """SVG documents, one per page, in order."""
    marked: dict[str, list[str]] = field(default_factory=dict)
    """"wrong" / "missed" -> verovio note ids; "extra" -> mark ids."""
    bars: dict[str, list[int]] = field(default_factory=dict)
    """"tempo" / "pedal" -> highlighted bar numbers."""
    unplaced: int = 0
    """Score events whose note could not be found in the engraving (logged; the piano roll still shows them)."""


def musicxml(notated: scores.Score, key: keys.Key | None = None) -> str:
    """A loaded score -> MusicXML text: a MusicXML file's own text, anything else partitura read (MIDI, .mxl, MEI)
    converted by it. A converted score without a key signature (a MIDI file without one) gets `key`'s, its notes
    spelled in it. Raises ScoreError naming the file."""
    if notated.musicxml is not None:
        return notated.musicxml
    import partitura

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # partitura warns about every inferred voice and part
            if key is not None:
                _sign(notated.parsed, key)
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "score.musicxml"
                partitura.save_musicxml(notated.parsed, out)
                return out.read_text(encoding="utf-8")
    except Exception as err:
        raise scores.ScoreError(f"{notated.name}: cannot be converted to notation ({type(err).__name__})") from err


def _sign(parsed, key: keys.Key) -> None:
    """Give a partitura score's parts without a key signature `key`'s, and spell their notes in it (in place)."""
    import partitura

    for part in parsed.parts:
        if next(part.iter_all(partitura.score.KeySignature), None) is not None:
            continue
        part.add(partitura.score.KeySignature(key.fifths, "minor" if key.minor else "major"), start=part.first_point.t)
        for note in part.notes:
            name = keys.spell(note.midi_pitch, key)
            note.step, note.octave = name[0], int(name.lstrip("ABCDEFG#b"))
            note.alter = name.count("#") - name.count("b") or None


def engrave(a: Analysis, config: EngraveConfig = EngraveConfig(), pass_number: int | None = None) -> Notation:
    """Engrave the performed bars of the score a was measured against, with a's score report marked on them;
    with pass_number (from 1), that pass of a practice session alone: its bars, its notes, its bars' tempi.
    Raises ScoreError."""
    import verovio

    if a.score is None or a.notated is None:
        raise ValueError("engrave() needs an Analysis made with a score: pass the score to analyze()")
    if pass_number is not None:
        if not 1 <= pass_number <= len(a.score.passes):
            raise ValueError(f"pass {pass_number}: the take has {len(a.score.passes)} passes")
        a = replace(a, score=a.score.passes[pass_number - 1].report)
    verovio.enableLog(False)
    # verovio keeps its default resource (font) path per thread and sets it only in the importing one; the
    # app engraves in Gradio's worker threads, where the toolkit would otherwise find no fonts.
    verovio.setDefaultResourcePath(str(resources.files("verovio") / "data"))
    tk = verovio.toolkit()
    tk.setOptions(
        {
            "scale": config.scale,
            "pageWidth": config.page_width,
            "adjustPageHeight": True,
            "pageMarginTop": config.margin_top,
            "header": "none",
            "footer": "none",
            "mnumInterval": 1,
            "breaks": "auto",
        }
    )
    if not tk.loadData(musicxml(a.notated, a.key)):
        raise scores.ScoreError(f"{a.notated.name}: verovio cannot engrave this score")
    notes, measures = _verovio_notes(tk)
    first, last = a.score.performed_bars
    positions = [i + 1 for i, n in enumerate(measures.values()) if n is not None and first <= n <= last]
    if positions and len(positions) < len(measures):
        tk.select({"measureRange": f"{positions[0]}-{positions[-1]}"})
        tk.redoLayout()

    marks, unplaced = _note_marks(notes, a)
    extras = _extra_marks(notes, a)
    highlighted = highlighted_bars(a)
    pages = [
        _mark_page(tk.renderToSVG(page), marks, extras, highlighted, measures, config, a.key)
        for page in range(1, tk.getPageCount() + 1)
    ]
    if unplaced:
        log.info("%d score events could not be placed in the engraving", unplaced)
    return Notation(
        pages=pages,
        marked={
            "wrong": [i for i, (kind, _) in marks.items() if kind == "wrong"],
            "missed": [i for i, (kind, _) in marks.items() if kind == "missed"],
            "extra": [f"llaqo-extra-{k}" for k in range(len(extras))],
        },
        bars={k: sorted(v) for k, v in highlighted.items()},
        unplaced=unplaced,
    )


def highlighted_bars(a: Analysis) -> dict[str, set[int]]:
    """{"tempo": bars LITE.tempo_departure or more off the median bar tempo, "pedal": bars holding a blurred change}."""
    views = a.score.bars if a.score is not None else []
    bpms = np.array([b.bpm for b in views if b.bpm is not None])
    median = float(np.median(bpms)) if len(bpms) else 0.0
    tempo = {b.bar for b in views if b.bpm is not None and median and abs(b.bpm / median - 1) >= LITE.tempo_departure}
    pedal = {b.bar for b in views for t in a.pedal.blurred_s if b.start_s <= t < b.end_s}
    return {"tempo": tempo, "pedal": pedal}


@dataclass(frozen=True)
class Engraved:
    """The notes verovio engraved, in score order. onset_q: (n,) quarters from the start; pitch, bar: (n,) int;
    end_q: where the last note ends, in quarters."""

    ids: list[str]
    onset_q: np.ndarray
    pitch: np.ndarray
    bar: np.ndarray
    end_q: float


def _verovio_notes(tk) -> tuple[Engraved, dict[str, int | None]]:
    """-> (every engraved note's id, onset, pitch and bar; {measure id: bar number, in score order}).

    The same onsets and bar numbers partitura gives the analysis: both read the same MusicXML."""
    ids, onsets, pitches, bars = [], [], [], []
    measures: dict[str, int | None] = {}
    bar, end_q = None, 0.0
    for event in tk.renderToTimemap({"includeMeasures": True}):
        end_q = max(end_q, float(event["qstamp"]))
        if "measureOn" in event:
            n = tk.getElementAttr(event["measureOn"]).get("n", "")
            bar = int(n) if n.lstrip("-").isdigit() else None
            measures[event["measureOn"]] = bar
        for note in event.get("on", []):
            pitch = tk.getMIDIValuesForElement(note).get("pitch")
            if pitch is not None and bar is not None:
                ids.append(note)
                onsets.append(float(event["qstamp"]))
                pitches.append(int(pitch))
                bars.append(bar)
    engraved = Engraved(ids, np.array(onsets), np.array(pitches, dtype=int), np.array(bars, dtype=int), end_q)
    return engraved, measures


def _quarter_of(notes: Engraved, a: Analysis, event: NoteEvent) -> float | None:
    """Where in the score an event happened, in quarters: its time placed linearly inside its bar, which runs
    from the bar's first notated onset to the next bar's (as the analysis times bars)."""
    view = next((b for b in a.score.bars if b.bar == event.bar), None)
    in_bar = notes.bar == event.bar
    if view is None or not in_bar.any():
        return None
    later = notes.onset_q[notes.bar > event.bar]
    q0, q1 = float(notes.onset_q[in_bar].min()), float(later.min()) if len(later) else notes.end_q
    share = (event.time_s - view.start_s) / max(view.end_s - view.start_s, 1e-6)
    return q0 + float(np.clip(share, 0.0, 1.0)) * (q1 - q0)


def _note_marks(notes: Engraved, a: Analysis) -> tuple[dict[str, tuple[str, NoteEvent]], int]:
    """Wrong and missed events -> {verovio note id: (kind, event)}: the note of the written pitch in the event's
    bar nearest its place; and how many events found no such note."""
    marks, unplaced = {}, 0
    for kind, events in (("wrong", a.score.wrong), ("missed", a.score.missed)):
        for event in events:
            written = event.notated_pitch if kind == "wrong" else event.pitch
            where = _quarter_of(notes, a, event)
            candidates = np.flatnonzero((notes.bar == event.bar) & (notes.pitch == written))
            if where is None or not len(candidates):
                unplaced += 1
                continue
            marks[notes.ids[candidates[np.argmin(np.abs(notes.onset_q[candidates] - where))]]] = (kind, event)
    return marks, unplaced


def _extra_marks(notes: Engraved, a: Analysis) -> list[tuple[str, NoteEvent]]:
    """Extra notes -> [(id of the engraved note nearest their place, event)]: the mark is drawn above that note."""
    out = []
    for event in a.score.extra:
        where = _quarter_of(notes, a, event)
        if where is not None:
            out.append((notes.ids[int(np.argmin(np.abs(notes.onset_q - where)))], event))
    return out


TRANSLATE = re.compile(r"translate\(\s*([-\d.]+)[,\s]+([-\d.]+)\s*\)")


def _notehead_xy(note: ET.Element) -> tuple[float, float] | None:
    for use in note.iter(f"{{{SVG_NS}}}use"):
        found = TRANSLATE.search(use.get("transform", ""))
        if found:
            return float(found.group(1)), float(found.group(2))
    return None


def _staff_lines(staff: ET.Element) -> tuple[float, float, float, float] | None:
    """A staff's five lines -> (x0, x1, top y, bottom y) in page units."""
    points = []
    for path in staff.findall(f"{{{SVG_NS}}}path"):
        numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", path.get("d", ""))]
        if len(numbers) == 4 and numbers[1] == numbers[3]:
            points.append(numbers)
    if not points:
        return None
    xs = [p[0] for p in points] + [p[2] for p in points]
    ys = [p[1] for p in points]
    return min(xs), max(xs), min(ys), max(ys)


def _classes(element: ET.Element) -> list[str]:
    return element.get("class", "").split()


def _mark_page(
    svg: str,
    marks: dict[str, tuple[str, NoteEvent]],
    extras: list[tuple[str, NoteEvent]],
    highlighted: dict[str, set[int]],
    measures: dict[str, int | None],
    config: EngraveConfig,
    key: keys.Key | None,
) -> str:
    """One verovio SVG page -> the same page with the marks drawn in (classes llaqo-wrong, llaqo-missed,
    llaqo-extra, llaqo-tempo, llaqo-pedal, each with a <title> saying what was measured)."""
    root = ET.fromstring(svg)
    extra_at: dict[str, list[int]] = {}
    for k, (note, _) in enumerate(extras):
        extra_at.setdefault(note, []).append(k)
    size = config.label_size
    for measure in root.iter(f"{{{SVG_NS}}}g"):
        if "measure" not in _classes(measure):
            continue
        bar = measures.get(measure.get("id", ""))
        if bar is not None:
            measure.set("data-llaqo-bar", str(bar))  # the app plays the bar a click lands in
        staves = [(s, _staff_lines(s)) for s in measure.findall(f"{{{SVG_NS}}}g") if "staff" in _classes(s)]
        staves = [(s, box) for s, box in staves if box is not None]
        if not staves:
            continue
        x0 = min(b[0] for _, b in staves)
        x1 = max(b[1] for _, b in staves)
        top = min(b[2] for _, b in staves)
        bottom = max(b[3] for _, b in staves)
        if bar is not None:  # an invisible box over the bar, so a click between the staff lines lands in it
            hit = _element("rect", x0, top - 90, width=x1 - x0, height=bottom - top + 180)
            hit.set("fill-opacity", "0")
            hit.set("pointer-events", "all")
            hit.set("class", "llaqo-bar-hit")
            measure.insert(0, hit)
        if bar in highlighted["tempo"]:
            rect = _element("rect", x0, top - 90, width=x1 - x0, height=bottom - top + 180)
            rect.set("fill", COLOURS["tempo"])
            rect.set("fill-opacity", "0.6")
            rect.set("class", "llaqo-tempo")
            _title(rect, f"bar {bar}: the tempo departed from the median")
            measure.insert(0, rect)
        if bar in highlighted["pedal"]:
            line = _element("rect", x0, bottom + 120, width=x1 - x0, height=60)
            line.set("fill", COLOURS["pedal"])
            line.set("class", "llaqo-pedal")
            _title(line, f"bar {bar}: the pedal blurred a harmony change")
            measure.append(line)
        for staff, (_, _, staff_top, _) in staves:
            for note in staff.iter(f"{{{SVG_NS}}}g"):
                note_id = note.get("id", "")
                if "note" not in _classes(note) or (note_id not in marks and note_id not in extra_at):
                    continue
                xy = _notehead_xy(note)
                if note_id in marks:
                    kind, event = marks[note_id]
                    _colour(note, kind)
                    if kind == "wrong":
                        _title(
                            note,
                            f"bar {bar}: {keys.spell(event.pitch, key)} played, "
                            f"{keys.spell(event.notated_pitch, key)} written",
                        )
                        if xy is not None:
                            above = min(staff_top, xy[1] - 360) - 120  # above the staff, or a high note's head
                            label = _text(keys.spell(event.pitch, key), xy[0], above, size, COLOURS["wrong"])
                            label.set("class", "llaqo-played")
                            measure.append(label)
                    else:
                        _title(note, f"bar {bar}: the written {keys.spell(event.pitch, key)} was not heard")
                for k in extra_at.get(note_id, []):
                    event = extras[k][1]
                    if xy is None:
                        continue
                    mark = _text(
                        f"+{keys.spell(event.pitch, key)}", xy[0] + 200, staff_top - 120 - size, size, COLOURS["extra"]
                    )
                    mark.set("class", "llaqo-extra")
                    mark.set("id", f"llaqo-extra-{k}")
                    _title(mark, f"bar {bar}: an extra {keys.spell(event.pitch, key)} was played here")
                    measure.append(mark)
    return ET.tostring(root, encoding="unicode")


def _element(tag: str, x: float, y: float, **size: float) -> ET.Element:
    element = ET.Element(f"{{{SVG_NS}}}{tag}", {"x": f"{x:.0f}", "y": f"{y:.0f}"})
    for key, value in size.items():
        element.set(key, f"{value:.0f}")
    return element


def _text(text: str, x: float, y: float, size: int, colour: str) -> ET.Element:
    element = _element("text", x, y)
    element.set("font-size", str(size))
    element.set("font-family", "sans-serif")
    element.set("fill", colour)
    element.text = text
    return element


def _title(element: ET.Element, text: str) -> None:
    ET.SubElement(element, f"{{{SVG_NS}}}title").text = text


def _colour(note: ET.Element, kind: str) -> None:
    note.set("class", f"{note.get('class', '')} llaqo-{kind}".strip())
    for attribute in ("fill", "stroke", "color"):
        note.set(attribute, COLOURS[kind])


def write_pages(notation: Notation, folder: str | Path, stem: str) -> list[Path]:
    """Write the pages as stem-score-1.svg, stem-score-2.svg, ... -> their paths. Pages an earlier, longer
    rendering left in the folder are removed, so the folder holds this score only."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(f"{stem}-score-*.svg"):
        stale.unlink()
    paths = [folder / f"{stem}-score-{i}.svg" for i in range(1, len(notation.pages) + 1)]
    for path, page in zip(paths, notation.pages, strict=True):
        path.write_text(page, encoding="utf-8")
    return paths
