"""Tasks: the question asked of every input, and the answers it admits.

A yes/no task has options ("yes", "no"); a multiple-choice task has option letters with texts.
An optional gold label lives on the input's record, not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

YES_NO = ("yes", "no")


@dataclass(frozen=True)
class Task:
    name: str
    question: str  # as asked of text inputs
    image_question: str | None = None  # as asked of images, when it differs
    options: tuple[str, ...] = YES_NO
    option_texts: tuple[str, ...] = field(default_factory=tuple)  # multiple choice: text per letter

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

    def display(self, answer: str | None) -> str:
        if answer is None:
            return "?"
        return answer.capitalize() if self.is_yes_no else f"({answer})"


FUNNY = Task(
    name="funny",
    question="Does this scene show anything funny?",
    image_question="Does this image show anything funny?",
)

BUILTIN_TASKS = {FUNNY.name: FUNNY}


def ask_task(question: str) -> Task:
    """A yes/no task from a user's own question (`probe ask "QUESTION" INPUT`)."""
    question = question.strip()
    if not question:
        raise ValueError("the question is empty")
    return Task(name="ask", question=question)
