"""Tasks: the question asked of every input, the answers it admits, and optional few-shot examples.

A yes/no task has options ("yes", "no"); a multiple-choice task has option letters ("A", "B", …)
with a text each, fixed by the task or given per input. A gold label belongs to an input, not to
the task. Tasks come built in (`probe tasks`) or from a TOML file (format in the README).
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from probe.errors import UsageError

YES_NO = ("yes", "no")
DEFAULT_VARIANTS = ("decide-first", "forced", "explain-first")


@dataclass(frozen=True)
class Example:
    """A solved few-shot example: input, its answer (an option label) and the reasoning."""

    input: str
    answer: str
    explanation: str = ""
    option_texts: tuple[str, ...] = ()  # multiple choice: this example's own choices


@dataclass(frozen=True)
class Task:
    name: str
    question: str  # as asked of text inputs
    image_question: str | None = None  # as asked of images, when it differs
    options: tuple[str, ...] = YES_NO
    option_texts: tuple[str, ...] = field(default_factory=tuple)  # multiple choice: text per letter
    examples: tuple[Example, ...] = ()
    variants: tuple[str, ...] = DEFAULT_VARIANTS  # run when --variants is not given
    description: str = ""
    # Yes/no tasks: words whose assertion argues yes, and words whose assertion argues no, read by
    # the stance detector (probe.reading.stance); a trailing "*" matches any ending. Empty: derived from
    # the question.
    terms: tuple[str, ...] = ()
    contrary_terms: tuple[str, ...] = ()

    @property
    def is_yes_no(self) -> bool:
        return self.options == YES_NO

    def question_for(self, kind: str) -> str:
        if kind == "image" and self.image_question:
            return self.image_question
        return self.question

    def opposite(self, answer: str) -> str:
        """The other answer of a yes/no task."""
        if not self.is_yes_no:
            raise ValueError(f"task {self.name!r} is not yes/no: no single opposite")
        return "no" if answer == "yes" else "yes"

    def normalise(self, answer: Any) -> str | None:
        """An answer label as records hold it ("yes", "B"), or None if the task has no such option."""
        if answer is None:
            return None
        text = str(answer).strip().strip("()").strip()
        label = text.lower() if self.is_yes_no else text.upper()
        return label if label in self.options else None

    def with_choices(self, texts: list[str] | tuple[str, ...]) -> Task:
        """This task with an input's own multiple-choice options (letters A, B, … in order)."""
        if not 2 <= len(texts) <= 26:
            raise ValueError("a multiple-choice input needs between 2 and 26 options")
        return replace(self, options=letters(len(texts)), option_texts=tuple(str(t) for t in texts))

    def display(self, answer: str | None) -> str:
        if answer is None:
            return "?"
        return answer.capitalize() if self.is_yes_no else f"({answer})"


def letters(n: int) -> tuple[str, ...]:
    return tuple(string.ascii_uppercase[:n])


FUNNY = Task(
    name="funny",
    question="Does this scene show anything funny?",
    image_question="Does this image show anything funny?",
    description="Does the input show anything funny? (yes/no)",
    terms=(
        "funn*",
        "humo*",
        "amus*",
        "hilari*",
        "comic*",
        "comed*",
        "joke",
        "jokes",
        "joking",
        "laugh*",
        "absurd*",
        "silly",
        "sillier",
        "silliness",
        "ridiculous*",
        "whimsical*",
        "slapstick",
        "witty",
        "wit",
        "gag",
        "gags",
        "chuckl*",
        "giggl*",
        "ironic*",
        "irony",
        "playful*",
        "lighthearted*",
        "light-hearted*",
        "goofy",
        "zany",
        "farc*",
        "entertaining",
        "unexpected",
        "incongru*",
        "ludicrous*",
        "priceless",
        "hysterical*",
        "droll",
        "quirky",
        "charming*",
        "delightful*",
        "cute*",
        "adorable",
        "endearing",
        "mischiev*",
        "antics",
        "chaotic",
        "chaos",
        "comedy",
        "out of the ordinary",
        "made me smile",
        "makes me smile",
        "make you smile",
        "makes you smile",
        "help but smile",
        "out of place",
        "punchline*",
        "pratfall*",
        "sitcom",
        "comic relief",
        "laughable",
        "witty",
    ),
    contrary_terms=(
        "serious*",
        "solemn*",
        "ordinary",
        "mundane",
        "normal",
        "routine",
        "dull",
        "boring",
        "bland",
        "unremarkable",
        "sad",
        "sadness",
        "tragic*",
        "somber",
        "sombre",
        "grave",
        "everyday",
        "typical",
        "straightforward",
        "dry",
        "unfunny",
        "straight face",
        "bored",
        "humorless",
        "humourless",
        "tedious",
        "formal",
        "dignified",
        "earnest",
        "sincere",
        "heartfelt",
        "touching",
        "uneventful",
        "unamusing",
        "bureaucratic",
        "businesslike",
        "matter-of-fact",
        "mundanity",
        "tense",
        "stressful",
        "poignant",
    ),
)
SARCASTIC = Task(
    name="sarcastic",
    question="Is this text sarcastic?",
    image_question="Is this image sarcastic?",
    description="Is the input sarcastic? (yes/no)",
    terms=(
        "sarcas*",
        "ironic*",
        "irony",
        "mock*",
        "facetious*",
        "tongue-in-cheek",
        "snark*",
        "sardonic*",
        "deadpan",
        "wry",
        "wryly",
        "tongue in cheek",
        "satiric*",
        "sneer*",
        "passive-aggressive",
        "exaggerat*",
        "feigned",
    ),
    contrary_terms=(
        "sincere*",
        "genuine*",
        "earnest*",
        "literal*",
        "straightforward",
        "heartfelt",
        "honest",
        "serious*",
        "matter-of-fact",
        "face value",
        "meant it",
        "enthusiastic*",
        "grateful",
    ),
)
CHOICE = Task(
    name="choice",
    question="Which option answers the question in the input?",
    options=letters(2),
    variants=("decide-first", "suggested", "explain-first"),
    description="Multiple choice: each input brings its own question text and `options` list",
)

BUILTIN_TASKS = {t.name: t for t in (FUNNY, SARCASTIC, CHOICE)}


def ask_task(question: str) -> Task:
    """A yes/no task from a user's own question (`probe ask "QUESTION" INPUT`)."""
    question = question.strip()
    if not question:
        raise ValueError("the question is empty")
    return Task(name="ask", question=question)


def load_task(spec: str) -> Task:
    """A built-in task by name, or a TOML task file by path."""
    if spec in BUILTIN_TASKS:
        return BUILTIN_TASKS[spec]
    path = Path(spec)
    if not path.is_file():
        known = ", ".join(BUILTIN_TASKS)
        raise UsageError(f"--task {spec}: no such task file, and not a built-in task ({known})")
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not a valid TOML task file ({exc})") from None
    try:
        return task_from_dict(data, default_name=path.stem)
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{path}: {exc}") from None


def _words(data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(w, str) and w.strip() for w in value):
        raise ValueError(f"'{key}' must be a list of words (a trailing * matches any ending)")
    return tuple(w.strip() for w in value)


def task_from_dict(data: dict[str, Any], *, default_name: str) -> Task:
    unknown = set(data) - {
        "name",
        "description",
        "question",
        "image_question",
        "options",
        "variants",
        "examples",
        "terms",
        "contrary_terms",
    }
    if unknown:
        raise ValueError(f"unknown key(s): {', '.join(sorted(unknown))}")
    if not isinstance(data.get("question"), str) or not data["question"].strip():
        raise ValueError("'question' (a string) is required")
    options = data.get("options", ["yes", "no"])
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise ValueError(
            '\'options\' must be a list of strings: ["yes", "no"] or the choices\' texts'
        )
    labels: tuple[str, ...]
    texts: tuple[str, ...]
    if [o.strip().lower() for o in options] == list(YES_NO):
        labels, texts = YES_NO, ()
    else:
        labels, texts = letters(len(options)), tuple(options)
        if not 2 <= len(options) <= 26:
            raise ValueError("'options' needs between 2 and 26 choices")
    task = Task(
        name=str(data.get("name") or default_name),
        question=data["question"].strip(),
        image_question=data.get("image_question"),
        options=labels,
        option_texts=texts,
        variants=tuple(data.get("variants") or DEFAULT_VARIANTS),
        description=str(data.get("description", "")),
        terms=_words(data, "terms"),
        contrary_terms=_words(data, "contrary_terms"),
    )
    examples = []
    for i, ex in enumerate(data.get("examples", []), start=1):
        choices = tuple(ex.get("options", ()))
        scope = task.with_choices(choices) if choices else task
        answer = scope.normalise(ex.get("answer"))
        if answer is None:
            raise ValueError(
                f"example {i}: answer {ex.get('answer')!r} is not one of {list(scope.options)}"
            )
        examples.append(
            Example(
                input=str(ex["input"]),
                answer=answer,
                explanation=str(ex.get("explanation", "")),
                option_texts=choices,
            )
        )
    return replace(task, examples=tuple(examples))
