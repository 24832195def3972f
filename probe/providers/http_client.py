"""The HTTP client probe owns (an OpenAI SDK client): it takes a request's turn at the run's rate
limit the moment the request leaves, and reads no more than MAX_REPLY_BYTES of a reply body.

Used by the OpenAI SDK road, and handed to LiteLLM's OpenAI provider, which takes the SDK client
to use. Taking the turn in the client's request hook, rather than before the call, means no work
between the turn and the send (first-call imports: ~1 s) can bunch requests together.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from probe.providers.failures import ReplyTooLarge

MAX_REPLY_BYTES = 8_000_000  # of a reply body (logprobs make bodies much larger than their text)


# What the HTTP client awaits right before a request leaves: the attempt's turn at the rate
# limit, which then starts its deadline. Set per attempt (a context variable follows the task
# into the SDK and LiteLLM).
_BEFORE_SEND: contextvars.ContextVar[Callable[[], Awaitable[None]] | None] = contextvars.ContextVar(
    "probe_before_send", default=None
)


@contextlib.contextmanager
def before_send(hook: Callable[[], Awaitable[None]]) -> Iterator[None]:
    """Within this block, `hook` is awaited as each request of this task leaves the client."""
    token = _BEFORE_SEND.set(hook)
    try:
        yield
    finally:
        _BEFORE_SEND.reset(token)


def openai_client(api_base: str | None, api_key: str | None, timeout: float) -> Any:
    import openai

    return openai.AsyncOpenAI(
        base_url=api_base,
        api_key=api_key,
        timeout=timeout,
        max_retries=0,  # probe retries itself, and never on other 4xx
        # the SDK's own client settings (connection limits, proxies from the environment), with
        # hooks on every request, whichever transport or proxy carries it
        http_client=openai.DefaultAsyncHttpxClient(
            event_hooks={"request": [_before_send], "response": [_cap_body]}
        ),
    )


async def _before_send(request: Any) -> None:
    """httpx's last step before a request leaves (each redirect too): the attempt's turn."""
    hook = _BEFORE_SEND.get()
    if hook is not None:
        await hook()


async def _cap_body(response: Any) -> None:
    """Headers are in, the body is not read yet: read no more than MAX_REPLY_BYTES of it."""
    import httpx

    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_REPLY_BYTES:
        raise _too_large()

    class CappedBody(httpx.AsyncByteStream):
        def __init__(self, stream: Any) -> None:
            self._stream = stream

        async def __aiter__(self) -> AsyncIterator[bytes]:
            read = 0
            async for chunk in self._stream:
                read += len(chunk)
                if read > MAX_REPLY_BYTES:
                    raise _too_large()
                yield chunk

        async def aclose(self) -> None:
            await self._stream.aclose()

    response.stream = CappedBody(response.stream)


def _too_large() -> ReplyTooLarge:
    return ReplyTooLarge(
        f"the reply body is over {MAX_REPLY_BYTES / 1e6:g} MB; probe reads at most that much"
    )
