"""The chat request one remote call sends: the messages with the prefill encoded the way the
provider takes it (see FIELD-NOTES), sampling settings, and logprobs where they are still asked
for. Built in LiteLLM's vocabulary; the OpenAI SDK road keeps what that API takes (`SDK_PARAMS`).

A request whose user turn carries an image sends every message's content, the prefill's too, as
a list of parts (`probe.providers.messages.with_parts`); text-only requests keep plain strings.
"""

from __future__ import annotations

from typing import Any

from probe.providers.base import Message, Request
from probe.providers.capabilities import PREFILL_CONTINUE_FINAL, PREFILL_PREFIX_FLAG
from probe.providers.messages import in_parts, text_parts, with_parts

# What the OpenAI chat API takes per request; the rest of a LiteLLM request is client set-up.
SDK_PARAMS = (
    "messages",
    "max_tokens",
    "temperature",
    "seed",
    "logprobs",
    "top_logprobs",
    "extra_body",
)
TOP_LOGPROBS = 20


def build_request(
    model: str,
    request: Request,
    *,
    prefill_mode: str | None,
    timeout: float,
    seed: int | None,
    logprobs: bool,
    api_base: str | None,
    api_key: str | None,
) -> dict[str, Any]:
    """`seed` only where the provider accepts one; `logprobs` whether to ask for them."""
    messages = with_parts(request.messages)
    prefill = request.prefill
    kwargs: dict[str, Any] = {
        "model": model,
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "timeout": timeout,
        "num_retries": 0,  # probe retries itself (LiteLLM's path needs tenacity, retries 400s)
        "max_retries": 0,  # the OpenAI SDK's own two retries
    }
    if seed is not None:
        kwargs["seed"] = seed
    if api_base:
        kwargs["api_base"] = api_base
    if api_key:
        kwargs["api_key"] = api_key
    if prefill:
        message, extra_body = encode_prefill(prefill, prefill_mode, parts=in_parts(messages))
        if extra_body:
            kwargs["extra_body"] = extra_body
        messages.append(message)
    if logprobs:
        kwargs["logprobs"] = True
        kwargs["top_logprobs"] = TOP_LOGPROBS
    kwargs["messages"] = messages
    return kwargs


def encode_prefill(
    prefill: str, mode: str | None, *, parts: bool = False
) -> tuple[Message, dict[str, Any] | None]:
    """The trailing assistant message that carries a prefill (its content as one text part when
    the rest of the request is in parts), and the extra request body some servers need to
    continue it (vLLM / SGLang). The prefill's words are the same either way, so the reply is
    read against them as before: llama-server appends a prefill's text parts to the rendered
    prompt and echoes them, LiteLLM's Anthropic road returns the continuation alone
    (`split_echo` takes both)."""
    content: Any = text_parts(prefill) if parts else prefill
    message: Message = {"role": "assistant", "content": content}
    if mode == PREFILL_PREFIX_FLAG:
        message["prefix"] = True
    elif mode == PREFILL_CONTINUE_FINAL:
        return message, {"continue_final_message": True, "add_generation_prompt": False}
    return message, None


def drop_logprobs(kwargs: dict[str, Any]) -> None:
    """Take the logprobs request out of a request (the server refused it)."""
    kwargs.pop("logprobs", None)
    kwargs.pop("top_logprobs", None)
