"""A variant's transcript for the HTML report: what was asked (the request's messages, where the
record keeps the request), what was put in the model's mouth (the prefill) and what came back (the
reply as the model sent it, `raw`), then any answer extraction's follow-up and reply.

Records written before probe kept requests have no `request`: the page says so and shows the
rest. A request is `{"messages": [...], "prefill", ...}` (or, tolerated, the list of messages
itself); as probe writes it, each message is an index into the record's `prompt_messages`, which
holds every distinct message once (probe.records.record.compact_requests). A message's content is
text or OpenAI-style parts. Images are named, never embedded: a record keeps an image as its
sha256, size and media type, and the input itself is shown above the transcript.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Safe = Callable[[str], str]
MAX_MESSAGES = 50


def _part(part: Any) -> str:
    if isinstance(part, str):
        return part
    if not isinstance(part, dict):
        return f"[{type(part).__name__}]"
    kind = part.get("type")
    if kind == "text" and isinstance(part.get("text"), str):
        return str(part["text"])
    if kind in ("image_url", "input_image", "image"):
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if isinstance(url, str) and url.startswith("data:"):
            media = url[5:].split(";", 1)[0] or "image"
            return f"[image: {media}, {len(url) * 3 // 4 // 1000:,} kB as sent]"
        if isinstance(image, dict):  # a record's reference: {sha256, bytes, media_type, size}
            said = [str(image.get("media_type") or "image")]
            if isinstance(image.get("bytes"), int):
                said.append(f"{image['bytes'] / 1000:,.0f} kB")
            size = image.get("size")
            if isinstance(size, list) and len(size) == 2:
                said.append(f"{size[0]}×{size[1]} px")
            if isinstance(image.get("sha256"), str):
                said.append(f"sha256 {image['sha256'][:12]}…")
            return f"[image: {', '.join(said)}]"
        return "[image]"
    return f"[{kind or 'part'}]"


def _content(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(_part(p) for p in content)
    return _part(content)


def messages(request: Any, safe: Safe, table: Any = None) -> list[list[str]] | None:
    """[[role, text], ...] of a record's request, its messages looked up in `table` (the
    record's `prompt_messages`) where they are indices; None when the record has no request."""
    if isinstance(request, dict):
        found = request.get("messages")
    elif isinstance(request, list):
        found = request
    else:
        return None
    if not isinstance(found, list):
        return None
    shown = []
    for message in found[:MAX_MESSAGES]:
        if isinstance(message, int) and not isinstance(message, bool):
            if not (isinstance(table, list) and 0 <= message < len(table)):
                shown.append(["?", f"(message {message} is not in the record's prompt_messages)"])
                continue
            message = table[message]
        if isinstance(message, dict):
            role = message.get("role")
            shown.append(
                [
                    safe(str(role) if role is not None else "?"),
                    safe(_content(message.get("content"))),
                ]
            )
        else:
            shown.append(["?", safe(_content(message))])
    if len(found) > MAX_MESSAGES:
        shown.append(["…", f"{len(found) - MAX_MESSAGES} more messages (see the JSON)"])
    return shown


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def transcript(run: dict[str, Any], safe: Safe, table: Any = None) -> dict[str, Any]:
    """The transcript of one variant's entry (`table`: its record's `prompt_messages`)."""
    request = run.get("request")
    asked = request.get("prefill") if isinstance(request, dict) else None
    prefill = _text(run.get("prefill")) or _text(asked)
    out: dict[str, Any] = {
        "messages": messages(request, safe, table),
        "prefill": safe(prefill) if prefill else None,
        "reply": safe(_text(run.get("raw")) or ""),
        "follow_up": [],
    }
    extraction = run.get("extraction")
    if isinstance(extraction, dict):
        asked = _text(extraction.get("follow_up")) or _text(extraction.get("prefill"))
        how = "follow-up" if _text(extraction.get("follow_up")) else "prefill"
        if asked or _text(extraction.get("raw")):
            out["follow_up"].append(
                {
                    "via": safe(str(extraction.get("via") or how)),
                    "asked": safe(asked or ""),
                    "reply": safe(_text(extraction.get("raw")) or ""),
                }
            )
    return out
