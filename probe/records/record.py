"""Building the JSONL record of one input (its fields in probe.records.schema), and writing it."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, cast

from probe.errors import ProbeError
from probe.inputs.load import Input
from probe.records import verdict as compare
from probe.records.schema import SCHEMA, Record, VariantResult, _Reply
from probe.variants.tasks import Task

_REPLY_KEYS = tuple(_Reply.__annotations__)
_ANNOTATIONS = frozenset(VariantResult.__annotations__) - frozenset(_REPLY_KEYS)


def variant_result(**fields: Any) -> VariantResult:
    """The one place a variant's entry is built: every reply field, in the record's order, None
    (cached: False; explanation, raw: "") unless given. An unknown field is a bug, not a record."""
    unknown = set(fields) - set(_REPLY_KEYS)
    if unknown:
        raise TypeError(f"not a variant field: {', '.join(sorted(unknown))}")
    result: dict[str, Any] = dict.fromkeys(_REPLY_KEYS)
    result.update(explanation="", raw="", cached=False)
    result.update(fields)
    if result["p_yes"] is not None:
        result["p_yes"] = round(result["p_yes"], 6)
    if result["p_answers"] is not None:
        result["p_answers"] = {k: round(v, 6) for k, v in result["p_answers"].items()}
    if result["latency_s"] is not None:
        result["latency_s"] = round(result["latency_s"], 4)
    return cast(VariantResult, result)


def annotate(result: VariantResult | dict[str, Any], **fields: Any) -> None:
    """Add what a later step learned about a variant's entry (see VariantResult, and the fields
    a method declares for its readers: Method.fields)."""
    unknown = set(fields) - _ANNOTATIONS - set(_REPLY_KEYS)
    if unknown:
        from probe.variants.registry import fields as declared

        unknown -= set(declared())
    if unknown:
        raise TypeError(f"not a variant field: {', '.join(sorted(unknown))}")
    result.update(fields)  # type: ignore[typeddict-item]


def variant_error(exc: ProbeError, *, kind: str | None = None, **fields: Any) -> VariantResult:
    error = exc.as_record()
    if kind:
        error["type"] = kind
    return variant_result(error=error, **fields)


def _input_part(inp: Input) -> dict[str, Any]:
    part: dict[str, Any] = {"path": inp.path, "sha256": inp.sha256, "kind": inp.kind}
    if inp.path is None and inp.text is not None:
        # Inline text (a JSONL line's text, stdin) exists nowhere else: kept so that a report can
        # show what was asked. A file input is named by its path and sha256 instead.
        part["text"] = inp.text
    return part


def probe_record(
    inp: Input,
    task: Task,
    model: str,
    variants: dict[str, VariantResult],
    *,
    gold: str | None = None,
) -> Record:
    record: Record = {
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
    }
    settle(record)
    return record


def settle(record: Record) -> None:
    """Set the record-level fields that follow from its variants (flips are set on the
    variants): again whenever a variant's answer may have changed (after a judge)."""
    variants = record["variants"]
    compare.mark_flips(variants)
    record["order_agreement"] = compare.order_agreement(variants)
    record["verdict"] = compare.verdict(variants)


def error_record(
    inp: Input | None,
    task: Task,
    model: str,
    exc: ProbeError,
    *,
    id: str | None = None,
    path: str | None = None,
) -> Record:
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
    and answer extraction's included."""
    if record.get("error"):
        return False
    return not any(
        (v.get("error") and v["error"].get("type") != "skipped")
        or v.get("judge_errors")
        or (isinstance(v.get("extraction"), dict) and v["extraction"].get("error"))
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
