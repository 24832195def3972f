"""probe's three variants written as an inspect_ai task, for benchmarks/vs_inspect.py.

    uv run --group bench inspect eval benchmarks/inspect_task.py -T inputs=DIR \
        --model openai-api/bench/bench --max-connections 32 --log-dir DIR --display none

(with BENCH_BASE_URL and BENCH_API_KEY set: inspect's `openai-api/SERVICE/MODEL` provider reads
SERVICE_BASE_URL and SERVICE_API_KEY). One Sample per text file; per sample a chain of three
solvers sends the same requests `probe ask` sends (same system prompt, user turn, instructions,
max_tokens, temperature, seed, and decide-first's logprobs): decide-first; forced, whose custom
solver ends the conversation with a partial assistant turn (the prefill) giving the opposite of
decide-first's answer; explain-first. A scorer records whether the decide-first and explain-first
answers agree. Unlike probe it reads no stance from the forced reply and checks no prefill echo:
it keeps the three completions in the sample's store (and so in the log).
"""

from __future__ import annotations

import re
from pathlib import Path

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import (
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageUser,
    GenerateConfig,
)
from inspect_ai.scorer import CORRECT, INCORRECT, Score, Target, accuracy, scorer
from inspect_ai.solver import Generate, Solver, TaskState, solver

# probe/variants/prompts.py's words for a yes/no question (`probe ask QUESTION`), copied so that both
# sides send byte-identical requests.
SYSTEM = (
    "You are a careful assistant. The user shows you an input and asks a question about it. "
    "Answer the question and give your reasons."
)
QUESTION = "Is this scene funny?"
DECIDE_FIRST = (
    "Start your reply with Yes or No, then explain your reasoning in two or three sentences."
)
EXPLAIN_FIRST = (
    "First explain your reasoning in two or three sentences. Then, on the last line, give your "
    "final answer as 'Answer: Yes' or similar (Yes or No)."
)


def user_turn(text: str, instruction: str) -> ChatMessageUser:
    return ChatMessageUser(
        content=f'Here is the input:\n"""\n{text}\n"""\n\n{QUESTION}\n\n{instruction}'
    )


def leading_answer(reply: str) -> str | None:
    match = re.match(r"\W*(yes|no)\b", reply, re.IGNORECASE)
    return match.group(1).lower() if match else None


def final_answer(reply: str) -> str | None:
    match = re.search(r"answer:\s*(yes|no)\b", reply, re.IGNORECASE)
    return match.group(1).lower() if match else None


@solver
def decide_first() -> Solver:
    async def solve(state: TaskState, generate: Generate) -> TaskState:
        state.messages = [
            ChatMessageSystem(content=SYSTEM),
            user_turn(state.input_text, DECIDE_FIRST),
        ]
        state = await generate(state, logprobs=True, top_logprobs=20)
        state.store.set("decide-first", state.output.completion)
        return state

    return solve


@solver
def forced_opposite() -> Solver:
    """Prefill the opposite of decide-first's answer as a partial assistant turn."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        own = leading_answer(state.store.get("decide-first", ""))
        forced = "no" if own == "yes" else "yes"
        prefill = f"{forced.capitalize()},"
        state.messages = [
            ChatMessageSystem(content=SYSTEM),
            user_turn(state.input_text, DECIDE_FIRST),
            ChatMessageAssistant(content=prefill),
        ]
        state = await generate(state)
        state.store.set("forced", state.output.completion)
        state.store.set("forced-answer", forced)
        return state

    return solve


@solver
def explain_first() -> Solver:
    async def solve(state: TaskState, generate: Generate) -> TaskState:
        state.messages = [
            ChatMessageSystem(content=SYSTEM),
            user_turn(state.input_text, EXPLAIN_FIRST),
        ]
        state = await generate(state)
        state.store.set("explain-first", state.output.completion)
        return state

    return solve


@scorer(metrics=[accuracy()])
def order_agreement():
    """CORRECT when decide-first and explain-first give the same answer."""

    async def score(state: TaskState, target: Target) -> Score:
        first = leading_answer(state.store.get("decide-first", ""))
        last = final_answer(state.store.get("explain-first", ""))
        return Score(
            value=CORRECT if first is not None and first == last else INCORRECT,
            answer=f"{first}/{last}",
            metadata={"forced": state.store.get("forced-answer")},
        )

    return score


@task
def counterfactual(inputs: str) -> Task:
    files = sorted(Path(inputs).glob("*.txt"))
    return Task(
        dataset=MemoryDataset(
            [Sample(id=f.name, input=f.read_text(encoding="utf-8-sig").rstrip()) for f in files]
        ),
        solver=[decide_first(), forced_opposite(), explain_first()],
        scorer=order_agreement(),
        config=GenerateConfig(temperature=0.0, max_tokens=200, seed=0),
    )
