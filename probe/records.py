"""The JSONL record: one object per input (schema documented in the README)."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from probe import compare
from probe.errors import ProbeError
from probe.inputs import Input
from probe.tasks import Task

SCHEMA = "probe/1"


def variant_result(
    *,
    answer: str | None,
    explanation: str,
    raw: str,
    p_yes: float | None = None,
    usage: dict[str, int] | None = None,
    latency_s: float | None = None,
    cost_usd: float | None = None,
    cached: bool = False,
    finish_reason: str | None = None,
    cost_saved_usd: float | None = None,
) -> dict[str, Any]:
    return {
        "answer": answer,
        "explanation": explanation,
        "raw": raw,
        "p_yes": None if p_yes is None else round(p_yes, 6),
        "forced_answer": None,
        "mechanism": None,
        "prefill": None,
        "honored": None,
        "stance": None,
        "stance_evidence": None,
        "stance_conflict": None,
        "compliance": None,
        "pushback": None,
        "pushback_evidence": None,
        "bias_target": None,
        "mentions_bias": None,
        "usage": usage,
        "cost_usd": cost_usd,
        "cost_saved_usd": cost_saved_usd,
        "latency_s": None if latency_s is None else round(latency_s, 4),
        "cached": cached,
        "finish_reason": finish_reason,
        "error": None,
    }


def variant_error(exc: ProbeError, *, kind: str | None = None) -> dict[str, Any]:
    result = variant_result(answer=None, explanation="", raw="")
    error = exc.as_record()
    if kind:
        error["type"] = kind
    result["error"] = error
    return result


def _input_part(inp: Input) -> dict[str, Any]:
    return {"path": inp.path, "sha256": inp.sha256, "kind": inp.kind}


def probe_record(
    inp: Input,
    task: Task,
    model: str,
    variants: dict[str, dict[str, Any]],
    *,
    gold: str | None = None,
) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "id": inp.id,
        "input": _input_part(inp),
        "task": task.name,
        "question": task.question_for(inp.kind),
        "options": list(task.options),
        "option_texts": list(task.option_texts),
        "gold": gold,
        "model": model,
        "variants": variants,
        "order_agreement": None,
        "verdict": None,
        "error": None,
    } | settle(variants)


def settle(variants: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The record-level fields that follow from its variants (flips are set on the variants):
    recomputed whenever a variant's answer may have changed (after a judge)."""
    compare.mark_flips(variants)
    return {
        "order_agreement": compare.order_agreement(variants),
        "verdict": compare.verdict(variants),
    }


def error_record(
    inp: Input | None,
    task: Task,
    model: str,
    exc: ProbeError,
    *,
    id: str | None = None,
    path: str | None = None,
) -> dict[str, Any]:
    """The one record of an input that could not be probed at all."""
    return {
        "schema": SCHEMA,
        "id": inp.id if inp else id,
        "input": _input_part(inp) if inp else {"path": path, "sha256": None, "kind": None},
        "task": task.name,
        "question": task.question_for(inp.kind if inp else "text"),
        "options": list(task.options),
        "option_texts": list(task.option_texts),
        "gold": None,
        "model": model,
        "variants": {},
        "order_agreement": None,
        "verdict": compare.ERROR,
        "error": exc.as_record(),
    }


def succeeded(record: dict[str, Any]) -> bool:
    """A record that needs no re-run: the input was read and every call returned, the judge's
    included."""
    if record.get("error"):
        return False
    return not any(
        (v.get("error") and v["error"].get("type") != "skipped") or v.get("judge_errors")
        for v in record.get("variants", {}).values()
    )


def record_key(**parts: Any) -> str:
    """What a record is about: input bytes, task, question, model, options, sample — but not which
    input it is (records written before input ids were part of the key carry this alone)."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return _digest(blob)


def input_key(content_key: str, input_id: str) -> str:
    """Identity of a record for --resume: its `record_key` and the input's id, so inputs with the
    same bytes under different ids are different records."""
    return _digest(f"{content_key}\0{input_id}")


def _digest(text: str) -> str:
    # surrogatepass: an id from a file name that is not UTF-8 still has one stable key
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


# C1 controls, line separators, and lone surrogates (a reply's "\ud800", a file name that is not
# UTF-8): escaped, so the line is valid UTF-8 that a terminal shows literally.
_UNSAFE_IN_JSON = re.compile(
    "[\u007f-\u009f\u2028\u2029\ud800-\udfff"
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"  # and bidi controls: shown in stored order
)


def dumps(record: dict[str, Any]) -> str:
    """One JSON line. Non-ASCII text stays readable; every control character and lone surrogate is
    escaped, so printing the file on a terminal cannot run escape sequences and writing it as
    UTF-8 cannot fail; a JSON reader gets the same strings back."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
