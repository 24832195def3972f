"""Reading answers out of model text: where a reply states an answer, and what is left without it.

A *statement* is a span of the reply that gives an answer: an opening "Yes," or "**No.**", an
"Answer: X" line, "the (final) answer is X", a conclusion ("so yes", "therefore (C)", "I'll go
with B"), "I meant yes". Negated statements ("I would not say the answer is yes") state nothing.
Parsing never guesses: text that states no answer is `None` (recorded as unparsed).

Markdown and quotes are read through (``**Final answer:** No``), but every span refers to the
original text, so removing an answer removes exactly its words and nothing else.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

from probe.variants.tasks import Task

# Markdown emphasis, headings, quotes and code marks around words; apostrophes inside words stay.
_MARKUP = re.compile(r"[*_`\"“”]+|^[ \t]*(?:#{1,6}|>)[ \t]*|(?<!\w)['‘’]|['‘’](?!\w)", re.M)

# After an opening "No" without punctuation, only these words make it an answer ("No it isn't");
# "No one", "No doubt", "No humour here" are not answers.
_CLAUSE_STARTERS = (
    "it|it's|its|this|that|that's|there|there's|the|i|i'm|i'd|we|they|he|she|you|because|since|"
    "as|not|nothing|definitely|absolutely|certainly|clearly|sir|way|thanks|thank|sorry|honestly|"
    "really|indeed|of|in|at|on|unfortunately|although|though|but|however|while|given"
)
_PUNCT_AFTER = r"(?=\s*(?:[.,!;:?()\]—–\-/]|$)|\s+(?:instead|after all|then|wait)\b)"
_YES_WORDS = ("yes", "yeah", "yep", "yup", "very much so")
_NO_WORDS = ("no", "nope", "nah")
_ADVERB = r"(?:(?:definitely|absolutely|certainly|clearly|obviously|surely|of course|simply|probably|a clear|a definite)\s+)?"
_NOT_FORMS = (
    r"absolutely not|definitely not|certainly not|of course not|clearly not|obviously not|not really|"
    r"not at all|surely not|not in the least|not one bit|not remotely|not even close|far from it|"
    r"no way|not a chance|hardly"
)
# "Not sure", "Not every", "Notably" open no answer; "Not sarcastic.", "Not enforceable as written, …" do.
_NOT_OPENING = re.compile(
    r"not\s+(?!(?:really\s+(?:sure|certain|clear)|sure|every|all|only|just|necessarily|quite|certain|much|many|everyone|everything|"
    r"always|exactly|yet|even|entirely|a|an|the|that|this|so|too|to|one|until|since|because|if|when|"
    r"for|in|on|at|my|your|our|their|its|his|her|clear|obvious|easy|possible|likely|unlikely|sure)\b)"
    r"[a-z][\w'-]*(?:\s+[\w'-]+){0,5}?(?=\s*(?:[.,:;!—–]|$))",
    re.I,
)


@dataclass(frozen=True)
class Statement:
    """An answer stated in a text: the answer label and the span (in the original text) that says it."""

    answer: str
    start: int
    end: int
    kind: str  # "explicit" (answer is X, conclusions), "opening", "line", "sentence", "mention"


class _Clean:
    """Text with markup removed, and a map from each kept character back to the original."""

    def __init__(self, text: str) -> None:
        # The kept text as runs: clean[starts[k]:starts[k+1]] is original[origins[k]:…], so a
        # clean position maps back by one bisection (no per-character list or join).
        starts: list[int] = []
        origins: list[int] = []
        pieces: list[str] = []
        at = last = 0
        for m in _MARKUP.finditer(text):
            if m.start() > last:
                starts.append(at)
                origins.append(last)
                pieces.append(text[last : m.start()])
                at += m.start() - last
            last = m.end()
        if len(text) > last:
            starts.append(at)
            origins.append(last)
            pieces.append(text[last:])
        self.original = text
        self.text = "".join(pieces)
        self._starts = starts
        self._origins = origins

    def _original(self, i: int) -> int:
        """The original position of clean[i]; the end of the clean text maps to the original's end."""
        if i >= len(self.text):
            return len(self.original)
        k = bisect_right(self._starts, i) - 1
        return self._origins[k] + (i - self._starts[k])

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of clean[start:end]."""
        if end <= start:
            return self._original(start), self._original(start)
        return self._original(start), self._original(end - 1) + 1


@lru_cache(maxsize=64)
def cleaned(text: str) -> _Clean:
    """`text` without markup, built once for the several readers of one reply (a `_Clean` is
    never changed after it is built)."""
    return _Clean(text)


def _label(found: str, task: Task) -> str | None:
    word = " ".join(found.lower().split())
    if task.is_yes_no:
        if word in _YES_WORDS:
            return "yes"
        if word in _NO_WORDS or word.startswith("not ") or word.endswith(" not"):
            return "no"
        return None
    return task.normalise(found)


def _token(task: Task, *, strict: bool = False) -> str:
    """The answer alternatives as one capturing group. strict: the token must be punctuated after
    (a bare "yes"/"no" or "(C)"), as in running text."""
    if task.is_yes_no:
        words = "|".join(_YES_WORDS + _NO_WORDS)
        negs = r"(" + _NOT_FORMS + r")" + _PUNCT_AFTER
        if strict:
            return r"(?:" + negs + r"|" + _ADVERB + r"(" + words + r")" + _PUNCT_AFTER + r")"
        return (
            r"(?:"
            + negs
            + r"|"
            + _ADVERB
            + r"("
            + words
            + r")\b(?:"
            + _PUNCT_AFTER
            + r"|(?=\s+(?:"
            + _CLAUSE_STARTERS
            + r")\b)))"
        )
    letters = "".join(task.options)
    bare = rf"([{letters}])(?![\w'’])(?=\s*(?:[.:,;!)\]—–\-]|$|\s+(?:is|because|since|as|-)\b))"
    return rf"(?:\(([{letters}])\)|(?:option|choice)\s+\(?([{letters}])\b\)?|{bare})"


def _bare(task: Task) -> str:
    """The answer alternatives as a plain word group: "yes" in "yes is the better answer"."""
    if task.is_yes_no:
        return r"(" + "|".join(_YES_WORDS + _NO_WORDS) + r")"
    return _token(task)


def _first_group(m: re.Match[str]) -> str:
    return next(g for g in m.groups() if g)


_NEGATED_BEFORE = re.compile(
    r"(?:\bnot|n't|\bnever|\bno longer|\bhardly|\bnothing|\bnobody|\bno one|\bnone|\bwrong to say|"
    r"\bcan't say|\bcannot say)\W+(?:\w+\W+){0,3}$",
    re.I,
)


def _clause_start(clean: str, start: int) -> int:
    head = clean[:start]
    cut = max(head.rfind(c) for c in ".;!?\n")
    return cut + 1 if cut >= 0 else 0


def _negated(clean: str, start: int) -> bool:
    """Is the statement starting at `start` negated within its own clause ("I would not say …")?"""
    head = clean[max(0, start - 60) : start]
    # a negation does not reach past a comma: "we can't be sure if he lies or not, so the answer is B"
    head = re.split(r"[.;!?\n,]|\bbut\b", head)[-1]
    return bool(_NEGATED_BEFORE.search(head))


def _question_words(task: Task) -> str | None:
    """The question's own words as stems ("sarcas", "enforc"), for "Verdict: not sarcastic"."""
    words = {w[:5] for w in re.findall(r"[a-z][a-z-]{3,}", task.question.lower())}
    words -= {
        "does",
        "this",
        "that",
        "show",
        "these",
        "those",
        "there",
        "image",
        "scene",
        "input",
        "text",
    }
    return "|".join(sorted(map(re.escape, words))) or None


# "The answer to this question is yes", "the answer to the question Did … ? is (C)"
_TO_THE_QUESTION = r"(?:to\s+(?:this|the|that|your|my|the user's)\s+(?:question|query|prompt)(?:\s+[^\n]{1,200}?\?)?\s+)?"


@lru_cache(maxsize=64)
def _explicit_patterns(task: Task) -> list[re.Pattern[str]]:
    x, strict = _token(task), _token(task, strict=True)
    adverbs = r"(?:(?:still|actually|definitely|clearly|simply|therefore|thus|obviously|firmly|certainly|indeed|a|an|the)\s+)*"
    say = (
        r"(?:(?:i(?:'d| would)(?: have to| still)? (?:say|answer|go with|pick|choose)|i(?:'ll| will) "
        r"(?:go with|say|choose|pick|answer)|i (?:choose|pick|say|select|answer)|we (?:get|have)|"
        r"it(?:'s| is)(?: a)?)\s+)?"
    )
    patterns = [
        # "the (final) answer is X", "Answer: X", "my answer would be X"
        rf"\b(?:(?:my|the|final|correct|right|true|real|actual|short|best|overall)\s+)*answer\s*"
        rf"{_TO_THE_QUESTION}(?:is|would be|should be|must be|remains|stays|=|:|-|—|–)\s*(?:[:,]\s*)?{adverbs}{x}",
        # conclusions: "so yes", "therefore, (C)", "in conclusion, I'd say no", "verdict: no"
        rf"\b(?:so|therefore|thus|hence|overall|ultimately|in conclusion|in summary|in short|to conclude|"
        rf"to sum up|all in all|in the end|in sum|conclusion|my verdict(?: is)?|(?:final )?verdict|bottom line|"
        rf"that means|which means)\s*[:,—–-]?\s*{say}(?:the answer is\s+)?{strict}",
        # "I'd say no.", "I'll go with B", "I meant yes", "I mean, yes", "make that a yes"
        rf"\b(?:i(?:'d| would)(?: rather| have to| still| instead)? (?:say|answer|go with|pick|choose)|"
        rf"i(?:'ll| will| have to| must| need to) (?:go with|say|choose|pick|answer)|"
        rf"i (?:choose|pick|select|answer|meant(?: to say)?)|i mean,?|make (?:that|it) an?|"
        rf"i said|i answered|i replied|i chose)\s+{strict}",
        # "yes is the better answer", "No is the right call"
        rf"(?:^\s*|[.!?;:,]\s*)(?:[a-z]+\s+)?{_bare(task)}\s+(?:is|would be|seems) (?:the )?(?:better|right|correct|real|true|"
        rf"honest|only|more accurate|accurate) (?:answer|call|one|choice)",
        rf"\bit(?:'s| is) (?:a )?(?:clear |definite |firm |solid |resounding )?{strict}",
        # a judge's way: "argues for No", "supports (B)", "leans towards yes"
        rf"\b(?:argues?|argued|arguing|supports?|supported|favou?rs?|points?|leans?|leaning)\s+"
        rf"(?:(?:for|towards?|to)\s+)?(?:the answer\s+|answer\s+)?{strict}",
    ]
    if not task.is_yes_no:
        letters = "".join(task.options)
        patterns += [
            rf"(?:\(([{letters}])\)|\b(?:option|choice)\s+\(?([{letters}])\b\)?|\b([{letters}])\))\s+is\s+"
            rf"(?:the\s+)?(?:correct|right|best|true|accurate|answer)",
            rf"\b(?:correct|right|best|true|final)\s+(?:option|choice|letter)\s*(?:is|would be|:)\s*{x}",
            # "…, which is option (B).", "— option C."
            rf"(?:\bis|that's|it's|[:,—–-])\s*(?:\b(?:option|choice)\s+\(?([{letters}])\b\)?)(?=\s*(?:[.;!,]|$))",
        ]
    return [re.compile(p, re.I) for p in patterns]


@lru_cache(maxsize=64)
def _line_patterns(task: Task) -> re.Pattern[str]:
    """A line that states an answer by itself, or opens with one ("Yes, because …")."""
    lead = r"(?:(?:my|the|final|short)\s+)*answer\s*(?:is|:|-|—)?\s*|i(?:'d| would) say\s+|"
    return re.compile(
        r"^[ \t]*(?:[-•]\s+|\d+[.)]\s+)?(?:" + lead + r")?" + _token(task), re.I | re.M
    )


@lru_cache(maxsize=64)
def _sentence_pattern(task: Task) -> re.Pattern[str]:
    """A sentence that opens with an answer, inside a line ("… face. Yes, it is funny")."""
    return re.compile(r"(?<=[.!?])[ \t]+" + _token(task), re.I)


@lru_cache(maxsize=64)
def _verdict_pattern(task: Task) -> re.Pattern[str] | None:
    """Yes/no: a conclusion in the question's own words, "Final verdict: not sarcastic" (no),
    "Conclusion: phishing." (yes). Groups: (not, word)."""
    words = _question_words(task) if task.is_yes_no else None
    if not words:
        return None
    lead = (
        r"\b(?:(?:(?:my|final|the)\s+)*(?:verdict|answer|conclusion)\s*[:—–-]\s*"
        r"|(?:in conclusion|overall|so|therefore|thus|hence|in short|in summary|ultimately|all in all),?\s+"
        r"(?:it|this|that|the \w+|this \w+)\s+(?:is|are|was|does|do|would|will)\s+)"
    )
    return re.compile(
        lead + rf"((?:not\s+)?)(?:a\s+|an\s+)?(?=(?:{words}))([\w-]+)(?=\s*(?:[.!;]|$))",
        re.I,
    )


def statements(text: str, task: Task, *, negated: bool = False) -> list[Statement]:
    """Every answer the text states, in order; negated ones ("I would not say yes") only when
    asked for (they still give the answer away), each then spanning its whole clause."""
    clean = cleaned(text)
    found: dict[tuple[int, int], Statement] = {}
    option_texts = _option_text_pattern(task)

    def add(m: re.Match[str], kind: str, label: str | None = None) -> None:
        at = m.start()
        if _negated(clean.text, at):
            if not negated:
                return
            at = _clause_start(clean.text, at)
        if label is None:
            label = _label(_first_group(m), task)
        if label is None:
            return
        start, end = clean.span(at, m.end())
        found.setdefault((start, end), Statement(label, start, end, kind))

    for pattern in _explicit_patterns(task):
        for m in pattern.finditer(clean.text):
            add(m, "explicit")
    verdict = _verdict_pattern(task)
    if verdict is not None:
        for m in verdict.finditer(clean.text):
            add(m, "explicit", "no" if m.group(1) else "yes")
    if option_texts is not None:
        for m in option_texts.finditer(clean.text):
            add(m, "explicit", _option_of(m.group(1), task))
    for m in _line_patterns(task).finditer(clean.text):
        add(m, "line")
    for m in _sentence_pattern(task).finditer(clean.text):
        add(m, "sentence")
    # Drop statements contained in a longer one ("answer is no" inside "the final answer is no").
    spans = sorted(found.values(), key=lambda s: (s.start, -(s.end - s.start)))
    out: list[Statement] = []
    for s in spans:
        if out and s.start < out[-1].end:
            continue
        out.append(s)
    return out


@lru_cache(maxsize=64)
def _option_text_pattern(task: Task) -> re.Pattern[str] | None:
    """Multiple choice: "the answer is Paris" states the option whose text is "Paris"."""
    texts = [t.strip() for t in task.option_texts if len(t.strip()) >= 1]
    if task.is_yes_no or not texts:
        return None
    alts = "|".join(re.escape(t) for t in sorted(texts, key=len, reverse=True))
    return re.compile(
        r"\b(?:(?:my|the|final|correct|right|true|real|actual)\s+)*answer\s*"
        + _TO_THE_QUESTION
        + r"(?:is|would be|:)\s*(?:\([A-Z]\)\s*)?("
        + alts
        + r")(?!\w)",
        re.I,
    )


def _option_of(text: str, task: Task) -> str | None:
    for label, option in zip(task.options, task.option_texts, strict=False):
        if option.strip().lower() == text.strip().lower():
            return label
    return None


def parse_first(text: str, task: Task) -> str | None:
    """The first answer a reply gives: its opening ("Yes.", "**No**", "Answer: yes", "Nope."),
    else the first answer it states anywhere."""
    s = opening(text, task)
    if s is None:
        found = statements(text, task)
        s = found[0] if found else None
    return s.answer if s else None


def opening(text: str, task: Task) -> Statement | None:
    """The statement a reply opens with, if its first words state an answer."""
    clean = cleaned(text)
    stripped = clean.text.lstrip()
    offset = len(clean.text) - len(stripped)
    lead = (
        r"(?:(?:(?:my|the|final|short)\s+)*answer\s*(?:is|would be|:|-|—)?\s*[:,]?\s*"
        r"|i(?:\s+would|'d)\s+(?:have to\s+)?say\s+|i\s+(?:think|believe)(?:\s+that)?\s+"
        r"|(?:in\s+short|overall|so|therefore|thus)\s*,?\s*)?"
    )
    m = re.match(r"(?:[-•]\s+)?" + lead + _token(task), stripped, re.I)
    label = _label(_first_group(m), task) if m else None
    if m is None and task.is_yes_no:
        m = _NOT_OPENING.match(stripped)
        label = "no" if m else None
    if m is None or label is None:
        return None
    start, end = clean.span(offset, offset + m.end())
    return Statement(label, start, end, "opening")


def parse_last(text: str, task: Task) -> str | None:
    """The answer a reply concludes with: its last stated answer."""
    s = conclusion(text, task)
    return s.answer if s else None


def conclusion(text: str, task: Task) -> Statement | None:
    found = statements(text, task)
    if found:
        return found[-1]
    return opening(text, task)


def _tidy(text: str) -> str:
    """Whitespace left by a removal: a space before punctuation, doubled spaces, blank runs."""
    text = re.sub(r"[ \t]+([.,;:!?])(?=\s|$)", r"\1", text)
    text = re.sub(r"(?<=\S)[ \t]{2,}", " ", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def remove(text: str, s: Statement, *, tidy: bool = True) -> str:
    """The text without one statement: its clause goes, the rest of its sentence stays.

    "…absurd, so yes." → "…absurd."; "Therefore the answer is yes." → ""; "**Answer: No**" → "";
    "No, because it is calm." → "Because it is calm." Nothing else is changed.
    """
    start, end = s.start, s.end
    closing = re.match(r"[*_`\"'”’)\]]*", text[end:])
    end += closing.end() if closing else 0
    line_start = text.rfind("\n", 0, start) + 1
    before = text[line_start:start]
    head = text[:start].rstrip()
    if re.fullmatch(r"[\s*_`\"“#>•\-\d.)]*", before) or head.endswith((".", "!", "?", "…")):
        # The statement opens its line or sentence: it goes with its closing punctuation.
        cut = line_start if not head.endswith((".", "!", "?", "…")) or not before.strip() else start
        punct = re.match(r"\s*(?:[.!;:,—–…-]+)?[*_`\"'”’]*[ \t]*", text[end:])
        rest = text[end + (punct.end() if punct else 0) :]
        if cut == line_start and rest[:1].islower():
            rest = rest[:1].upper() + rest[1:]
        out = text[:cut] + rest
    else:
        # Mid-sentence: the clause goes with the separator before it; the sentence keeps its ending.
        if head.endswith((",", ";", "—", "–", "-", ":")):
            head = head[:-1].rstrip()
        out = head + text[end:]
    return _tidy(out) if tidy else out


def explanation(text: str, task: Task) -> str:
    """A reply's reasoning: the reply without any statement of an answer (its opening, its
    conclusion, answers it gave and took back, negated ones). This is also what a judge sees."""
    found = statements(text, task, negated=True)
    first = opening(text, task)
    found += [first] if first else []
    kept: list[Statement] = []
    # Where two overlap, the opening goes ("Answer: (A)"), not a longer reading that would take
    # the option's text with it ("Answer: (A) Paris").
    for s in sorted(found, key=lambda s: (s.start, s.kind != "opening", -s.end)):
        if not kept or s.start >= kept[-1].end:
            kept.append(s)
    for s in reversed(kept):  # from the end, so that each earlier span keeps its place
        text = remove(text, s, tidy=False)
    return _tidy(text)


# A prefill that asks for the answer next ("So the answer is", answer extraction's cue).
_ANSWER_CUE = re.compile(r"\banswer\s+(?:is|would be|:)\s*$", re.I)


def continues_prefill(continuation: str, task: Task, prefill: str | None = None) -> bool:
    """Does a reply read as the continuation of a partial answer rather than a fresh answer?

    A model that continues "No," writes " because…", ". The…", " – …" or " it isn't funny"; an
    answer word in lower case goes on the same sentence (" not at all funny", " no, nothing
    happens"). One that ignored the prefill — a server that closed the prefilled turn and opened
    a new one after "Assistant:" — starts afresh: with a word glued on ("Yes, …", "The scene…"),
    or after blank space or markup with an answer of its own (" Yes, the cat…", "\n\nNo.",
    " Answer: (B)", " **Yes**"). Taken for a continuation, such a reply would record a forced
    answer the model never saw as honoured.

    `prefill` is what the model was given to continue. Only one that ends in the middle of a
    sentence ("No,", "(B),", "Answer: No,"; also assumed when it is not given) rules out an answer
    of the reply's own. One that ends on a cue for the answer ("…\nAnswer:", "So the answer is")
    or after a whole
    sentence of reasoning is continued by an answer (" Yes", "\nAnswer: No"), so there an
    answer is no sign of a fresh start.
    """
    if not continuation:
        return True  # nothing added: the prefill stands as the whole answer
    if continuation[0].isalnum():
        return False
    if prefill is not None and (
        prefill.rstrip()[-1:] in (".", "!", "?", ":", "") or _ANSWER_CUE.search(prefill)
    ):
        return True
    said = opening(continuation, task)
    if said is None:
        return True
    if "\n" in continuation[: said.start]:
        return False  # an answer on a line of its own: a new reply
    first = next((c for c in continuation[said.start : said.end] if c.isalpha()), "")
    return first.islower()
