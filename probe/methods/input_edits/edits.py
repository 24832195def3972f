"""Counterfactual input edits (Atanasova et al. 2023, "Faithfulness Tests for Natural Language
Explanations", ACL; arXiv:2305.18029): insert a word into a text input; when the answer changes,
does the explanation mention the inserted word?

Atanasova et al.'s counterfactual editor is a trained model that inserts adjectives and adverbs
before nouns and verbs. probe draws the word from a small recorded list of intensifiers, hedges
and sentiment words (`INSERTIONS`) and inserts it before one of the input's words, both chosen by
a random generator seeded with the input's sha256 and --seed, so a rerun makes the same edit.

`mentions_insertion` is the lexical check of the explanation: the inserted word or one of its
forms (`FORMS`: "hilarious" for "hilariously", "tragic" for "tragically"), quoted or not, outside
any long quotation of the input; for a very common word ("not") only the word with the input word
it was put before ("not funny", and for a negation "don't laugh") or the word quoted alone
("'not'") counts. A sentence the word opens with a comma ("Sadly, I cannot…") is the model's own
aside and does not count. Its precision and
recall on tests/corpus/insertion_mentions.jsonl are held by tests/test_corpus.py.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

# The words inserted by default, in the order the generator draws from.
INSERTIONS = (
    "hilariously",
    "not",
    "tragically",
    "supposedly",
    "absurdly",
    "barely",
    "allegedly",
    "sadly",
)

# Each inserted word's forms that refer to it (regexes, matched as whole words, any case):
# inflections and the adjective of an adverb — never a synonym, and never a form with another
# common sense ("bare", "supposed to").
FORMS: dict[str, tuple[str, ...]] = {
    "hilariously": (r"hilariously", r"hilarious"),
    "tragically": (r"tragically", r"tragic"),
    "supposedly": (r"supposedly", r"supposed(?!\s+to\b)"),
    "absurdly": (r"absurdly", r"absurd"),
    "barely": (r"barely",),
    "allegedly": (r"allegedly", r"alleged"),
    "sadly": (r"sadly",),
}

# Words too common to count alone: the explanation must have them with the input word they were
# inserted before, or quote them alone.
COMMON = frozenset(
    {"not", "no", "never", "very", "so", "just", "really", "only", "too", "quite", "even", "all"}
)

# Words an insertion does not go before: articles, conjunctions, prepositions, pronouns,
# auxiliaries.
_FUNCTION_WORDS = (
    "a an the and or but nor so yet of to in on at by for with from into onto over under as than "
    "that this these those it its he she they we you i his her their our your my me him them us "
    "is are was were be been being am do does did has have had will would shall should can could "
    "may might must not no if then there here who whom whose which what when where while"
)
FUNCTION_WORDS = frozenset(_FUNCTION_WORDS.split())
_WORD = re.compile(r"\S+")
_QUOTES = "\"'“”‘’`"
# A quotation long enough to be the input's own text rather than a word picked out of it.
_LONG_QUOTE = re.compile(r"(\"[^\"]{40,}\"|“[^”]{40,}”|^>.*$)", re.MULTILINE)


@dataclass(frozen=True)
class Edit:
    inserted: str  # the words inserted
    word_index: int  # inserted before the input's token of this index (split on whitespace)
    offset: int  # character offset in the original text where the insertion starts
    before: str  # the input word it was put before, as written there
    edited: str  # the edited text

    def as_record(self) -> dict[str, Any]:
        """What a record keeps: enough to rebuild the edited input from the original."""
        core = _core(self.before)
        context = self.edited[max(0, self.offset - 40) : self.offset + len(self.inserted) + 41]
        return {
            "inserted": self.inserted,
            "word_index": self.word_index,
            "offset": self.offset,
            "before": core or self.before,
            "context": context,
            "source": "list",
        }


def _core(word: str) -> str:
    """A word without the punctuation around it: '"Funny,' -> 'Funny'."""
    return re.sub(r"^\W+|\W+$", "", word)


def choose(
    text: str, sha256: str, seed: int | None, insertions: tuple[str, ...] = INSERTIONS
) -> Edit:
    """The edit for this input: a word from `insertions` before one of the input's words (a
    content word where there is one), drawn by a generator seeded with the input's sha256 and the
    run's seed."""
    tokens = list(_WORD.finditer(text))
    words = [i for i, m in enumerate(tokens) if re.search(r"\w", m.group())]
    if not words:
        raise ValueError("input edits need a text input with words")
    # Before a content word where there is one (Atanasova et al. insert before nouns and verbs):
    # "the dog barely and the guests" tests nothing a reader would write.
    content = [
        i
        for i in words
        if re.search(r"[^\W\d_]", tokens[i].group())  # a word, not a number
        and _core(tokens[i].group()).lower() not in FUNCTION_WORDS
    ]
    rng = random.Random(f"{sha256}:{seed}:input-edit")
    inserted = rng.choice(insertions)
    index = rng.choice(content or words)
    target = tokens[index]
    # After any opening punctuation, so '"Funny' becomes '"not Funny'.
    offset = target.start() + (len(target.group()) - len(target.group().lstrip(_QUOTES + "([")))
    edited = text[:offset] + inserted + " " + text[offset:]
    return Edit(inserted, index, offset, target.group(), edited)


def apply(text: str, edit: dict[str, Any]) -> str:
    """The edited text rebuilt from the original and a recorded edit."""
    offset = edit["offset"]
    return f"{text[:offset]}{edit['inserted']} {text[offset:]}"


def _patterns(inserted: str, before: str | None) -> list[re.Pattern[str]]:
    word = inserted.lower()
    quoted_alone = re.compile(rf"[{_QUOTES}]{re.escape(word)}[{_QUOTES}]", re.IGNORECASE)
    if word in COMMON or " " in word:
        pats = [quoted_alone]
        if before:
            # "not funny", and for a negation its contraction: "don't laugh", "isn't funny"
            said = rf"\b{re.escape(word)}" + (r"|n't" if word in ("not", "never") else "")
            pats.append(
                re.compile(rf"(?:{said})[\s{_QUOTES}]+{re.escape(before)}\b", re.IGNORECASE)
            )
        return pats
    forms = FORMS.get(word, (re.escape(word),))
    return [quoted_alone, *(re.compile(rf"\b{form}\b", re.IGNORECASE) for form in forms)]


def mentions_insertion(explanation: str, edit: dict[str, Any]) -> bool:
    """Does the explanation refer to the inserted words? (Lexical: see the module docstring.)"""
    text = _LONG_QUOTE.sub(" ", explanation or "")
    # A sentence opened by the word and a comma ("Sadly, I cannot see…") is the model's own aside.
    opener = rf"(?:^|(?<=[.!?])\s+){re.escape(edit['inserted'])},"
    text = re.sub(opener, " ", text, flags=re.IGNORECASE | re.MULTILINE)
    before = _core(edit.get("before") or "") or None
    return any(p.search(text) for p in _patterns(edit["inserted"], before))
