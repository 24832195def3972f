"""The one place that decides what a model can do: prefill, first-token logprobs, vision.

Order of authority: the user's override, then this table of providers (measured, see
FIELD-NOTES), then LiteLLM's model info. Resolved once, when a provider is opened; what a run
finds out later (a refused or ignored prefill, refused logprobs) is kept in the provider's
`discoveries` (probe.providers.discoveries), not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# How a provider accepts a trailing partial assistant message ("prefill"):
PREFILL_NATIVE = "native"  # our own prompt rendering: always continued
PREFILL_TRAILING = "trailing"  # sent as a plain trailing assistant message
PREFILL_PREFIX_FLAG = "prefix-flag"  # the message needs "prefix": True (Anthropic, Mistral, …)
PREFILL_CONTINUE_FINAL = "continue-final"  # vLLM / SGLang: continue_final_message in extra_body


@dataclass(frozen=True)
class Capabilities:
    """What a model can do, resolved once when its provider is opened (see
    probe.providers.capabilities) and never changed. What a run learns on top of it (a server
    that does not honour prefill, or refuses logprobs) is in the provider's `discoveries`
    (probe.providers.discoveries)."""

    prefill: str | None  # one of the PREFILL_* modes, or None when prefill is not possible
    prefill_known: bool  # True when the table/model info vouches for it; False = try and check
    logprobs: bool
    vision: bool
    seed: bool = False  # accepts a sampling seed (sent only then: some providers reject it)
    notes: tuple[str, ...] = ()  # how each was decided, for --debug


# provider → (prefill mode, whether that mode is known to work rather than to be checked)
PREFILL_BY_PROVIDER: dict[str, tuple[str | None, bool]] = {
    "anthropic": (PREFILL_PREFIX_FLAG, True),
    "mistral": (PREFILL_PREFIX_FLAG, True),
    "deepseek": (PREFILL_PREFIX_FLAG, True),
    "bedrock": (PREFILL_PREFIX_FLAG, True),
    "bedrock_converse": (PREFILL_PREFIX_FLAG, True),
    "gemini": (PREFILL_TRAILING, False),
    "vertex_ai": (PREFILL_TRAILING, False),
    "ollama_chat": (PREFILL_TRAILING, True),
    "ollama": (None, True),  # LiteLLM's generic template breaks prefill: use ollama_chat/
    "hosted_vllm": (PREFILL_CONTINUE_FINAL, True),
    "openai": (None, True),  # OpenAI's models do not reliably continue a trailing message
    "azure": (None, True),
    "text-completion-openai": (None, True),
}

# Named in the message that refuses an image for a model that cannot see.
VISION_MODELS_EXAMPLE = "openai/gpt-4o-mini, anthropic/claude-sonnet-4-5, gemini/gemini-2.5-flash"


def resolve(
    model: str,
    provider: str,
    *,
    api_base: str | None,
    model_info: dict[str, Any] | None,
    supported_params: list[str] | None,
    supports_vision: bool,
) -> Capabilities:
    """Capabilities of a LiteLLM model, from facts the caller looked up (kept pure for tests)."""
    notes: list[str] = []
    prefill: str | None
    if provider == "openai" and api_base:
        # An OpenAI-compatible server (llama.cpp, vLLM, Ollama's /v1, …): many continue a trailing
        # assistant message, some close the turn instead. Try, and check the reply.
        prefill, known = PREFILL_TRAILING, False
        notes.append("prefill: OpenAI-compatible server at --api-base; tried and checked per reply")
    elif provider in PREFILL_BY_PROVIDER:
        prefill, known = PREFILL_BY_PROVIDER[provider]
        notes.append(f"prefill: provider table for {provider!r}: {prefill or 'none'}")
    else:
        info_says = (model_info or {}).get("supports_assistant_prefill")
        prefill, known = (PREFILL_TRAILING, False) if info_says else (None, True)
        notes.append(f"prefill: LiteLLM model info supports_assistant_prefill={info_says}")
    rejects = model_info is not None and model_info.get("supports_assistant_prefill") is False
    if prefill == PREFILL_PREFIX_FLAG and rejects:
        prefill = None
        notes.append("prefill: LiteLLM model info says this model rejects prefill")
    logprobs = bool(supported_params and "logprobs" in supported_params)
    notes.append(f"logprobs: {'requested' if logprobs else 'not offered by this provider'}")
    notes.append(f"vision: {supports_vision}")
    seed = bool(supported_params and "seed" in supported_params)
    return Capabilities(
        prefill=prefill,
        prefill_known=known,
        logprobs=logprobs,
        vision=supports_vision,
        seed=seed,
        notes=tuple(notes),
    )
