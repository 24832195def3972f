"""Keeping API keys, and credentials written into URLs, out of everything probe prints or writes."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from probe import environment

_KEYLIKE = re.compile(
    r"\b(?:(?:sk|pk|rk|key|xai|gsk)[-_][A-Za-z0-9_\-]{8,}|AIza[A-Za-z0-9_\-]{20,})"
)
# The user-info part of a URL (`http://user:password@host`): all of it, a token may stand alone.
_URL_USERINFO = re.compile(r"(?<=://)[^/\s@?#]+@")


def redact(text: str, *secrets: str | None) -> str:
    """Remove API keys (given ones, *_API_KEY environment values, key-shaped strings) and URL
    credentials from text."""
    values = {s for s in secrets if s}
    values |= environment.secret_values()
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, "[redacted]")
    text = _URL_USERINFO.sub("[redacted]@", text)
    return _KEYLIKE.sub("[redacted]", text)


def url_secrets(url: str | None) -> tuple[str, ...]:
    """The credentials written into a URL, as written and decoded, to redact wherever they turn
    up on their own (a server or library may quote them without the URL)."""
    if not url:
        return ()
    try:
        parts = urlsplit(url)
        # A password; or a user name standing alone, which is then a token (`https://TOKEN@host`).
        secret = parts.password or (parts.username if len(parts.username or "") >= 8 else None)
    except ValueError:
        return ()
    # Too short to replace in free text without mangling it: redacted only inside URLs.
    return (secret, unquote(secret)) if secret and len(secret) >= 4 else ()


def redact_url(url: str | None) -> str | None:
    """A URL without its credentials (`http://[redacted]@host/v1`), for anything shown or kept."""
    return None if url is None else _URL_USERINFO.sub("[redacted]@", url)
