"""The phrase tables the question parser reads (llaqo.lite.answers.questions): for each thing a question can
ask (a topic, an intent, a claim, a hand or voice, a named part of the take), the ways of saying it.

Each entry is a regex matched at a word's start, so a word only counts in the phrase that gives it its meaning.
"""

from __future__ import annotations

# fmt: off
NUMBER_WORDS = {w: i for i, w in enumerate((
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
))}
ORDINALS = {w: i + 1 for i, w in enumerate((
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh",
    "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth",
    "twentieth",
))}
# fmt: on
NUM = r"(\d+|" + "|".join(NUMBER_WORDS) + r")"
ORD = r"(\d+(?:st|nd|rd|th)|" + "|".join(ORDINALS) + r")"
BAR = r"(?:bars?|measures?|mm?\.)"
TO = r"\s*(?:-|to|through|thru|until|and)\s*"
CLOCK = r"(\d+:\d\d|\d+(?:\.\d+)?\s*(?:s|sec|secs|seconds)\b)"

# fmt: off
# Topics the analysis measures: each a list of phrases (regexes matched at word starts) that ask about it.
TOPICS: dict[str, tuple[str, ...]] = {
    "tempo": (
        r"tempo", r"speed", r"bpm", r"rush", r"drag", r"accel", r"ritard", r"rit\b", r"rubato", r"pace", r"hurr",
        r"too (?:fast|slow)", r"(?:faster|slower|quicker) than", r"sped up", r"speed(?:ing)? up",
        r"slow(?:ed|ing)? down", r"how fast", r"how slow", r"metronome mark", r"held back", r"hold(?:ing)? back",
        r"push(?:ed|ing)? ahead", r"(?:beat|pulse) (?:is |was )?(?:steady|stable|even)", r"steady (?:beat|pulse)",
        r"how (?:steady|stable)",
        r"keep(?:ing)? the beat",
    ),
    "rhythm": (
        r"rhythm", r"timing", r"in time", r"even(?:ly|ness)?\b", r"uneven", r"pulse", r"beat", r"syncopat",
        r"precise", r"precision", r"dotted", r"triplet", r"on time", r"late\b", r"early", r"groove", r"swing",
    ),
    "dynamics": (
        r"dynamic", r"loud", r"soft", r"quiet", r"volume", r"crescendo", r"cresc", r"decrescendo",
        r"dim(?:inuendo)?\b", r"forte", r"(?<!tempo )contrast", r"swell", r"intensity", r"louder", r"softer",
        r"build(?:s|ing)? up", r"phrasing", r"phrased", r"melodic shaping", r"shap(?:e|ing)", r"accent", r"climax",
        r"weight", r"fade",
    ),
    "articulation": (
        r"articulat", r"legato", r"staccato", r"detached", r"connected", r"smooth(?:ly)? connected", r"touch",
        r"short notes", r"long notes", r"slur", r"phrasing", r"phrased", r"non-?legato", r"crisp", r"separated",
    ),
    "pedal": (
        r"pedal", r"sustain", r"blur", r"damper", r"muddy", r"mud\b", r"smudg", r"resonan", r"clean change",
    ),
    "notes": (
        r"wrong", r"mistake", r"error", r"miss(?:ed|ing)? note", r"note (?:or|and) ", r"correct note", r"right notes",
        r"extra note", r"slip", r"notes? (?:were|was) (?:played|performed)", r"performed notes?", r"played notes?",
        r"all (?:the )?(?:chords and )?notes", r"chord match", r"note (?:accuracy|handling)",
        r"clean(?:ly)? (?:played|playing)", r"fluff", r"split notes?", r"did i miss", r"follow(?:ing)? the score",
        r"score instructions", r"as written", r"played it right",
    ),
    "balance": (
        r"balance", r"voicing", r"voiced", r"voice", r"bring(?:ing)? out", r"come through", r"comes through",
        r"project", r"drown", r"cover(?:s|ed|ing)? the", r"over the (?:left|right|bass|accomp)",
        r"(?:melody|tune|theme|voice|line|hand)\w* (?:stands?|comes?) (?:out|through)", r"melody and accompaniment",
        r"between (?:the )?hands", r"hands? (?:too )?(?:loud|soft|quiet)", r"louder than the", r"softer than the",
        r"quieter than the", r"inner voice", r"top voice", r"sing(?:s|ing)?\b",
    ),
    "chords": (
        r"chords? (?:together|rolled|spread|broken|simultaneous|at once|at the same time)",
        r"(?:together|rolled|spread|arpeggiated)\?", r"rolled", r"(?:hands|notes) together", r"together",
        r"asynchron", r"simultaneous", r"at the same time", r"chord technique",
        r"chords? (?:were|was) (?:played|even)", r"chords? sound", r"ahead of the (?:left|right|other)",
    ),
    "runs": (
        r"runs?\b", r"scales\b", r"scale (?:passage|run)s?", r"passage ?work",
        r"fast (?:passages?|notes|figures|sixteenths|semiquavers)", r"sixteenths", r"semiquavers", r"finger ?work",
        r"arpeggio(?:s)? (?:even|smooth)", r"even runs", r"running notes", r"scalic", r"repeated notes",
    ),
}

# Words that ask about a topic only when the question names no topic: "is it stable?" asks about the tempo,
# "is the dynamic level stable?" about the dynamics; "accurate" asks about the notes, "is the rhythm accurate?" not.
GENERIC: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (
        (
            r"steady", r"stable", r"flow", r"smooth", r"hesitan", r"danceable", r"integrity", r"fluent",
        ),
        ("tempo", "rhythm"),
    ),
    (
        (
            r"accura", r"inaccura", r"correct", r"clean\b", r"mistakes?",
        ),
        ("notes",),
    ),
)

# Topics the measurements cannot answer; named only when asked about.
UNMEASURABLE: dict[str, tuple[str, ...]] = {
    "tone colour": (
        r"tone", r"timbre", r"colou?r", r"sound quality", r"warm", r"bright", r"beautiful sound",
    ),
    "emotional intent": (
        r"emotion", r"mood", r"feeling", r"intent", r"expressi(?:on|ve)", r"character", r"sad", r"happy",
        r"musicality", r"musical\b", r"imagine", r"gentle", r"love", r"singing style", r"dialogu", r"interpret",
    ),
    "composer and style": (
        r"compos(?:er|ed)", r"who wrote", r"stylistic", r"(?<!playing )(?<!singing )style", r"period\b", r"era\b",
        r"baroque", r"romantic", r"classical", r"kind of music", r"which piece", r"what piece", r"piece (?:be|is it)",
    ),
    "difficulty of the piece": (
        r"difficult", r"complexity", r"how hard", r"challeng", r"hard is", r"technique needed",
    ),
    "the technique the piece uses": (
        r"piano technique", r"(?:dominant|prominent|primary) technique", r"technique (?:used|employed|stands|needed)",
    ),
    "skill level of the player": (
        r"skill level", r"student or (?:a )?master", r"master level", r"student or master", r"beginner or",
        r"or (?:an )?advanced", r"professional or", r"level (?:of|is) the (?:player|performer|pianist)",
        r"how experienced", r"level would you say", r"performer is in", r"kind of performance", r"performer's skill",
    ),
}

# Intents, in the order they are tried; the first that matches wins. Patterns say what is asked.
INTENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "priority",
        (
            r"(?:single |one )?most important", r"one thing", r"single thing", r"biggest (?:problem|issue|weakness)",
            r"main (?:problem|issue|thing|weakness)", r"top priority", r"first thing (?:to|i should)",
            r"(?:what|which) (?:one )?(?:thing )?should i (?:fix|focus on) first", r"worst", r"(?:give me|name) one",
            r"weakest", r"weak(?:est)? (?:point|spot|area)",
            r"(?:work on|practi[cs]e|improve|fix|tackle) first",
            r"focus on\b(?! the)", r"if i (?:could|can) (?:only )?(?:fix|change) one",
        ),
    ),
    (
        "plan",
        (
            r"practi[cs]e", r"work on", r"improve", r"exercise", r"next week", r"next step", r"plan", r"routine",
            r"tips?\b", r"advice", r"advise", r"suggest", r"how (?:can|do|should) i (?:get|make|fix)",
            r"how to (?:fix|get|play)",
            r"what (?:else )?should (?:i|the (?:student|performer|pianist)) (?:do|focus|keep|explore)",
            r"what could improve", r"needs? to (?:work|focus)", r"area for improvement",
            r"further (?:explore|improve)", r"should be done", r"get better",
        ),
    ),
    (
        "rate",
        (
            r"\brate\b", r"\brating\b", r"\bgrade\b", r"out of \d+", r"scale (?:of )?\d+", r"on a scale",
            r"\bscore (?:this|it|me|my|the performance|that)\b", r"(?:overall )?score you would (?:assign|give)",
            r"give (?:this|it|me) (?:a )?(?:score|mark|grade|number)",
            r"(?<![\d:])[01]\s*(?:-|to)\s*(?:5|6|10|100)\b", r"/\s*(?:5|6|10|100)\b", r"how many points",
            r"percent(?:age)? score", r"mark (?:it|this|me) out", r"how good",
        ),
    ),
    (
        "compare",
        (
            r"(?:compare|comparison|compared)\b.*\b(?:mark|notat|written|score|indicat)", r"marked tempo",
            r"the marking", r"tempo marking", r"metronome marking",
            r"than (?:the )?(?:marked|notated|written|indicated)",
            r"(?:notated|written|indicated|marked) (?:tempo|dynamics?|speed)", r"score instructions",
            r"follow(?:ing|ed)? the score", r"as (?:written|notated|marked)", r"specified in the piece", r"adherence",
            r"what the score (?:says|asks)",
        ),
    ),
)

# Claims a question asks to confirm or deny ("was I rushing?"), or a choice it asks to make ("which hand had
# more mistakes?"): answered first, with a verdict (llaqo.lite.answers.verdicts). Each names the topic it is about.
CLAIMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("which hand", "notes", (
        r"(?:which|what) hand\b.*\b(?:mistake|error|wrong|slip|miss)",
        r"(?:mistakes|errors|wrong notes)\b.*\bwhich hand",
        r"(?:more|most) (?:mistakes|errors|wrong notes) in (?:the )?(?:left|right) (?:or|than)",
    )),
    ("missed", "notes", (
        r"did i (?:miss|skip|leave out|forget|drop|omit)", r"miss(?:ed)? (?:any|a|some) notes?",
        r"(?:leave|left) (?:out|off) (?:any|a|some)", r"skip(?:ped)? (?:any|a|some) notes?",
        r"any (?:missed|missing|skipped|dropped|forgotten) notes?", r"forg[eo]t (?:any|a) notes?",
        r"notes? (?:i|that i) (?:missed|skipped|left out)",
    )),
    ("worst bar", "priority", (
        r"(?:which|what) (?:bars?|measures?|part|passage|section|spot|place)\b.*\b(?:worst|weakest"
        r"|most (?:mistakes|errors|trouble|problems|work)|needs? (?:the )?most|least (?:secure|steady|good|clean))",
        r"(?:worst|weakest) (?:bar|measure|part|passage|section|spot|place)",
        r"where (?:was|were|is) (?:i|it|my playing) (?:worst|weakest)",
    )),
    ("rushing", "tempo", (
        r"rush", r"push(?:ed|ing)? (?:ahead|forward)", r"hurr", r"sped up", r"speed(?:ing)? up", r"get(?:ting)? faster",
        r"got faster", r"accelerat", r"run(?:ning)? away",
    )),
    ("dragging", "tempo", (
        r"drag", r"slow(?:ed|ing)? down", r"held back", r"hold(?:ing)? back", r"get(?:ting)? slower", r"got slower",
        r"los(?:e|t|ing) (?:the )?(?:tempo|speed|momentum)", r"ritard",
    )),
    ("too fast", "tempo", (
        r"too (?:fast|quick|hasty)", r"faster than (?:it )?should", r"over the speed",
    )),
    ("too slow", "tempo", (
        r"too slow", r"slower than (?:it )?should",
    )),
    ("too loud", "dynamics", (
        r"too (?:loud|heavy|strong|forceful|harsh|much volume)", r"bang(?:ed|ing)?\b", r"(?:loud|heavy) enough to",
    )),
    ("too soft", "dynamics", (
        r"too (?:soft|quiet|weak|timid)", r"hard to hear", r"inaudible", r"could(?:n't| not) hear",
    )),
    # Answered by the verdict alone (VERDICT_ONLY).
    ("stopped", "", (
        r"did i (?:stop|pause|break off|hesitate)", r"(?:stop|stopp?ed|pause[sd]?|break) anywhere",
        r"any (?:stops|pauses|breaks|gaps)", r"(?:where|when) did i (?:stop|pause|break off|hesitate)",
        r"(?:play|get) (?:it )?(?:through|all the way)(?: without stopping)?", r"without stopping",
    )),
    ("second time", "", (
        r"(?:second|next|last|2nd) (?:time|try|attempt|pass)(?: through)? (?:was |go )?(?:any )?"
        r"(?:better|worse|steadier)",
        r"(?:better|worse|steadier|improve[ds]?) (?:on |at )?(?:the )?(?:second|next|last|2nd) "
        r"(?:time|try|attempt|pass)",
        r"(?:compare|comparison of) (?:the |my )?(?:passes|tries|attempts)",
    )),
    ("replay", "", (
        r"^(?:please |now |ok,? )?(?:re)?play (?:me |us )?(?:it|that|this|the|again|back)",
        r"^(?:can|could|would|will) you (?:please )?(?:re)?play", r"replay", r"let me hear (?:it|that|the)",
        r"(?:hear|listen to) (?:that|it|the passage|the bar) again", r"(?:passage|bar|part|place) you (?:mean|meant)",
    )),
)
VERDICT_ONLY = ("stopped", "second time", "replay")
YES_NO = r"(?:did|was|were|am|is|are|do|does|have|has|had|any|could|can|should|would)\b"

PARTS: dict[str, tuple[str, ...]] = {
    "left hand": (
        r"left[- ]hand", r"\blh\b", r"left\b",
    ),
    "right hand": (
        r"right[- ]hand", r"\brh\b", r"right\b(?! notes)(?! hand performance)",
    ),
    "melody": (
        r"melody", r"tune\b", r"theme", r"top voice", r"top line", r"soprano", r"top notes?", r"singing line",
    ),
    "bass": (
        r"bass\b", r"bass line", r"lowest voice", r"bottom",
    ),
    "accompaniment": (
        r"accompan", r"inner voice", r"the chords in the left", r"oom-?pah", r"alberti",
    ),
}
# "right hand performance" still names the right hand; "right notes" does not
PART_EXTRA = {"right hand": (r"right hand performance",)}

# Named parts of the take -> a Scope.part name; resolved against the bars or duration in llaqo.lite.answers.scope
SECTIONS: tuple[tuple[str, str], ...] = (
    (r"(?:first|second) half", "{0}"),
    (r"(?:the )?last phrase|final phrase|closing phrase", "last phrase"),
    (r"(?:the )?first phrase|opening phrase", "first phrase"),
    (r"opening|beginning|\bstart\b|intro(?:duction)?\b", "opening"),
    (r"middle section|the middle\b|in the middle", "middle"),
    (r"(?:the |an? )?ending|the end\b|towards? the end|final bars|final (?:chord|cadence)|\bcoda\b|finish", "end"),
)
# fmt: on


BACK_REFERENCE = (  # "and the dynamics there?": the previous question's part of the take
    r"\b(?<!is )(?<!are )(?<!was )(?<!were )(?:there|then|that (?:bar|passage|part|section|place|spot|phrase)"
    r"|those (?:bars|notes)|same (?:bars?|place|passage|part))\b"
)
FOLLOW_UP = r"(?:and|what about|how about|same|also|now)\b"  # "and the left hand?", "what about bars 9-12?"
