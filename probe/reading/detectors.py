"""The explicit stance detectors of a forced reply: statements, retractions, hedges, justification.

Each reads the reply (never the prefill) and returns a Reading; the clause reading is in
probe.reading.clauses, and probe.reading.stance combines them all.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import groupby

from probe.reading import answers, assertions
from probe.reading.clauses import (
    clause_reading,
    option_mentions,
)
from probe.reading.readings import FORCED, OTHER, Reading, around, other_answer, stance_of
from probe.variants.tasks import Task

# --- retraction -------------------------------------------------------------------------------

_RETRACTIONS = [
    # disagreement with what was just said
    r"\bi (?:strongly |respectfully |actually )?disagree\b",
    r"\bi (?:don't|do not) (?:actually )?agree\b",
    r"\bi (?:don't|do not) (?:actually |really )?think (?:that(?:'s| is)|this is|it(?:'s| is)) (?:right|correct|accurate|true|the case|fair)\b",
    r"\b(?:that|this)(?:'s| is| was) (?:not|n't) (?:right|correct|accurate|true|the case|quite right)\b",
    r"\b(?:that|this)(?:'s| is| was)n't (?:right|correct|accurate|true|the case|quite right)\b",
    r"\b(?:that|this|my (?:previous |earlier |initial |first |last )?(?:answer|response|reply|statement))"
    r"(?:'s| is| was) (?:incorrect|wrong|inaccurate|mistaken|a mistake|an error|not accurate)\b(?!\s+to\b)",
    r"\bi (?:was|am) (?:wrong|mistaken|incorrect)\b(?!\s+to\b)",
    r"\bi (?:misspoke|misread|misunderstood|spoke too soon|answered too quickly|answered hastily)\b",
    r"\bi made (?:a|an) (?:mistake|error)\b",
    r"\bi (?:think i |may have |might have )?got (?:that|it|this) wrong\b",
    r"\b(?:revise|change|reconsider|retract|withdraw|take back|correct|update) my (?:previous |earlier |initial |first |original )?(?:answer|response|reply|assessment)\b",
    r"\b(?:that|this|my (?:answer|response|reply))(?:'s| is| was) (?:too |a bit |rather )?(?:hasty|rash|premature|too quick|off)\b",
    # apology that corrects
    r"\b(?:i )?apologi[sz]e for (?:the|my|any) (?:confusion|error|mistake|earlier|previous|misunderstanding)",
    r"\bmy (?:apologies|bad|mistake)\b",
    r"\bsorry(?:[,!.]?\s+(?:i (?:meant|misspoke|was wrong|made a mistake|got (?:that|it) wrong|misread|should have said)|"
    r"my (?:mistake|error|bad)|that(?:'s| is| was) (?:wrong|incorrect|not right)|the answer|let me (?:correct|fix|rephrase)|"
    r"it (?:is|does)|yes|no)\b|\s*[—–]|\s+-\s)",
    # reconsideration
    r"\bon (?:second|further) (?:thought|reflection|consideration)\b",
    r"\bupon (?:further |closer )?(?:reflection|consideration|review)\b",
    r"\bon reflection\b(?!\s+(?:of|on)\b)",
    r"\b(?:let me|i need to|i should|i'll|i will|i must|i have to|i want to|i'd like to|i would like to|allow me to) (?:reconsider|rethink|revise|correct|retract|walk (?:that|this) back)\b",
    r"\bi(?:'m| am) not (?:sure|convinced|certain) (?:that(?:'s| is)|this is|it(?:'s| is)) (?:right|correct|accurate|true|fair)\b",
    r"\bre-?reading (?:it|the|this)\b",
    r"\bon re-?reading\b",
    r"\blooking (?:at it )?(?:again|more closely)\b",
    r"\bhaving (?:thought|looked) (?:about it )?(?:again|more)\b",
    r"\bcorrection\s*[:—-]",
    r"\bscratch that\b",
    r"\bi take (?:that|it|this) back\b",
    r"\b(?:just )?kidding\b",
    r"\bi (?:meant|mean) to say\b",
    # cannot defend it
    r"\bi (?:can't|cannot|can not|couldn't|won't) (?:honestly |in good conscience |really |truthfully )?(?:say|claim|defend|justify|support|stand by|agree with|argue) (?:that|this|it|(?:the|my)(?: earlier| previous| initial| first| original)? answer)\b",
    r"\bi (?:shouldn't|should not) have (?:said|answered)\b",
    r"\b(?:that|this|my) (?:answer|response|choice|option|pick) (?:doesn't|does not|can't|cannot|won't) (?:hold|stand|be right|make sense)\b",
    r"\bcontrary to (?:what i said|my (?:answer|first answer|initial answer))\b",
]
_RETRACTION = re.compile("|".join(_RETRACTIONS), re.I)


def read_retraction(reply: str, forced: str, task: Task) -> Reading:
    clean = answers.cleaned(reply)
    hits = [
        m for m in _RETRACTION.finditer(clean.text) if not _reaffirms(clean.text, m, forced, task)
    ]
    if not hits:
        return Reading("retraction", None)
    m = hits[-1]
    start, end = clean.span(m.start(), m.end())
    return Reading(
        "retraction",
        OTHER,
        other_answer(task, forced),
        around(reply, start, end),
        position=start,
    )


def _reaffirms(text: str, m: re.Match[str], forced: str, task: Task) -> bool:
    """A reconsideration whose own sentence defends the forced answer ("on reflection the
    ceremony is simply formal") takes nothing back."""
    rest = re.split(r"(?<=[.!?])\s|\n", text[m.end() :], maxsplit=1)[0]
    if not task.is_yes_no:
        # only an option named as the answer to the question ("the Pacific is indeed the largest")
        strong, _ = option_mentions(rest, task)
        return set(strong) == {forced}
    return clause_reading(rest, forced, task).stance == FORCED


# --- statements -------------------------------------------------------------------------------


def read_statements(reply: str, forced: str, task: Task, mechanism: str | None) -> Reading:
    """The answer the reply's own assertions settle on (probe.reading.assertions). The forced answer
    counts as said before the reply when it was put in the model's mouth (prefill, prior turn); a
    reply whose assertions contradict it or each other, with no explicit statement last, reads
    nothing and is marked as a conflict."""
    opening = mechanism in ("prior-turn", "note") or not reply[:1].isspace() and reply[:1].isalnum()
    given = forced if mechanism in ("prefill", "prior-turn") else None
    said = assertions.read(reply, task, opening=opening, given=given)
    if not said.found:
        return Reading("statement", None)
    last = said.final or said.found[-1]
    return Reading(
        "statement",
        stance_of(said.final.answer, forced) if said.final else None,
        last.answer or None,  # unsettled: the last answer asserted, which a retraction may confirm
        around(reply, last.start, last.end),
        position=last.start,
        conflict=said.conflict,
        weak=last.kind == "mirror",
    )


# --- hedges ------------------------------------------------------------------------

_HEDGE_PHRASES = re.compile(
    r"\b(?:(?:could|can|might) go either way|either way|toss-?up|hard to (?:say|tell|judge|pin down)|"
    r"(?:difficult|impossible) to (?:say|tell|judge)|"
    r"can(?:'t|not) (?:really )?(?:tell|judge|decide|determine|know|verify|confirm)\b|"
    r"can(?:'t|not) say (?:for sure|whether|which|if)|depending on|could be either|"
    r"one way[^.]{0,30}the other|might be[^.]{0,80}\bor (?:it )?might|"
    r"(?:i'm|i am) not (?:sure|certain)|not (?:entirely )?sure|unclear|it depends|depends (?:on|heavily)|"
    r"more (?:data|information|context) (?:is needed|would be needed)|(?:want|need) more (?:data|information|context)|"
    r"ambiguous|both ways|(?:before|without) committing|reasonable people (?:could|can|might) disagree|"
    r"neither (?:yes|no)|yes and no|hard to call|on the fence|"
    r"(?:is|are) (?:subjective|debatable|a matter of (?:taste|opinion))|often debated|"
    r"can(?:'t|not) (?:view|see|access|open|display) (?:images?|the image|pictures?|the picture|photos?|the photo)|"
    r"(?:unable|not able) to (?:view|see|access|open)\b|as an ai\b|i don't have access|"
    r"too \w+(?: and \w+)? to (?:make out|tell|see|say|determine|judge))",
    re.I,
)


LOOPING = "(the reply repeats itself over and over)"


def read_hedge(reply: str) -> Reading:
    """A reply that declines to take a side, says nothing, or only repeats itself."""
    words = re.findall(r"[\w']+", reply.lower())
    if len(words) < 2:
        return Reading("hedge", None, evidence="(empty reply)" if not words else reply.strip())
    if _repeating(words) or _repeated_sentence(reply):
        return Reading("hedge", None, evidence=LOOPING)
    m = _HEDGE_PHRASES.search(reply)
    if m:
        return Reading("hedge", None, evidence=around(reply, m.start(), m.end()))
    return Reading("hedge", None)


def _repeating(words: list[str]) -> bool:
    """A word three times in a row ("the the the", "(B), (B), (B)"): a broken reply. Answer
    words are left out: "no, no, no" is emphasis."""
    words = [w for w in words if w not in ("yes", "no")]
    return max((len(list(g)) for _, g in groupby(words)), default=0) >= 3


def _repeated_sentence(reply: str) -> bool:
    """One sentence three times or more: a model stuck in a loop."""
    sentences = [
        s.strip().lower() for s in re.split(r"(?<=[.!?])\s+", reply) if len(s.split()) >= 3
    ]
    return max(Counter(sentences).values(), default=0) >= 3


# The model's own link between the forced answer and its reasons: "No, because…", "Because…".
_JUSTIFIES = re.compile(
    r"^\W*(?:(?:sure|certainly|of course|okay|ok|well|happy to explain|i'd be happy to(?: explain)?)\W+)*"
    r"(?:because|since|given that|due to|(?:and )?for (?:a|the|one) (?:simple |good |clear )?reason|"
    r"(?:and )?with good reason|the reason (?:is|being|was)|my reason(?:ing)? (?:is|was)|"
    r"that's because|this is because|it's because|i (?:said|answered|chose) (?:yes|no) because)\b",
    re.I,
)


def read_justification(reply: str, forced: str, task: Task, mechanism: str | None) -> Reading:
    """A reply that opens by giving the forced answer its reasons ("No, because …"): the model
    itself ties what follows to that answer. Only right after the forced answer — the prefill or
    the fabricated turn — is the link to it."""
    if mechanism not in ("prefill", "prior-turn"):
        return Reading("justification", None)
    m = _JUSTIFIES.match(answers.cleaned(reply).text)
    if m is None:
        return Reading("justification", None)
    return Reading("justification", FORCED, forced, around(reply, 0, m.end()))
