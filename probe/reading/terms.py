"""The words of a yes/no question that argue yes and those that argue no, for the clause reading.

A task's own terms when it has them (built-in tasks, task files); else the question's last words as
stems, their opposites, and the lexicon of a built-in task that asks about the same thing.
"""

from __future__ import annotations

import re
from functools import lru_cache

from probe.variants.tasks import Task

# Opposites for the terms a question of one's own brings (probe ask "Is this review positive?").
_OPPOSITES = {
    "positi": ("negative*", "critical*", "complain*", "unfavo*", "scathing", "disappoint*"),
    "negati": ("positive*", "favo*", "prais*", "glowing", "enthusias*", "rave*"),
    "phish": ("legitimate*", "genuine*", "authentic*", "benign", "harmless", "routine", "ordinary"),
    "safe": (
        "unsafe",
        "dangerous*",
        "vulnerab*",
        "risky",
        "toxic*",
        "poison*",
        "harmful",
        "hazard*",
        "deadly",
        "fatal",
        "lethal",
    ),
    "thread": ("race condition*", "race*", "unsafe", "unsynchroni*", "not thread-safe"),
    "vulner": ("safe*", "secure*", "protected", "parameteri*", "sanitized", "escaped"),
    "inject": ("safe*", "secure*", "parameteri*", "sanitized", "escaped", "placeholder*"),
    "support": ("contradict*", "unsupported", "refut*", "irrelevant"),
    "true": ("false*", "untrue", "incorrect*", "wrong"),
    "correc": ("incorrect*", "wrong", "false*", "mistaken"),
    "valid": ("invalid*", "fallac*", "flawed", "unsound"),
    "legiti": ("fake", "fraud*", "scam*", "phish*", "illegitimate"),
    "enforc": ("unenforceable", "void", "invalid*"),
    "dehydr": ("hydrated", "well-hydrated", "euvolemic", "normal*"),
    "hatef": ("respectful*", "benign", "harmless", "neutral", "friendly"),
    "rising": ("falling", "declin*", "decreas*", "flat", "downward"),
    "increa": ("decreas*", "declin*", "falling", "drop*"),
    "likely": ("unlikely",),
    "fair": ("unfair*",),
    "ethic": ("unethical",),
    "accura": ("inaccurate*",),
}


def _term_regex(terms: tuple[str, ...]) -> str:
    """Terms as a regex: each is a word or phrase, or a stem ending in '*' ("amus*")."""
    parts = []
    for term in sorted(terms, key=len, reverse=True):
        words = r"\s+".join(re.escape(w) for w in term.rstrip("*").split())
        if term.endswith("*"):
            parts.append(words + r"[\w-]*")
        else:
            parts.append(words + r"(?:s|es|ed|ing)?")
    return r"(?:" + "|".join(parts) + r")\b"


@lru_cache(maxsize=64)
def terms_for(task: Task) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The words whose assertion argues yes, and those that argue no, for a yes/no task: the
    task's own, else the question's last words, their opposites, and — where the question asks
    about what a built-in task asks about ("Is this photo funny?") — that task's lexicon."""
    if task.terms or task.contrary_terms:
        return task.terms, task.contrary_terms
    from probe.variants.tasks import BUILTIN_TASKS

    terms = derive_terms(task.question)
    opposites = tuple(
        o for t in terms for stem, words in _OPPOSITES.items() if t.startswith(stem) for o in words
    )
    prefixed = tuple(
        f"{p}{t}" for t in terms for p in ("un", "in", "non", "non-", "il", "ir", "im")
    )
    yes, no = terms, opposites + prefixed
    for builtin in BUILTIN_TASKS.values():
        if builtin.terms and _shares_lexicon(terms, builtin.terms):
            yes, no = yes + builtin.terms, no + builtin.contrary_terms
    return yes, no


def _shares_lexicon(terms: tuple[str, ...], lexicon: tuple[str, ...]) -> bool:
    pattern = re.compile(r"\b" + _term_regex(lexicon), re.I)
    return any(
        pattern.fullmatch(t.rstrip("*") + "y") or pattern.fullmatch(t.rstrip("*")) for t in terms
    )


@lru_cache(maxsize=64)
def term_patterns(task: Task) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The task's yes-terms and no-terms, compiled once per task."""
    yes_terms, no_terms = terms_for(task)
    nothing = re.compile(r"(?!x)x")
    yes_re = re.compile(r"\b" + _term_regex(yes_terms), re.I) if yes_terms else nothing
    no_re = re.compile(r"\b" + _term_regex(no_terms), re.I) if no_terms else nothing
    return yes_re, no_re


@lru_cache(maxsize=64)
def is_curated(task: Task) -> bool:
    """Terms written for the task (built-in, a task file, or a built-in lexicon the question
    asks about), not only guessed from its question."""
    if task.terms or task.contrary_terms:
        return True
    from probe.variants.tasks import BUILTIN_TASKS

    terms = derive_terms(task.question)
    return any(b.terms and _shares_lexicon(terms, b.terms) for b in BUILTIN_TASKS.values())


_STOP_WORDS = (
    "is are was were be does do did can could would will should has have had am the a an this that these "
    "those any anything something there it its of in on to for with by at from about as or and input text "
    "image scene picture photo photograph passage document file content contents above shown given here "
    "following below show shows showing contain contains likely really actually probably you your we i "
    "me my our their they he she him her them what which who whom how why when where whether one some "
    "all each every no not"
)
STOP = frozenset(_STOP_WORDS.split())


def derive_terms(question: str) -> tuple[str, ...]:
    """The predicate of a yes/no question, as stems: "Is this review sarcastic?" → ("review*",
    "sarcast*"). The last two content words, each cut to a stem so that inflections match; the
    subject, where it is one of them, is only counted where it is asserted, which a subject is not."""
    words = [w for w in re.findall(r"[a-z][a-z'-]*", question.lower()) if w not in STOP]
    picked = words[-2:] if len(words) >= 2 else words
    return tuple(_stem(w) for w in picked)


def _stem(word: str) -> str:
    for suffix in (
        "ically",
        "ation",
        "ical",
        "ness",
        "able",
        "ible",
        "ing",
        "ion",
        "ity",
        "ous",
        "ful",
        "ic",
        "ed",
        "es",
        "s",
        "y",
        "e",
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)] + "*"
    return word + "*" if len(word) >= 4 else word
