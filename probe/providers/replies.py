"""Reading a chat completion from either road into a `Completion`: the text (the continuation
only, for a prefilled request), token usage, why it ended, and the first token's probabilities from logprobs.
A reply's text is kept up to MAX_REPLY_CHARS; a reply with no answer in it is a `BadReply`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from probe.providers.base import Completion, split_echo, yes_no_probability
from probe.providers.failures import BadReply, ReplyTooLarge
from probe.redaction import run_secrets, scrub

MAX_REPLY_CHARS = 1_000_000  # of a reply's text


def completion_of(response: Any, prefill: str | None, latency: float, cost: Any) -> Completion:
    """`cost` is called with the response once its text has passed the checks."""
    choices = getattr(response, "choices", None) or []
    if not choices:
        raise BadReply("the reply has no choices")
    choice = choices[0]
    content = getattr(choice.message, "content", None)
    if content is None:
        raise BadReply("the reply has no message content")
    if len(content) > MAX_REPLY_CHARS:
        raise ReplyTooLarge(
            f"the reply is {len(content):,} characters long; probe keeps at most "
            f"{MAX_REPLY_CHARS:,}"
        )
    usage = getattr(response, "usage", None)
    usage_dict = None
    if usage is not None:
        usage_dict = {
            k: int(getattr(usage, k) or 0)
            for k in ("prompt_tokens", "completion_tokens", "total_tokens")
            if hasattr(usage, k)
        }
    first_tokens = _first_token_candidates(choice)
    return Completion(
        text=split_echo(content, prefill),
        raw=content,
        p_yes=yes_no_probability(first_tokens) if first_tokens else None,
        first_tokens=first_tokens,
        usage=usage_dict,
        latency_s=latency,
        cost_usd=cost(response),
        finish_reason=_finish_reason(choice),
    )


def scrubbed(done: Completion, *keys: str | None) -> Completion:
    """A reply without the run's own keys in it (`keys`: those it sent, and the *_API_KEY-style
    variables' values), before it is stored anywhere (cache, record, report). A server that
    echoes the request, or its headers, back in a reply would otherwise put a key in all three."""
    secrets = run_secrets(*keys)
    if not any(s in done.raw or s in done.text for s in secrets):
        return done
    return dataclasses.replace(done, text=scrub(done.text, secrets), raw=scrub(done.raw, secrets))


def _finish_reason(choice: Any) -> str | None:
    """Why the reply ended ("stop", "length" when cut off at max_tokens), as the server says."""
    reason = getattr(choice, "finish_reason", None)
    return reason if isinstance(reason, str) and reason else None


def _first_token_candidates(choice: Any) -> dict[str, float] | None:
    """The first token's top logprobs as {token text: probability}; None without logprobs."""
    logprobs = getattr(choice, "logprobs", None)
    content = getattr(logprobs, "content", None) if logprobs is not None else None
    if isinstance(logprobs, dict):
        content = logprobs.get("content")
    if not content:
        return None
    first = content[0]
    tops = getattr(first, "top_logprobs", None)
    if tops is None and isinstance(first, dict):
        tops = first.get("top_logprobs")
    candidates: dict[str, float] = {}
    for top in tops or []:
        token = top.get("token") if isinstance(top, dict) else getattr(top, "token", None)
        lp = top.get("logprob") if isinstance(top, dict) else getattr(top, "logprob", None)
        if token is not None and lp is not None:
            candidates[token] = candidates.get(token, 0.0) + math.exp(lp)
    return candidates or None
