"""Any model LiteLLM can call, and OpenAI-compatible servers at --api-base.

Two transports behind one retry loop:
- LiteLLM (`litellm.acompletion`) for every provider it knows. Imported here, and only when a
  remote model is used: the import alone costs ~2 s of CPU.
- The OpenAI SDK directly for `openai/NAME` with `--api-base` (llama.cpp's server, vLLM, Ollama's
  /v1, any gateway): LiteLLM would itself hand such a call to this SDK, after ~2 ms of its own
  bookkeeping per call and a 2 s import. `PROBE_TRANSPORT=litellm` sends those through LiteLLM too.

Every attempt waits its turn at the run's rate limit (`pace`), and then has `timeout` seconds in
all to bring back a whole reply: a server trickling bytes cannot hold a call longer. Where probe
owns the HTTP client (the OpenAI SDK road, and LiteLLM's OpenAI provider, which is handed that
client) the turn is taken in the client's request hook, the moment the request leaves, so no work
between the turn and the send (first-call imports: ~1 s) can bunch requests together; a reply
body is read there up to MAX_REPLY_BYTES. A reply's text is kept up to MAX_REPLY_CHARS everywhere.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import os
import random
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from probe.errors import ProviderError, UsageError
from probe.providers import capabilities as caps
from probe.providers.base import (
    PREFILL_CONTINUE_FINAL,
    PREFILL_PREFIX_FLAG,
    Capabilities,
    Completion,
    Message,
    split_echo,
    yes_no_probability,
)
from probe.redaction import redact, redact_url, url_secrets

_RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504, 529}
_MAX_BACKOFF_S = 60.0
TRANSPORT_ENV = "PROBE_TRANSPORT"
MAX_REPLY_BYTES = 8_000_000  # of a reply body (logprobs make bodies much larger than their text)
MAX_REPLY_CHARS = 1_000_000  # of a reply's text
NO_KEY = "no-key"  # what the OpenAI SDK is given for a server that takes no key
# What the HTTP client awaits right before a request leaves: the attempt's turn at the rate
# limit, which then starts its deadline. Set per attempt (a context variable follows the task
# into the SDK and LiteLLM).
_BEFORE_SEND: contextvars.ContextVar[Callable[[], Awaitable[None]] | None] = contextvars.ContextVar(
    "probe_before_send", default=None
)
# What the OpenAI chat API takes per request; the rest of a LiteLLM request is client set-up.
_SDK_PARAMS = (
    "messages",
    "max_tokens",
    "temperature",
    "seed",
    "logprobs",
    "top_logprobs",
    "extra_body",
)


def uses_openai_sdk(model: str, api_base: str | None) -> bool:
    """Whether a model is called through the OpenAI SDK directly instead of through LiteLLM."""
    choice = os.environ.get(TRANSPORT_ENV, "").strip().lower() or "auto"
    if choice not in ("auto", "litellm"):
        raise UsageError(f"{TRANSPORT_ENV}={choice}: expected auto or litellm")
    return choice == "auto" and bool(api_base) and model.startswith("openai/")


def import_litellm() -> Any:
    """Import LiteLLM with its network access at import and .env loading turned off."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_MODE", "PRODUCTION")
    os.environ.setdefault("LITELLM_LOG", "ERROR")
    import litellm

    litellm.suppress_debug_info = True
    litellm.drop_params = False
    return litellm


def provider_of(litellm: Any, model: str, api_base: str | None) -> str:
    """The LiteLLM provider a model string names (`openai`, `anthropic`, …)."""
    try:
        return str(litellm.get_llm_provider(model, api_base=api_base)[1])
    except Exception as exc:
        raise ProviderError(
            f"LiteLLM does not know how to call {model!r}: name it as provider/model, "
            "e.g. openai/gpt-4o-mini, anthropic/claude-sonnet-4-5, or openai/NAME with --api-base"
        ) from exc


def base_url_variables(provider: str) -> tuple[str, ...]:
    """The environment variables LiteLLM reads a provider's base URL from (OPENAI_BASE_URL,
    OPENAI_API_BASE, ANTHROPIC_API_BASE, OLLAMA_API_BASE, …), in LiteLLM's order for OpenAI."""
    name = provider.upper()
    return (f"{name}_BASE_URL", f"{name}_API_BASE")


def endpoint_of(provider: str, api_base: str | None) -> str | None:
    """Where a model's requests go when that is not the provider's default: --api-base, else
    the provider's base-URL variable. Part of the response cache's key."""
    if api_base:
        return api_base
    return next((os.environ[v] for v in base_url_variables(provider) if os.environ.get(v)), None)


def missing_key(litellm: Any, model: str, api_key: str | None, endpoint: str | None) -> str | None:
    """The one-line usage error for a provider that needs an API key and has none, before any
    call is made (LiteLLM would otherwise fail each call, some as a retried HTTP 500). Only
    keys are checked, and only where --api-key would do: other credentials (AWS profiles,
    Google's application default credentials) live in places LiteLLM cannot vouch for. A server
    at --api-base, or at the provider's base-URL variable, may take none."""
    if api_key or endpoint:
        return None
    try:
        found = litellm.validate_environment(model=model)
        with_key = litellm.validate_environment(model=model, api_key="x")
    except Exception:
        return None
    names = [str(n) for n in found.get("missing_keys") or []]
    if found.get("keys_in_environment") or not names or not with_key.get("keys_in_environment"):
        return None
    return (
        f"{model} needs an API key: set {' or '.join(names)}, or pass --api-key "
        "(a server at --api-base needs none)"
    )


class RemoteProvider:
    def __init__(
        self,
        model: str,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        retries: int = 3,
        vision: bool | None = None,
        pace: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.model = model
        self.api_base = api_base
        self._api_key = api_key
        self._secrets = (api_key, *url_secrets(api_base))
        self.timeout = timeout
        self.retries = retries
        self._pace = pace  # awaited before every request: the run's rate limit
        self._cost_known: bool | None = None
        self._sdk: Any = None
        self._litellm_client: Any = None
        self.litellm: Any = None
        if uses_openai_sdk(model, api_base):
            self.provider = "openai"
            self.endpoint = api_base
            self._api_key = api_key or os.environ.get("OPENAI_API_KEY") or NO_KEY
            self._sdk = _openai_client(api_base or "", self._api_key, timeout)
            # A server at --api-base may serve anything under any name: prices are not guessed.
            self._cost_known = False
            self.capabilities = self._resolve_openai_compatible(vision)
            return
        self.litellm = import_litellm()
        self.provider = provider_of(self.litellm, model, api_base)
        self.endpoint = endpoint_of(self.provider, api_base)
        missing = missing_key(self.litellm, model, api_key, self.endpoint)
        if missing:
            raise UsageError(missing)
        if self.provider == "openai":
            if self.endpoint:
                # A server on a laptop takes no key, but the OpenAI SDK insists on one (LiteLLM's
                # openai/ path is the same SDK). OPENAI_API_KEY as usual.
                self._api_key = api_key or os.environ.get("OPENAI_API_KEY") or NO_KEY
            # LiteLLM's OpenAI provider takes the SDK client to use: ours reads capped bodies.
            self._litellm_client = _openai_client(self.endpoint, self._api_key, timeout)
        self.capabilities = self._resolve(vision)

    def _resolve_openai_compatible(self, vision_override: bool | None) -> Capabilities:
        vision = vision_override
        if vision is None:
            vision = bool(
                _price_map_entry(self.model.removeprefix("openai/")).get("supports_vision")
            )
        resolved = caps.resolve(
            self.model,
            "openai",
            api_base=self.api_base,
            model_info=None,
            supported_params=["logprobs", "top_logprobs", "seed"],
            supports_vision=vision,
        )
        resolved.notes.insert(0, "transport: OpenAI SDK straight to --api-base (not LiteLLM)")
        return resolved

    async def aclose(self) -> None:
        for client in (self._sdk, self._litellm_client):
            if client is not None:
                await client.close()

    async def _send(self, kwargs: dict[str, Any]) -> Any:
        if self._sdk is None:
            if self._litellm_client is not None:
                kwargs = {**kwargs, "client": self._litellm_client}
            return await self.litellm.acompletion(**kwargs)
        import openai

        body = {k: kwargs[k] for k in _SDK_PARAMS if k in kwargs}
        try:
            return await self._sdk.chat.completions.create(
                model=self.model.removeprefix("openai/"), **body
            )
        except (json.JSONDecodeError, openai.APIResponseValidationError) as exc:
            raise BadReply(f"the reply is not a chat completion: {exc}") from None

    def _resolve(self, vision_override: bool | None) -> Capabilities:
        litellm = self.litellm
        provider = self.provider
        try:
            info = litellm.get_model_info(self.model)
        except Exception:
            info = None
        try:
            params = litellm.get_supported_openai_params(
                model=self.model, custom_llm_provider=provider
            )
        except Exception:
            params = None
        try:
            vision = bool(litellm.supports_vision(self.model))
        except Exception:
            vision = False
        if vision_override is not None:
            vision = vision_override
        return caps.resolve(
            self.model,
            provider,
            api_base=self.api_base,
            model_info=info,
            supported_params=params,
            supports_vision=vision,
        )

    def forget_prefill(self, reason: str) -> None:
        self.capabilities.prefill = None
        self.capabilities.notes.append(f"prefill: disabled for the rest of the run ({reason})")

    async def complete(
        self,
        messages: list[Message],
        *,
        prefill: str | None = None,
        max_tokens: int,
        temperature: float,
        want_p_yes: bool = False,
        seed: int | None = None,
        sample: int = 0,
    ) -> Completion:
        kwargs = self._request(messages, prefill, max_tokens, temperature, want_p_yes, seed)
        attempt = 0
        while True:
            start = time.perf_counter()
            try:
                response = await self._attempt(kwargs)
                return self._completion(response, prefill, time.perf_counter() - start)
            except Exception as exc:
                if kwargs.get("logprobs") and _mentions(exc, "logprob"):
                    # The server refuses logprobs: go on without them for the rest of the run.
                    self.capabilities.logprobs = False
                    self.capabilities.notes.append(
                        "logprobs: refused by the server; not requested again"
                    )
                    kwargs.pop("logprobs", None)
                    kwargs.pop("top_logprobs", None)
                    continue
                status = None if _wire_fault(exc) else _status(exc)
                retryable = _is_retryable(exc, status)
                if not retryable or attempt >= self.retries:
                    raise ProviderError(
                        self._describe(exc, status, attempt), status=status, retryable=retryable
                    ) from None
                await asyncio.sleep(_backoff(exc, attempt))
                attempt += 1

    async def _attempt(self, kwargs: dict[str, Any]) -> Any:
        """One request: its turn at the rate limit, then `timeout` seconds in all for the whole
        reply (the HTTP clients' own timeouts bound each wait for a byte, so a server sending
        one byte at a time would hold them forever)."""
        loop = asyncio.get_running_loop()
        try:
            if self._sdk is None and self._litellm_client is None:
                if self._pace is not None:
                    await self._pace()
                async with asyncio.timeout(self.timeout):
                    return await self._send(kwargs)
            async with asyncio.timeout(None) as deadline:

                async def before_send() -> None:  # in the HTTP client, as the request leaves
                    if self._pace is not None:
                        await self._pace()
                    if deadline.when() is None:  # not again for a redirect
                        deadline.reschedule(loop.time() + self.timeout)

                token = _BEFORE_SEND.set(before_send)
                try:
                    return await self._send(kwargs)
                finally:
                    _BEFORE_SEND.reset(token)
        except TimeoutError:
            raise DeadlineExceeded(self.timeout) from None

    def _request(
        self,
        messages: list[Message],
        prefill: str | None,
        max_tokens: int,
        temperature: float,
        want_p_yes: bool,
        seed: int | None,
    ) -> dict[str, Any]:
        messages = list(messages)
        kwargs: dict[str, Any] = {
            "model": self.model,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "timeout": self.timeout,
            "num_retries": 0,  # probe retries itself (LiteLLM's path needs tenacity, retries 400s)
            "max_retries": 0,  # the OpenAI SDK's own two retries
        }
        if seed is not None and self.capabilities.seed:
            kwargs["seed"] = seed
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self._api_key:
            kwargs["api_key"] = self._api_key
        if prefill:
            message: dict[str, Any] = {"role": "assistant", "content": prefill}
            mode = self.capabilities.prefill
            if mode == PREFILL_PREFIX_FLAG:
                message["prefix"] = True
            elif mode == PREFILL_CONTINUE_FINAL:
                kwargs["extra_body"] = {
                    "continue_final_message": True,
                    "add_generation_prompt": False,
                }
            messages.append(message)
        if want_p_yes and self.capabilities.logprobs:
            kwargs["logprobs"] = True
            kwargs["top_logprobs"] = 20
        kwargs["messages"] = messages
        return kwargs

    def _completion(self, response: Any, prefill: str | None, latency: float) -> Completion:
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
        return Completion(
            text=split_echo(content, prefill),
            raw=content,
            p_yes=_first_token_p_yes(choice),
            usage=usage_dict,
            latency_s=latency,
            cost_usd=self._cost(response),
            finish_reason=_finish_reason(choice),
        )

    def _cost(self, response: Any) -> float | None:
        """Cost where LiteLLM's price map knows the model; asked once, then not again if it does
        not (the failed look-up costs ~1 ms of CPU per call)."""
        if self._cost_known is False:
            return None
        already = (getattr(response, "_hidden_params", None) or {}).get("response_cost")
        if already is not None:  # LiteLLM priced the reply while building it: don't do it twice
            self._cost_known = True
            return float(already)
        try:
            cost = float(self.litellm.completion_cost(completion_response=response))
        except Exception:
            self._cost_known = False
            return None
        self._cost_known = True
        return cost

    def _describe(self, exc: Exception, status: int | None, attempt: int) -> str:
        kind = type(exc).__name__
        text = _server_message(exc) or str(getattr(exc, "message", None) or exc)
        text = re.sub(r"^litellm\.\w+:\s*", "", text)
        text = re.sub(rf"^{kind}:\s*", "", text)
        cause = _cause(exc, (ReplyTooLarge, DeadlineExceeded, json.JSONDecodeError))
        if kind in _TIMEOUTS or isinstance(cause, DeadlineExceeded):
            kind, text = "Timeout", str(DeadlineExceeded(self.timeout))
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
        where = f" at {redact_url(self.endpoint)}" if self.endpoint else ""
        code = f" (HTTP {status})" if status else ""
        return redact(f"{self.model}{where}: {kind}{code}{tries}: {text}", *self._secrets)


def _server_message(exc: Exception) -> str | None:
    """The server's own words from an OpenAI-style error body ({"error": {"message": ...}})."""
    body = getattr(exc, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) and message.strip() else None


def _finish_reason(choice: Any) -> str | None:
    """Why the reply ended ("stop", "length" when cut off at max_tokens), as the server says."""
    reason = getattr(choice, "finish_reason", None)
    return reason if isinstance(reason, str) and reason else None


def _first_token_p_yes(choice: Any) -> float | None:
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
    import math

    candidates: dict[str, float] = {}
    for top in tops or []:
        token = top.get("token") if isinstance(top, dict) else getattr(top, "token", None)
        lp = top.get("logprob") if isinstance(top, dict) else getattr(top, "logprob", None)
        if token is not None and lp is not None:
            candidates[token] = candidates.get(token, 0.0) + math.exp(lp)
    return yes_no_probability(candidates)


def _status(exc: Exception) -> int | None:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


class BadReply(Exception):
    """A 200 whose body holds no answer (no choices, no content, not JSON): treated like a
    server fault, so retried."""


class ReplyTooLarge(Exception):
    """A reply over probe's caps: not read further, and not asked for again."""


class DeadlineExceeded(Exception):
    """No whole reply within --timeout."""

    def __init__(self, timeout: float) -> None:
        super().__init__(f"no complete reply within {timeout:g} s (--timeout)")


_TIMEOUTS = {"Timeout", "APITimeoutError", "DeadlineExceeded", "TimeoutError"}


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


def _openai_client(api_base: str | None, api_key: str | None, timeout: float) -> Any:
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
    before_send = _BEFORE_SEND.get()
    if before_send is not None:
        await before_send()


async def _cap_body(response: Any) -> None:
    """Headers are in, the body is not read yet: read no more than MAX_REPLY_BYTES of it."""
    import httpx

    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_REPLY_BYTES:
        raise _too_large()

    class CappedBody(httpx.AsyncByteStream):
        def __init__(self, stream: Any) -> None:
            self._stream = stream

        async def __aiter__(self):  # type: ignore[no-untyped-def]
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


def _price_map_entry(name: str) -> dict[str, Any]:
    """A model's entry in LiteLLM's bundled model map (what `litellm.supports_vision` reads
    offline), without importing LiteLLM."""
    data = _price_map()
    entry = data.get(name) or data.get(f"openai/{name}") or {}
    return entry if isinstance(entry, dict) else {}


@functools.cache
def _price_map() -> dict[str, Any]:
    """Read once per process (~20 ms; the run's model and its --judge may both ask)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(next(iter(spec.submodule_search_locations)))
    try:
        data = json.loads((path / "model_prices_and_context_window_backup.json").read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _is_retryable(exc: Exception, status: int | None) -> bool:
    if _cause(exc, (ReplyTooLarge,)) is not None:
        return False  # the same server would send the same again
    if isinstance(exc, (BadReply, DeadlineExceeded)):
        return True
    name = type(exc).__name__
    if name in {
        "Timeout",
        "APIConnectionError",
        "RateLimitError",
        "ServiceUnavailableError",
        "InternalServerError",
        "BadGatewayError",
        "APITimeoutError",
    }:
        return True
    return status in _RETRYABLE_STATUS


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


def _backoff(exc: Exception, attempt: int) -> float:
    asked = _retry_after(exc)
    if asked is not None:
        return min(asked, _MAX_BACKOFF_S)
    return min(_MAX_BACKOFF_S, 0.5 * 2**attempt) * (0.5 + random.random() / 2)


def _mentions(exc: Exception, word: str) -> bool:
    return word in str(exc).lower()
