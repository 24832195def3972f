"""Building the JSONL record of one input (its fields in probe.records.schema), and writing it."""

from __future__ import annotations

import base64
import copy
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
    record["prompt_messages"] = compact_requests(variants, inp)
    settle(record)
    return record


# Where a variant's entry keeps the requests its calls sent: its own, each forcing attempt's,
# each point's (and the edit call's before it), the answer extraction's and its attempts'.
def requests_of(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Every `request` (and `edit_request`) an entry holds, in the order the calls were made."""
    found: list[Any] = [a.get("request") for a in entry.get("attempts") or ()]
    found.append(entry.get("request"))
    for point in entry.get("points") or ():
        found += [point.get("edit_request"), point.get("request")]
    extraction = entry.get("extraction")
    if isinstance(extraction, dict):
        found += [a.get("request") for a in extraction.get("attempts") or ()]
        found.append(extraction.get("request"))
    return [r for r in found if isinstance(r, dict) and isinstance(r.get("messages"), list)]


def compact_requests(variants: dict[str, VariantResult], inp: Input | None) -> list[dict[str, Any]]:
    """The record's `prompt_messages`: every distinct message its requests sent, each once; each
    request's `messages` becomes the list of their indices. An image data URL is replaced by its
    sha256, size in bytes and media type (and, for the input's own image, its size in pixels):
    never inlined. Idempotent: a request already compacted is left alone."""
    table: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    images: dict[str, dict[str, Any]] = {}
    for entry in variants.values():
        for request in requests_of(cast(dict[str, Any], entry)):
            indices = []
            for message in request["messages"]:
                if isinstance(message, int):
                    indices.append(message)
                    continue
                kept = _without_images(message, images, inp)
                key = json.dumps(kept, sort_keys=True, ensure_ascii=False)
                if key not in seen:
                    seen[key] = len(table)
                    table.append(kept)
                indices.append(seen[key])
            request["messages"] = indices
    return table


def request_messages(record: dict[str, Any], request: dict[str, Any]) -> list[dict[str, Any]]:
    """A request's messages as sent, rebuilt from the record (images as their references: see
    docs/records.md for putting the image back)."""
    table = record["prompt_messages"]
    return [copy.deepcopy(table[i]) for i in request["messages"]]


def image_reference(url: str) -> dict[str, Any] | None:
    """{sha256, bytes, media_type} of a base64 data URL's bytes; None for any other URL."""
    head, comma, data = url.partition(",")
    if not (comma and head.startswith("data:") and head.endswith(";base64")):
        return None
    raw = base64.b64decode(data)
    return {
        "sha256": hashlib.sha256(raw).hexdigest(),
        "bytes": len(raw),
        "media_type": head[len("data:") : -len(";base64")],
    }


def _without_images(
    message: dict[str, Any], images: dict[str, dict[str, Any]], inp: Input | None
) -> dict[str, Any]:
    content = message.get("content")
    if not isinstance(content, list):
        return dict(message)
    parts = []
    for part in content:
        url = (part.get("image_url") or {}).get("url") if isinstance(part, dict) else None
        if not isinstance(url, str):
            parts.append(part)
            continue
        if url not in images:
            ref = image_reference(url)
            if ref is not None and inp is not None and inp.image_data_url == url:
                ref["size"] = list(inp.image_size or ())
            images[url] = ref or {"url": url}
        rest = {k: v for k, v in part["image_url"].items() if k != "url"}
        parts.append({**part, "image_url": {**images[url], **rest}})
    return {**message, "content": parts}


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
