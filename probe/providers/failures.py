"""A failed remote call: what kind of failure it was, whether it is tried again and after how
long, and the one line that reports it (the server's own words, keys and URL credentials
redacted).

Retried: rate limits, timeouts, 5xx, dropped connections and replies with no answer in them;
never other 4xx, and never a reply over probe's caps (the same server would send the same again).
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from probe.redaction import redact, redact_url

_RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504, 529}
_RETRYABLE_KINDS = {
    "Timeout",
    "APIConnectionError",
    "RateLimitError",
    "ServiceUnavailableError",
    "InternalServerError",
    "BadGatewayError",
    "APITimeoutError",
    "RouterRateLimitError",  # LiteLLM's Router: every deployment is cooling down
}
_TIMEOUTS = {"Timeout", "APITimeoutError", "DeadlineExceeded", "TimeoutError"}
_MAX_BACKOFF_S = 60.0
_ROUTER_TAIL = re.compile(r"\s*LiteLLM: model group '[^']*' failed with the error above\.[^\n]*")


class BadReply(Exception):
    """A 200 whose body holds no answer (no choices, no content, not JSON): treated like a
    server fault, so retried."""


class ReplyTooLarge(Exception):
    """A reply over probe's caps: not read further, and not asked for again."""


class DeadlineExceeded(Exception):
    """No whole reply within --timeout."""

    def __init__(self, timeout: float) -> None:
        super().__init__(f"no complete reply within {timeout:g} s (--timeout)")


def status_of(exc: Exception) -> int | None:
    """The HTTP status of a failed call, where one was really received: a fault on the wire or
    in the body that LiteLLM reports as HTTP 500 has none."""
    if _wire_fault(exc) is not None:
        return None
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def is_retryable(exc: Exception, status: int | None) -> bool:
    if _cause(exc, (ReplyTooLarge,)) is not None:
        return False  # the same server would send the same again
    if isinstance(exc, (BadReply, DeadlineExceeded)):
        return True
    if type(exc).__name__ in _RETRYABLE_KINDS:
        return True
    return status in _RETRYABLE_STATUS


def refuses_logprobs(exc: Exception) -> bool:
    """The server refused a request because it asked for logprobs."""
    return "logprob" in str(exc).lower()


def backoff(exc: Exception, attempt: int) -> float:
    """Seconds to wait before the next attempt: what the server asked for, else exponential
    with jitter; at most a minute."""
    asked = _retry_after(exc)
    if asked is not None:
        return float(min(asked, _MAX_BACKOFF_S))
    return float(min(_MAX_BACKOFF_S, 0.5 * 2**attempt)) * (0.5 + random.random() / 2)


def _retry_after(exc: Exception) -> float | None:
    """Seconds the server asked us to wait (`Retry-After` in seconds or as an HTTP date,
    `retry-after-ms`). LiteLLM keeps the provider's headers on `litellm_response_headers`; its
    rebuilt `response` has none."""
    for headers in (
        getattr(exc, "litellm_response_headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
    ):
        if headers is None:
            continue
        asked = retry_after_seconds(headers.get("retry-after"))
        if asked is None:
            asked = retry_after_seconds(headers.get("retry-after-ms"), scale=0.001)
        if asked is not None:
            return asked
    return None


def retry_after_seconds(value: Any, *, scale: float = 1.0) -> float | None:
    """A Retry-After value in seconds: a number, or an HTTP date (RFC 9110) from now."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        seconds = float(value) * scale
    except ValueError:
        if scale != 1.0:
            return None
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if seconds == seconds else None  # NaN is no answer


def describe(
    exc: Exception,
    *,
    model: str,
    endpoint: str | None,
    timeout: float,
    status: int | None,
    attempt: int,
    secrets: tuple[str | None, ...],
) -> str:
    """The one line a failed call is reported with: model, server, kind, HTTP status, attempts,
    and what the server said."""
    kind = type(exc).__name__
    text = _server_message(exc) or str(getattr(exc, "message", None) or exc)
    text = re.sub(r"^litellm\.\w+:\s*", "", text)
    text = re.sub(rf"^{kind}:\s*", "", text)
    text = _ROUTER_TAIL.sub("", text)  # the Router's words after a deployment's own error
    cause = _cause(exc, (ReplyTooLarge, DeadlineExceeded, json.JSONDecodeError))
    if kind in _TIMEOUTS or isinstance(cause, DeadlineExceeded):
        kind, text = "Timeout", str(DeadlineExceeded(timeout))
    elif isinstance(cause, ReplyTooLarge):
        kind, text = "ReplyTooLarge", str(cause)
    elif isinstance(cause, json.JSONDecodeError):
        kind, text = "BadReply", f"the reply is not a chat completion: {cause}"
    else:
        root = _root_message(exc)
        if root and root not in text and len(text) < 60:  # "Connection error." and why
            text = f"{text} ({root})"
    text = " ".join(text.split())[:300]
    tries = f" after {attempt + 1} attempts" if attempt else ""
    where = f" at {redact_url(endpoint)}" if endpoint else ""
    code = f" (HTTP {status})" if status else ""
    return redact(f"{model}{where}: {kind}{code}{tries}: {text}", *secrets)


def _server_message(exc: Exception) -> str | None:
    """The server's own words from an OpenAI-style error body ({"error": {"message": ...}})."""
    body = getattr(exc, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) and message.strip() else None


def _chain(exc: BaseException) -> list[BaseException]:
    """An exception and those it was raised from or during (LiteLLM re-raises the SDK's)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 20:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _cause(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> BaseException | None:
    return next((e for e in _chain(exc) if isinstance(e, kinds)), None)


def _wire_fault(exc: BaseException) -> BaseException | None:
    """A fault on the wire or in the body, where LiteLLM reports HTTP 500 for what was a 200
    that is not JSON, or no whole reply at all: the real fault, so no status is made up."""
    for inner in _chain(exc)[1:]:
        if isinstance(inner, (json.JSONDecodeError, ReplyTooLarge)):
            return inner
        if type(inner).__name__ in {"APIConnectionError", "RemoteProtocolError", "ReadError"}:
            return inner
    return None


def _root_message(exc: BaseException) -> str:
    """What the innermost exception says ("peer closed connection without sending complete
    message body"), where the outer one only says "Connection error."."""
    for inner in reversed(_chain(exc)[1:]):
        text = " ".join(str(inner).split())
        if text:
            return text
    return ""
