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


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """`text` with each of `secrets` (exact values, longest first) replaced by [redacted]. For a
    model's reply: unlike `redact`, nothing that merely looks like a key is touched."""
    for value in secrets:
        if value in text:
            text = text.replace(value, "[redacted]")
    return text


def run_secrets(*given: str | None) -> tuple[str, ...]:
    """The run's own keys, to scrub from what a server sends back: those given (an API key, URL
    credentials), and the *_API_KEY, *_TOKEN and *_KEY variables' values; longest first, none
    shorter than a word could be."""
    values = {s for s in given if s and len(s) >= MIN_SCRUBBED} | environment.secret_values()
    return tuple(sorted(values, key=len, reverse=True))


# A secret shorter than this is not replaced in a reply's words (it would mangle them); such a
# key is still never written by probe itself.
MIN_SCRUBBED = 8
