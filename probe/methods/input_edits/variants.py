"""The input-edit variant: decide-first on the input with one word inserted."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from probe.inputs.load import Input
from probe.methods.input_edits import edits
from probe.variants.tasks import Task
from probe.variants.variant import Prompt, VariantOptions, decide_first, register


def _reads(explanation: str, prompt: Prompt) -> dict[str, Any]:
    """Does the explanation mention the word inserted (the record field `mentions_insertion`)?"""
    if prompt.edit is None:
        return {}
    return {"mentions_insertion": edits.mentions_insertion(explanation, prompt.edit)}


@register(
    "input-edit",
    "decide-first on the input with one word inserted (Atanasova et al.)",
    reads=_reads,
)
def input_edit(task: Task, inp: Input, opts: VariantOptions) -> Prompt:
    """Atanasova et al.'s counterfactual edit: a word from edits.INSERTIONS inserted before one of
    the input's words (both drawn, seeded by the input and --seed), then decide-first."""
    if inp.kind != "text" or not (inp.text or "").strip():
        raise ValueError("input edits need a text input")
    edit = edits.choose(inp.text or "", inp.sha256, opts.seed)
    prompt = decide_first(task, replace(inp, text=edit.edited), opts)
    return replace(prompt, edit=edit.as_record())
