"""Keeping API keys out of everything probe prints or writes."""

from __future__ import annotations

import os
import re

_KEYLIKE = re.compile(
    r"\b(?:(?:sk|pk|rk|key|xai|gsk)[-_][A-Za-z0-9_\-]{8,}|AIza[A-Za-z0-9_\-]{20,})"
)


def redact(text: str, *secrets: str | None) -> str:
    """Remove API keys (given ones, *_API_KEY environment values, key-shaped strings) from text."""
    values = {s for s in secrets if s}
    values |= {
        v
        for k, v in os.environ.items()
        if v and len(v) >= 8 and k.endswith(("_API_KEY", "_TOKEN", "_KEY"))
    }
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, "[redacted]")
    return _KEYLIKE.sub("[redacted]", text)
