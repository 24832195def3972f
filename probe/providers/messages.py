"""Chat messages as a provider takes them: plain strings, or lists of content parts where a
message carries an image."""

from __future__ import annotations

from typing import Any

from probe.providers.base import Message


def in_parts(messages: list[Message]) -> bool:
    """Does any message carry its content as a list of parts (a user turn with an image)?"""
    return any(isinstance(m.get("content"), list) for m in messages)


def text_parts(text: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": text}]


def with_parts(messages: list[Message]) -> list[Message]:
    """The messages as sent: where any carries its content as parts (a user turn with an image),
    every plain-string content becomes one text part — the system prompt, few-shot and prior
    turns, follow-up questions. Some vision models' chat templates (SmolVLM's, rendered by
    llama-cpp-python's MTMDChatHandler) read content only as parts and render a plain string as
    nothing, so a forced prior turn or the system prompt silently vanished. A text-only request
    is kept as it is (plain strings: its wire format and cache keys do not change). A new list;
    the messages given are not changed."""
    if not in_parts(messages):
        return list(messages)
    return [
        {**m, "content": text_parts(m["content"])} if isinstance(m.get("content"), str) else m
        for m in messages
    ]
