"""The clause reading of a forced reply: what its clauses assert about the question's terms.

Negation-aware ("it isn't funny" argues no, "no one could watch this without laughing" argues
yes); hedged and concessive clauses are left out, a clause that turns replaces what came before it,
and quoted words are the input's. For multiple choice: the option the reply names as the answer.
The terms themselves come from probe.reading.terms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from probe.reading import answers
from probe.reading.readings import Reading, around, stance_of
from probe.reading.terms import STOP, is_curated, term_patterns
from probe.variants.tasks import Task

# Clause reading: what the reply asserts about the question's own terms.
# Negation of a term: a negative subject anywhere before it in its clause ("no one could watch
# this without laughing"), "no" right before it ("no humour"), or a negator a few words before it.
_NEGATIVE_SUBJECT = re.compile(r"\b(?:no one|no-one|nobody|nothing|none|neither)\b", re.I)
_NO_BEFORE = re.compile(r"\bno\s+(?:\w+\s+)?$", re.I)
_NEGATORS = re.compile(
    r"\b(?:not|never|nor|without|hardly|barely|scarcely|lacks?|lacking|lacked|devoid|free of|far from|"
    r"absence|absent|rather than|instead of|fails? to|failed to|anything but|zero|unlikely to|"
    r"(?:wait(?:ing)?|hop(?:e|es|ing)|look(?:ing)?|search(?:ing)?)(?: all day| in vain| long)? for|"
    r"(?:wrong|a stretch|unfair|misleading|inaccurate|hard|difficult) to "
    r"(?:call|say|describe|label|claim|see|find|consider))\b|n't\b",
    re.I,
)
NEGATION_WINDOW = 5  # words before a term in which "not", "never", "without"… negate it


# Negation words that do not negate ("no doubt it is funny", "can't help but laugh").
_NOT_NEGATING = re.compile(
    r"\bno (?:doubt|wonder|question)\b|\bnothing but\b|\bnot only\b|\b(?:can't|cannot|couldn't|can not) help\b"
    r"|\bnot to mention\b|\bno matter\b|\bnever fails? to\b|\bwithout (?:a )?doubt\b|\bwithout question\b"
    r"|\bnot just\b|\bnothing if not\b|\b(?:hard|difficult|impossible) not to\b|\bcan(?:'t|not) not\b|\bnot \w+ly\b(?= \w+ing\b)",
    re.I,
)
HEDGED = re.compile(
    r"\b(?:might|may|perhaps|possibly|maybe|if(?! not\b)|whether|arguably|unless|"
    r"some(?: people| viewers| readers| might| may| could| would| find| think| see| consider)|"
    r"others (?:might|may|could|would|find|think|see)|"
    r"(?:could|would) (?:be(?! (?:wrong|right|fair|unfair|a stretch|a mistake|misleading|silly|hard|difficult) to)|see|find|argue|say|call|consider|seem|appear|read)|to some|(?<!no )one could|"
    r"(?<!no )one might|at first glance|in theory|depend(?:s|ing)?)\b",
    re.I,
)
CONCESSIVE = re.compile(
    r"^\s*(?:although|though|even though|while|whilst|despite|even if|granted|admittedly|sure)\b",
    re.I,
)
# A clause that turns on what came before: its reading replaces the earlier clauses'.
_TURN = re.compile(
    r"^\W*(?:(?:wait|hmm+|oh|well|no|ok(?:ay)?|but|then again|that said|having said that)\W+)*"
    r"(?:actually|in fact|in truth|truthfully|to be honest|honestly|really|on second thought|"
    r"on reflection|come to think of it|then again|that said|now that i think about it)\b",
    re.I,
)
_CLAUSE_SPLIT = re.compile(
    r"(?<=[.!?;:\n])\s+|\s*[—–]\s*|(?<!anything)(?<!nothing)(?<!\ball),?\s+\b(?=(?:but|however|yet|whereas|so|which|and yet)\b)"
    r"|,\s+(?=(?:although|though|while|whilst|even though|despite)\b)",
    re.I,
)
_DETERMINERS = frozenset(
    [
        "the",
        "this",
        "that",
        "these",
        "those",
        "my",
        "your",
        "its",
        "their",
        "his",
        "her",
        "our",
        "of",
        "about",
        "for",
        "with",
        "in",
        "on",
        "what",
        "how",
        "why",
        "which",
        "whether",
        "every",
        "each",
    ]
)
_ARTICLES = frozenset(["a", "an", "any", "some"])
_PREPOSITIONS = frozenset(
    ["between", "among", "from", "by", "at", "into", "onto", "over", "under", "like", "than", "as"]
)
# Words after which "a"/"any" + term is asserted ("is hardly a joke", "lacks any humour").
_ASSERTING = re.compile(
    r"(?:is|are|was|were|be|been|being|am|isn't|aren't|wasn't|weren't|seems?|seemed|looks?|looked|"
    r"feels?|felt|sounds?|appears?|remains?|becomes?|became|not|never|hardly|barely|no|any|nothing|"
    r"something|anything|everything|lacks?|lacking|without|call|calls|calling|called|find|finds|"
    r"found|get|gets|got|earns?|draws?|raises?|makes?|made|provides?|offers?|see|sees|spot|notice|"
    r"quite|such|just|simply|really|truly|very|so|too|rather|fairly|pretty|somewhat|entirely|fully|"
    r"definitely|clearly|obviously|certainly|shows?|showing|has|have|had|contains?|does|do|did|"
    r"doesn't|don't|didn't|would|wouldn't|will|won't|can|can't|could|couldn't|should|must|more|less|"
    r"most|least|within|point|points|pointing|suggests?|indicates?|consistent|indicative|suggestive|"
    r"means?|reveals?|confirms?|fits?|match|matches|classic|clear|obvious|textbook|typical|blatant|"
    r"outright|plainly|\w+ly|\w+'s|\w+'re)",
    re.I,
)


@dataclass(frozen=True)
class _Polarity:
    sign: int  # +1: the clause asserts the yes-terms; -1: it denies them (or asserts the no-terms)
    clause: str
    start: int


_DENIED_AFTER = re.compile(
    r"^\W*(?:[\w']+\W+){0,3}?(?:(?:is|are|was|were|seems?)\s+(?:absent|missing|lacking|lost|nonexistent|"
    r"non-existent|nowhere|not there)|falls? flat|(?:doesn't|does not|didn't) (?:land|work|exist))\b",
    re.I,
)


def _clause_polarity(
    clause: str, yes_re: re.Pattern[str], no_re: re.Pattern[str], curated: bool = False
) -> int:
    """+1, -1 or 0: what one clause asserts about the task's terms."""
    if clause.rstrip().endswith("?") or CONCESSIVE.match(clause) or HEDGED.search(clause):
        return 0
    score = 0
    found = [(m, 1) for m in yes_re.finditer(clause)] + [(m, -1) for m in no_re.finditer(clause)]
    found.sort(key=lambda f: (f[0].start(), -f[0].end()))
    end = -1
    for m, sign in found:
        if m.start() < end:
            continue  # inside a longer term: "ordinary" in "out of the ordinary"
        end = m.end()
        if not _asserted(clause, m, curated):
            continue
        negated = (
            negations(clause[: m.start()])
            + bool(re.search(r"\bnon-?$", clause[: m.start()], re.I))
            + bool(_DENIED_AFTER.match(clause[m.end() :]))
        )
        score += sign * (-1 if negated % 2 else 1)
    return (score > 0) - (score < 0)


def negations(head: str) -> int:
    """How many negations bear on a term that follows `head` (the clause up to the term)."""
    head = _NOT_NEGATING.sub(" ", head)
    # a negation does not reach past a clause boundary: "it isn't, because it is ordinary"
    scope = re.split(
        r"[,;:]|\b(?:because|since|so|and)\b|(?<!anything )(?<!nothing )(?<!all )\bbut\b", head
    )[-1]
    near = " ".join(re.findall(r"\S+", scope)[-NEGATION_WINDOW:])
    count = len(_NEGATORS.findall(near)) + len(_NEGATIVE_SUBJECT.findall(head))
    # "well above normal", "outside the normal range": not within it
    count += bool(re.search(r"\b(?:above|below|outside|beyond|out of)\s+(?:\w+\s+)?$", scope, re.I))
    return count + bool(_NO_BEFORE.search(head))


_POSSESSIVES = frozenset(["the", "this", "that", "its", "their", "his", "her", "our", "my", "your"])


_EVIDENCE_OF = frozenset(
    ["evidence", "sign", "signs", "indication", "indications", "hint", "trace", "traces", "case"]
)


def _asserted(clause: str, m: re.Match[str], curated: bool = False) -> bool:
    """Is this occurrence of a term asserted ("is hilarious", "lacks any humour", "makes the
    guests laugh", "no evidence of a fracture") rather than merely named ("the review says…", a
    sentence's subject)? A task's own curated words assert even as a subject ("the humour is
    plain") or object ("it earns its laugh"): to speak of the scene's humour is to say it has some.
    Words guessed from a question assert only in a frame: after a copula, an auxiliary, a
    negation or a quantifier ("is not positive", "doesn't support", "no fracture")."""
    words = re.findall(r"[\w']+", clause[: m.start()].lower())
    if not words:
        return False  # the clause's subject: "Sarcasm depends on tone"
    if curated and all(w in _POSSESSIVES for w in words):
        # "the humour is plain": a predicate must follow ("sarcasm is", cut off, asserts nothing)
        return len(re.findall(r"[\w']+", clause[m.end() :])) >= 2
    if curated and words[-1] in _POSSESSIVES:
        return True  # an object: "it earns its laugh", "that is the joke"
    last = words[-1]
    if last in _ARTICLES or last in ("of",):
        # "is hardly a joke", "lacks any humour", "no sign of a fracture", "gets a laugh",
        # "call this a joke"
        rest = [w for w in words[:-1] if w not in _ARTICLES and w != "of"]
        if not rest:
            return False
        before = rest[-1]
        if before in ("it", "this", "that", "them") and len(rest) > 1:
            before = rest[-2]
        if before in _EVIDENCE_OF or _ASSERTING.fullmatch(before):
            return True
        if before == "for" and re.search(
            r"\b(?:wait|waiting|hope|hoping|look|looking|search|searching)\b", " ".join(rest[-5:])
        ):
            return True  # "hoping for a laugh": named as what is missing (a negator, above)
        return curated and before not in _DETERMINERS and before not in _PREPOSITIONS
    if last in ("and", "or", "nor"):
        # "is adorable and funny" (asserted) vs "between a catchy headline and clickbait" (named)
        for word in reversed(words[:-1]):
            if _ASSERTING.fullmatch(word) and word not in _ARTICLES:
                return True
            if word in _DETERMINERS or word in _ARTICLES or word in _PREPOSITIONS:
                return False
        return False
    if last in _DETERMINERS:
        return False
    if curated:
        return True
    return any(_ASSERTING.fullmatch(w) or _NEGATORS.fullmatch(w) for w in words[-3:])


def clauses(text: str) -> list[tuple[str, int]]:
    out, pos = [], 0
    for m in _CLAUSE_SPLIT.finditer(text):
        out.append((text[pos : m.start()], pos))
        pos = m.end()
    out.append((text[pos:], pos))
    return [(c, p) for c, p in out if c.strip()]


# Quoted words are the input's, not the model's claims: "Neither of the answers is correct" uses…
_QUOTED = re.compile(r"\"[^\"\n]{1,300}\"|“[^”\n]{1,300}”|(?<![\w])'[^'\n]{1,300}?'(?![\w])")


def unquoted(reply: str) -> str:
    """The reply with quoted passages replaced by one placeholder word (same length, so positions
    still hold): "'Oh sure…' mocks the suggestion" keeps a subject, and quotes assert nothing."""
    return _QUOTED.sub(lambda m: m.group()[0] + "Q" * (len(m.group()) - 2) + m.group()[-1], reply)


def clause_reading(reply: str, forced: str, task: Task) -> Reading:
    """What the reply's clauses assert about the question's terms (yes/no tasks), or which single
    option's text it names (multiple choice). Quoted words are the input's, and do not count."""
    shown, reply = reply, unquoted(reply)
    clean = answers.cleaned(reply)
    if not task.is_yes_no:
        return _option_text_reading(reply, clean, forced, task)
    yes_re, no_re = term_patterns(task)
    polarities: list[_Polarity] = []
    curated = is_curated(task)
    for clause, start in clauses(clean.text):
        sign = _clause_polarity(clause, yes_re, no_re, curated)
        if not sign:
            continue
        if _TURN.match(clause):
            polarities = []  # "…not funny. Wait, actually it is funny": the turn replaces what came before
        polarities.append(_Polarity(sign, clause, start))
    total = sum(p.sign for p in polarities)
    if not total:  # nothing asserted, or as much for one answer as for the other
        return Reading("clause", None)
    chosen = [p for p in polarities if p.sign == (1 if total > 0 else -1)][-1]
    answer = "yes" if chosen.sign > 0 else "no"
    lo, hi = clean.span(chosen.start, chosen.start + len(chosen.clause))
    return Reading("clause", stance_of(answer, forced), answer, shown[lo:hi].strip(), position=lo)


def option_mentions(clean: str, task: Task) -> tuple[dict[str, int], dict[str, int]]:
    """Options the text names, not negated: (named in a clause that speaks of the question, e.g.
    "gold is Au" for "What is the chemical symbol for gold?"; named at all), label -> position."""
    asked = {w[:4] for w in re.findall(r"[a-z]{3,}", task.question.lower()) if w not in STOP}
    strong: dict[str, int] = {}
    plain: dict[str, int] = {}
    for clause, start in clauses(clean):
        words = {w[:4] for w in re.findall(r"[a-z]{3,}", clause.lower())}
        about_question = bool(asked & words) and not _NEGATORS.search(clause)
        for label, text in zip(task.options, task.option_texts, strict=False):
            name = text.strip()
            if len(name) < 2:
                continue
            for m in re.finditer(r"(?<!\w)" + re.escape(name) + r"(?:s|es)?(?!\w)", clause, re.I):
                head = clause[max(0, m.start() - 12) : m.start()].lower()
                if re.search(r"\b(?:not|n't|never|than|nor)\W*$", head):
                    continue
                plain.setdefault(label, start + m.start())
                if about_question:
                    strong.setdefault(label, start + m.start())
    return strong, plain


def _option_text_reading(reply: str, clean: Any, forced: str, task: Task) -> Reading:
    """Multiple choice: the one option the reply names as the answer to the question ("gold is
    Au"), else the one option it names at all. A reply naming several names none in particular."""
    strong, plain = option_mentions(clean.text, task)
    named = strong if len(strong) == 1 else plain
    if len(named) != 1:
        return Reading("clause", None)
    ((label, at),) = named.items()
    lo, _ = clean.span(at, at + 1)
    return Reading("clause", stance_of(label, forced), label, around(reply, lo, lo), position=lo)
