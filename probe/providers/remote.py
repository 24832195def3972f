"""Any model LiteLLM can call, and OpenAI-compatible servers at --api-base.

Two transports behind one retry loop:
- LiteLLM (`litellm.acompletion`) for every provider it knows. Imported here, and only when a
  remote model is used: the import alone costs ~2 s of CPU.
- The OpenAI SDK directly for `openai/NAME` with `--api-base` (llama.cpp's server, vLLM, Ollama's
  /v1, any gateway): LiteLLM would itself hand such a call to this SDK, after ~2 ms of its own
  bookkeeping per call and a 2 s import. `PROBE_TRANSPORT=litellm` sends those through LiteLLM too.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import random
import re
import time
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
from probe.redaction import redact

_RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504, 529}
_MAX_BACKOFF_S = 60.0
TRANSPORT_ENV = "PROBE_TRANSPORT"
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
    ) -> None:
        self.model = model
        self.api_base = api_base
        self._api_key = api_key
        if api_base and model.startswith("openai/"):
            # A server on a laptop takes no key, but the OpenAI SDK insists on one (on both
            # roads: LiteLLM's openai/ path is the same SDK). OPENAI_API_KEY as usual.
            self._api_key = api_key or os.environ.get("OPENAI_API_KEY") or "no-key"
        self.timeout = timeout
        self.retries = retries
        self._cost_known: bool | None = None
        self._sdk: Any = None
        self.litellm: Any = None
        if uses_openai_sdk(model, api_base):
            self._sdk = _openai_client(api_base or "", self._api_key, timeout)
            # A server at --api-base may serve anything under any name: prices are not guessed.
            self._cost_known = False
            self.capabilities = self._resolve_openai_compatible(vision)
        else:
            self.litellm = import_litellm()
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
        if self._sdk is not None:
            await self._sdk.close()

    async def _send(self, kwargs: dict[str, Any]) -> Any:
        if self._sdk is None:
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
        try:
            _, provider, _, _ = litellm.get_llm_provider(self.model, api_base=self.api_base)
        except Exception as exc:
            raise ProviderError(
                f"LiteLLM does not know how to call {self.model!r}: name it as provider/model, "
                "e.g. openai/gpt-4o-mini, anthropic/claude-sonnet-4-5, or openai/NAME with --api-base"
            ) from exc
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
                response = await self._send(kwargs)
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
                status = _status(exc)
                retryable = _is_retryable(exc, status)
                if not retryable or attempt >= self.retries:
                    raise ProviderError(
                        self._describe(exc, status, attempt), status=status, retryable=retryable
                    ) from None
                await asyncio.sleep(_backoff(exc, attempt))
                attempt += 1

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
        text = " ".join(text.split())[:300]
        tries = f" after {attempt + 1} attempts" if attempt else ""
        where = f" at {self.api_base}" if self.api_base else ""
        code = f" (HTTP {status})" if status else ""
        return redact(f"{self.model}{where}: {kind}{code}{tries}: {text}", self._api_key)


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


def _openai_client(api_base: str, api_key: str | None, timeout: float) -> Any:
    import openai

    return openai.AsyncOpenAI(
        base_url=api_base,
        api_key=api_key,
        timeout=timeout,
        max_retries=0,  # probe retries itself, and never on other 4xx
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
    if isinstance(exc, BadReply):
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
    """Seconds the server asked us to wait. LiteLLM keeps the provider's headers on
    `litellm_response_headers`; its rebuilt `response` has none."""
    for headers in (
        getattr(exc, "litellm_response_headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
    ):
        value = headers.get("retry-after") if headers is not None else None
        if value:
            try:
                return max(0.0, float(value))
            except ValueError:
                return None  # an HTTP date: fall back to our own backoff
    return None


def _backoff(exc: Exception, attempt: int) -> float:
    asked = _retry_after(exc)
    if asked is not None:
        return min(asked, _MAX_BACKOFF_S)
    return min(_MAX_BACKOFF_S, 0.5 * 2**attempt) * (0.5 + random.random() / 2)


def _mentions(exc: Exception, word: str) -> bool:
    return word in str(exc).lower()
