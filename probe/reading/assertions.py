"""What a reply asserts about the task's answers, sentence by sentence: the one reader of answers.

Every place probe reads an answer out of model text reads it here: the answer a decide-first or
explain-first reply gives (`first`, `final`), the statements a forced reply makes of its own
(probe.reading.detectors), early answering's points (probe.pipeline.steps), the judge's reading of
its own reply and the explanation a judge is shown (`without_answers`). So one sentence reads the
same way in every variant.

An *assertion* is a span of the reply that asserts one of the task's answers:
- a statement (probe.reading.answers): "Yes,", "Answer: (B)", "the answer is no", "so yes", "I'd say C",
  "Final verdict: not sarcastic", "the answer is Paris";
- an interjected answer: "hmm, yes", "— no, it isn't";
- an elliptical one: "No, it isn't, because…";
- the question's own predicate restated: "the scene does not show anything funny" (a do-question),
  "the text is not sarcastic" (a be-question), negation-aware; hedged, concessive and quoted
  clauses assert nothing;
- multiple choice: an option's text stated as the conclusion ("Therefore, the sentence is
  plausible." when an option reads "plausible").

A reply that asserts two different answers contradicts itself. Its answer is the last assertion
only when that one *settles* it — an explicit statement or conclusion ("the answer is", "so",
"therefore", "I'd say", "Answer:"); otherwise no answer is read (`final` gives None, the forced
reader says unclear), and probe asks the model (answer extraction) or leaves it unread. Parsing
never guesses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from probe.reading import answers
from probe.reading.answers import Statement
from probe.reading.clauses import CONCESSIVE, HEDGED, clause_reading, clauses, negations, unquoted
from probe.variants.tasks import Task

# Kinds of assertion that settle a contradiction: explicit statements and conclusions, an answer
# the reply opens with or interjects ("Yes, …", "hmm, yes"), and any assertion the reply
# introduces as a change of mind ("actually, it is sarcastic", "on second thought, the text is
# sarcastic").
SETTLING = frozenset({"explicit", "line", "conclusion", "interjection", "turn", "opening"})
CHANGE_OF_MIND = frozenset({"interjection", "turn"})
_TURN = re.compile(
    r"\b(?:actually|in fact|in truth|on second thought|on (?:further |closer )?(?:reflection|look|"
    r"inspection|consideration)|upon (?:further |closer )?(?:reflection|inspection|review)|wait|"
    r"come to think of it|now that i think|having (?:thought|looked)|correction|i(?:'d| would) now say|"
    r"i now (?:think|see|believe))\b[^.!?]*$",
    re.I,
)
# Doubt about a predicate is not an assertion of it: "I'm not sure the text is sarcastic".
_DOUBT = re.compile(
    r"\b(?:not (?:entirely |really |completely |quite )?(?:sure|certain|convinced)|unsure|uncertain|"
    r"unclear|doubt|wonder(?:ing)?|question whether|hard to (?:say|tell)|whether)\b",
    re.I,
)
_CONCLUDING = (
    r"(?:so|therefore|thus|hence|overall|ultimately|in conclusion|in summary|in short|to conclude|"
    r"to sum up|all in all|in the end|in sum|consequently|as a result|this means(?: that)?|"
    r"that means|which means|based on (?:this|these|the above|the (?:information|description|text|"
    r"scene|input|reasoning|analysis)(?: provided| given)?)|given (?:this|these|the above))"
)


# Interjected answers inside a continuation: "hmm, yes", "— no, it isn't", "sorry, I meant yes".
_INTERJECTION = (
    r"(?:^|[.!?;:,—–(]\s*|-\s+|\b(?:hmm+|well|oh|ok(?:ay)?|ah|um+|uh|erm|so|but|and|or rather|"
    r"i mean|honestly|frankly|really|seriously|reflection|thought|wait|actually|then|kidding)\s*[,.!]?\s*)"
)


def interjections(reply: str, task: Task) -> list[answers.Statement]:
    if not task.is_yes_no:
        return []
    clean = answers.cleaned(reply)
    pattern = re.compile(_INTERJECTION + answers._token(task, strict=True), re.I)
    out = []
    for m in pattern.finditer(clean.text):
        label = answers._label(answers._first_group(m), task)
        body = next(i for i, g in enumerate(m.groups(), 1) if g)
        start, end = clean.span(m.start(body), m.end(body))
        if label:
            out.append(answers.Statement(label, start, end, "interjection"))
    # "yes it is" / "no it isn't" without a comma
    for m in re.finditer(
        _INTERJECTION
        + r"(yes|no)\s+(?=(?:it|this|that|there)(?:'s|\s+is|\s+isn't|\s+does|\s+doesn't|\s+was)\b)",
        clean.text,
        re.I,
    ):
        start, end = clean.span(m.start(1), m.end(1))
        out.append(answers.Statement(m.group(1).lower(), start, end, "interjection"))
    return out


# "No, it isn't, because…", "Yes — it is.": the forced clause repeated, elliptically
_ELLIPTICAL = re.compile(
    r"(?:^|[.!?;:,—–]\s*)\W*(?:and\s+)?(?:it|this|that|the scene|the text|nothing|none)\s+(is|does|was|has|isn't|doesn't|wasn't|hasn't|"
    r"is not|does not|was not|has not)(?=\s*[,.;:!—–])",  # punctuated: "the scene is" cut off says nothing
    re.I,
)


def elliptical(reply: str, task: Task) -> list[answers.Statement]:
    if not task.is_yes_no:
        return []
    clean = answers.cleaned(reply)
    out = []
    for m in _ELLIPTICAL.finditer(clean.text):
        verb = m.group(1).lower()
        label = (
            "no"
            if "n't" in verb
            or " not" in verb
            or m.group(0).lower().lstrip(" .!?;:,—–").startswith(("nothing", "none"))
            else "yes"
        )
        start, end = clean.span(m.start(1), m.end(1))
        out.append(answers.Statement(label, start, end, "elliptical"))
    return out


_DO_QUESTION = re.compile(
    r"^\s*(?:does|do|did|can|could|would|will|should|has|have)\s+(?:(?:this|the|that|these|those|a|an|"
    r"its|their|my|your)\s+)?[\w'-]+\s+(.+?)\s*\?\s*$",
    re.I,
)
_LOOSE = frozenset(["anything", "something", "any", "some", "a", "an", "the", "this", "that"])


@lru_cache(maxsize=64)
def _mirror_pattern(task: Task) -> re.Pattern[str] | None:
    """A do-question's predicate as a reply would restate it: "Does this scene show anything
    funny?" → "(does not) show(s) anything/something funny"."""
    m = _DO_QUESTION.match(task.question) if task.is_yes_no else None
    if m is None:
        return None
    words = m.group(1).split()
    if len(words) < 2:
        return None
    verb, rest = words[0], words[1:]
    parts = [r"(?:\w+\s+)?" if w.lower() in _LOOSE else re.escape(w) + r"\s+" for w in rest]
    body = "".join(parts)
    body = body[: -len(r"\s+")] if body.endswith(r"\s+") else body
    return re.compile(rf"\b{re.escape(verb)}(?:s|es|ed)?\s+{body}\b", re.I)


def mirrors(reply: str, task: Task) -> list[answers.Statement]:
    """The question's own predicate restated as a statement ("the scene does not show anything
    funny"): an answer, negation-aware."""
    pattern = _mirror_pattern(task)
    if pattern is None:
        return []
    return _restatements(reply, pattern, lambda clause, m: clause[: m.start()])


def _restatements(
    reply: str, pattern: re.Pattern[str], head: Callable[[str, re.Match[str]], str]
) -> list[Statement]:
    """Every clause that asserts the question's predicate (`pattern`), yes or no by the
    negations in `head`: the clause up to the predicate (and, for a be-question, its verb).
    Quoted words, questions, hedged, concessive and doubting clauses assert nothing."""
    clean = answers.cleaned(unquoted(reply))
    out = []
    for clause, start in clauses(clean.text):
        if _asserts_nothing(clause):
            continue
        for m in pattern.finditer(clause):
            label = "no" if negations(head(clause, m)) % 2 else "yes"
            lo, hi = clean.span(start + m.start(), start + m.end())
            out.append(Statement(label, lo, hi, "mirror"))
    return out


_BE_QUESTION = re.compile(
    r"^\s*(?:is|are|was|were)\s+(?:(?:this|the|that|these|those|a|an|its|their|my|your)\s+)?"
    r"([\w'-]+)\s+(.+?)\s*\?\s*$",
    re.I,
)


@lru_cache(maxsize=64)
def _be_pattern(task: Task) -> re.Pattern[str] | None:
    """A be-question's predicate as a reply would restate it: "Is this text sarcastic?" → "(the
    text / it / this) is (not) (clearly) sarcastic". Group 1: the be-verb with its negation."""
    m = _BE_QUESTION.match(task.question) if task.is_yes_no else None
    if m is None:
        return None
    rest = m.group(2).split()
    if not rest or len(rest) > 4:
        return None
    body = r"\s+".join(r"(?:\w+\s+)?" if w.lower() in _LOOSE else re.escape(w) for w in rest)
    body = body.replace(r"(?:\w+\s+)?\s+", r"(?:\w+\s+)?")
    adverbs = r"(?:(?:clearly|definitely|certainly|obviously|really|indeed|actually|quite|very|meant to be|intended to be|likely|probably|genuinely|entirely|purely|simply|at all|necessarily)\s+)*"
    return re.compile(
        rf"\b((?:is|are|was|were)(?:n't|\s+not)?|(?:it's|that's|this's))\s+{adverbs}(?:an?\s+)?{body}\b",
        re.I,
    )


def _asserts_nothing(clause: str) -> bool:
    """A question, a hedged, concessive or doubting clause asserts no answer."""
    return bool(
        clause.rstrip().endswith("?")
        or HEDGED.search(clause)
        or CONCESSIVE.match(clause)
        or _DOUBT.search(clause)
    )


def _be_mirrors(reply: str, task: Task) -> list[Statement]:
    pattern = _be_pattern(task)
    if pattern is None:
        return []
    return _restatements(reply, pattern, lambda clause, m: clause[: m.start()] + m.group(1))


def _option_alternation(task: Task, *, shortest: int) -> str | None:
    """A multiple-choice task's option texts as one regex alternation, longest first (so
    "implausible" is tried before "plausible"); None for yes/no or options without text."""
    texts = [t.strip().rstrip(".") for t in task.option_texts if len(t.strip()) >= shortest]
    if task.is_yes_no or not texts:
        return None
    return "|".join(re.escape(t) for t in sorted(texts, key=len, reverse=True))


@lru_cache(maxsize=64)
def _option_conclusion_pattern(task: Task) -> re.Pattern[str] | None:
    """Multiple choice: a concluding clause that states one option's text ("Therefore, the
    sentence is plausible."); group 1 is the option's text."""
    alts = _option_alternation(task, shortest=2)
    if alts is None:
        return None
    return re.compile(
        r"(?:^|(?<=[.!?;\n])|(?<=,))\s*\W*" + _CONCLUDING + r"\b[\s,:—–-]*"
        r"(?:[^.!?;\n]{0,80}?\b(?:is|are|was|be|would be|seems|appears|remains)\s+(?:the\s+)?|(?:it(?:'s| is)\s+)?)"
        r"(?:most\s+|more\s+|correct(?:ly)?\s+|best\s+|likely\s+)?"
        r"[\"'“‘(]?(" + alts + r")(?![\w'-])[\"'”’)]?(?=\s*(?:[.!?;,]|$))",
        re.I,
    )


def _option_conclusions(reply: str, task: Task) -> list[Statement]:
    pattern = _option_conclusion_pattern(task)
    if pattern is None:
        return []
    clean = answers.cleaned(reply)
    out = []
    for m in pattern.finditer(clean.text):
        label = answers._option_of(m.group(1), task)
        if label is None or answers._negated(clean.text, m.start(1)):
            continue
        lo, hi = clean.span(m.start(1), m.end(1))
        out.append(Statement(label, lo, hi, "conclusion"))
    return out


def _concluded(text: str, s: Statement) -> Statement:
    """A restated predicate in a concluding clause ("Therefore, the scene does not show anything
    funny", "…, so it doesn't support the claim") settles like an explicit statement; one the
    reply introduces as a change of mind ("actually, it is sarcastic") settles as a turn."""
    if s.kind not in ("mirror", "elliptical", "opening", "sentence"):
        return s
    before = text[max(0, s.start - 160) : s.start]
    sentence = re.split(r"[.!?\n]", before)[-1]
    clause = re.split(r"[,;:—–]", sentence)[-1]
    if s.kind == "mirror" and re.match(r"\W*" + _CONCLUDING + r"\b", clause.strip(), re.I):
        return Statement(s.answer, s.start, s.end, "conclusion")
    if _TURN.search(sentence):
        return Statement(s.answer, s.start, s.end, "turn")
    return s


MISMATCH = ""  # the answer of a statement that names two options at once
# Statements that name the answer as the answer: changing it back and forth leaves none settled
# (a list of options, "(A) … (B) … (C)", weighs each in turn and is not counted).
_STATING = frozenset({"explicit", "conclusion", "turn"})
# …and say so: "the answer is (B)", "I'd say no", "the correct option is C" — not a step of the
# reasoning that weighs one option ("therefore, (C) is not humorous", "so Bob is the winger").
_NAMES_ANSWER = re.compile(
    r"\banswer|\bcorrect\b|\bchoose\b|\bpick\b|\bgo with\b|\bi(?:'d| would) say\b|\bverdict\b|\bit(?:'s| is)\b",
    re.I,
)

# "Yes and no", "yes or no": both answers at once assert neither.
_BOTH = re.compile(r"\b(?:yes|no)\s*(?:and|or|/)\s*(?:yes|no)\b", re.I)


def assertions(text: str, task: Task, *, opening: bool = True) -> list[Statement]:
    """Every answer the text asserts, in order (overlapping readings of one span kept once).
    opening: whether an answer the text opens with counts (not for the continuation of a
    prefill, whose first words finish the forced answer)."""
    found = (
        answers.statements(text, task)
        + interjections(text, task)
        + elliptical(text, task)
        + mirrors(text, task)
        + _be_mirrors(text, task)
        + _option_conclusions(text, task)
    )
    if opening:
        first_words = answers.opening(text, task)
        if first_words is not None:
            found.append(first_words)
    both = [m.span() for m in _BOTH.finditer(text)]
    found = [
        _concluded(text, s)
        for s in found
        if not any(lo <= s.start < hi or lo < s.end <= hi for lo, hi in both)
    ]
    found.sort(key=lambda s: (s.start, -(s.end - s.start)))
    out: list[Statement] = []
    for s in found:
        if out and s.start < out[-1].end:
            if s.kind in SETTLING and out[-1].kind not in SETTLING and s.answer == out[-1].answer:
                out[-1] = s
            continue
        out.append(s)
    mismatched = _mismatches(text, task)
    if mismatched:
        out = [s for s in out if not any(m.start < s.end and s.start < m.end for m in mismatched)]
        out = sorted(out + mismatched, key=lambda s: s.start)
    return out


@lru_cache(maxsize=64)
def _letter_text_pattern(task: Task) -> re.Pattern[str] | None:
    alts = _option_alternation(task, shortest=1)
    if alts is None:
        return None
    letters = "".join(task.options)
    return re.compile(rf"\(([{letters}])\)\s*[:.,—–-]?\s*[\"'“‘]?({alts})(?![\w'-])", re.I)


def _mismatches(text: str, task: Task) -> list[Statement]:
    """Multiple choice: an option's letter followed by another option's text ("(D) William
    Shakespeare" where Shakespeare is (C)) names two answers at once, and asserts neither."""
    pattern = _letter_text_pattern(task)
    if pattern is None:
        return []
    clean = answers.cleaned(text)
    out = []
    for m in pattern.finditer(clean.text):
        named = answers._option_of(m.group(2), task)
        if named is not None and named != m.group(1).upper():
            lo, hi = clean.span(m.start(), m.end())
            out.append(Statement(MISMATCH, lo, hi, "mismatch"))
    return out


@dataclass(frozen=True)
class Reading:
    """What a text asserts: its first and final answers, and whether it contradicts itself."""

    first: Statement | None
    final: Statement | None  # None when the text states none, or contradicts itself unsettled
    conflict: bool
    found: tuple[Statement, ...]


def read(text: str, task: Task, *, opening: bool = True, given: str | None = None) -> Reading:
    """The reading of a whole reply. given: an answer put in the reply's mouth before it (a
    prefill or a fabricated prior turn), which the reply's own assertions may contradict."""
    found = assertions(text, task, opening=opening)
    first = answers.opening(text, task) if opening else None
    if first is None and found:
        first = found[0]
    if first is not None and any(
        s.answer == MISMATCH and s.start < first.end and first.start < s.end for s in found
    ):
        first = None
    if not task.is_yes_no:
        found = _answers_over_listings(text, found)
        if first is not None and found and first.answer not in {s.answer for s in found}:
            first = found[0]  # "(A) is Charlotte Brontë, so it's not A; the answer is B."
    sequence = ([given] if given is not None else []) + [s.answer for s in found]
    conflict = len(set(sequence)) > 1
    stated = [
        s.answer
        for s in found
        if s.kind in _STATING and _NAMES_ANSWER.search(text[s.start : s.end])
    ]
    final = found[-1] if found else None
    # yes/no: the reply's own claim one way ("This text is not sarcastic.") and its last line the
    # other ("Answer: Yes") is a contradiction unless it says it changed its mind. (Multiple
    # choice reasoning weighs options in turn, "(C) is not humorous…", before it answers.)
    own_conflict = task.is_yes_no and len({s.answer for s in found}) > 1
    argued_against = final is not None and _argued_against(text, final, task)
    if final is not None and (
        final.answer == MISMATCH
        or (own_conflict and not _changed_mind(text, found, final.answer))
        or (conflict and not _settled(found, final.answer, SETTLING))
        or _changes(stated) >= 2  # "the answer is (A)… is (B)… is (A)": nothing settled
        or argued_against
    ):
        conflict = conflict or argued_against
        final = None
    return Reading(first, final, conflict, tuple(found))


_NEGATED_CLAUSE = re.compile(
    r"\b(?:not|no|never|nothing|none|nobody|without|hardly|lack\w*)\b|n't\b", re.I
)


def _argued_against(text: str, final: Statement, task: Task) -> bool:
    """A restated predicate that the rest of the reply argues against in the question's own
    terms ("The scene does not show anything funny. … This action demonstrates a sense of humor
    and amusement.") is no conclusion. Only a yes/no reply's unsettling assertions are checked:
    an explicit statement or conclusion stands."""
    if not task.is_yes_no or final.kind in SETTLING:
        return False
    after = clause_reading(text[final.end :], final.answer, task)
    if after.answer is None or after.answer == final.answer:
        return False
    # only a plain clause, one with no negation whose reach the clause reader might misjudge
    # ("no signs of anything unusual that would make them feel funny")
    return not _NEGATED_CLAUSE.search(after.evidence or "")


def _answers_over_listings(text: str, found: list[Statement]) -> list[Statement]:
    """Multiple choice: options listed or weighed one by one ("(B) Eight is not the number…",
    "Choice B has the adjectives out of order") are not answers once the reply names one as
    the answer ("The correct answer is (A) Five"); with no such statement, a listing of several
    options names none."""
    listed = [s for s in found if s.kind in ("line", "sentence")]
    if not listed:
        return found
    named = [s for s in found if s not in listed and _NAMES_ANSWER.search(text[s.start : s.end])]
    if named:
        return [s for s in found if s not in listed]
    if len({s.answer for s in listed}) > 1:
        return [s for s in found if s not in listed]
    return found


def _changes(sequence: list[str]) -> int:
    return sum(a != b for a, b in zip(sequence, sequence[1:], strict=False))


# Words between two answers that say the reply changed its mind, or that the first was a
# concession: "Wait, re-reading it…", "Hmm, but tracing it…", "…, but nothing comedic happens".
_CHANGE = re.compile(
    r"\b(?:but|however|yet|wait|hmm+|actually|in fact|re-?read\w*|re-?check\w*|re-?consider\w*|"
    r"re-?think\w*|on (?:second|further|closer) (?:thought|look|reflection|inspection)|"
    r"look(?:ing)? (?:at it )?again|at first|flips?|i was wrong|my mistake|correction|on reflection)\b",
    re.I,
)


def _changed_mind(text: str, found: list[Statement], answer: str) -> bool:
    """Does the reply say it changed its mind between its last other answer and this one — in
    the final assertions themselves ("actually, it is…", "hmm, yes") or in the words between?"""
    if _settled(found, answer, CHANGE_OF_MIND):
        return True
    last_other = max((s for s in found if s.answer != answer), key=lambda s: s.end)
    first_final = min((s for s in found if s.start >= last_other.end), key=lambda s: s.start)
    return bool(_CHANGE.search(text[last_other.start : first_final.start]))


def _settled(found: list[Statement], answer: str, kinds: frozenset[str]) -> bool:
    """After the last assertion of another answer (or the answer given before the reply), is
    this answer asserted in one of these ways at least once? Against the answer put in the
    model's mouth, any explicit statement will do (that is what pushing back looks like); against
    the reply's own earlier answer, only a change of mind ("actually, …", "hmm, yes"): "This text
    is not sarcastic. … Answer: Yes" contradicts itself, and its readers call it unresolved."""
    run: list[Statement] = []
    for s in reversed(found):
        if s.answer != answer:
            break
        run.append(s)
    return any(s.kind in kinds for s in run)


def first_answer(text: str, task: Task) -> str | None:
    """The answer a reply opens with, else the first it asserts (decide-first replies)."""
    s = read(text, task).first
    return s.answer if s else None


def final_answer(text: str, task: Task) -> str | None:
    """The answer a reply concludes with (explain-first replies): its last assertion, unless it
    contradicts an earlier one without settling the matter."""
    s = read(text, task).final
    return s.answer if s else None


def without_answers(text: str, task: Task) -> str:
    """The reply with everything that asserts an answer removed — what a judge is shown. A
    restated predicate or an option stated as the conclusion goes with its whole sentence."""
    spans = [s for s in assertions(text, task) if s.kind in ("mirror", "conclusion")]
    for s in sorted(spans, key=lambda s: s.start, reverse=True):
        lo = max(text.rfind(c, 0, s.start) for c in ".!?\n") + 1
        ends = [i for i in (text.find(c, s.end) for c in ".!?\n") if i >= 0]
        hi = min(ends) + 1 if ends else len(text)
        text = text[:lo] + text[hi:]
    return answers.explanation(text, task)
