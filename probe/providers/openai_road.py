"""The OpenAI SDK road: `openai/NAME` with --api-base (llama.cpp's server, vLLM, Ollama's /v1,
any gateway), called through the OpenAI SDK directly, without importing LiteLLM.

LiteLLM would itself hand such a call to this SDK, after ~2 ms of its own bookkeeping per call and
a 2 s import. `PROBE_TRANSPORT=litellm` sends these through LiteLLM instead (probe.providers.registry
chooses). A server at --api-base may serve anything under any name: its replies are not priced.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from probe import environment
from probe.providers import capabilities as caps
from probe.providers.capabilities import Capabilities
from probe.providers.chat_request import SDK_PARAMS
from probe.providers.failures import BadReply
from probe.providers.http_client import openai_client
from probe.providers.pricing import ReplyCost, price_map_entry

NO_KEY = "no-key"  # what the OpenAI SDK is given for a server that takes no key
TRANSPORT_NOTE = "transport: OpenAI SDK straight to --api-base (not LiteLLM)"


class OpenAIRoad:
    """One model at one OpenAI-compatible server."""

    paced_in_client = True  # our HTTP client: the turn is taken as each request leaves

    def __init__(
        self, model: str, api_base: str | None, api_key: str | None, timeout: float
    ) -> None:
        self.model = model
        self.api_base = api_base
        self.provider = "openai"
        self.endpoint = api_base
        # A server on a laptop takes no key, but the SDK insists on one. OPENAI_API_KEY as usual.
        self.api_key: str | None = api_key or environment.openai_api_key() or NO_KEY
        self._client = openai_client(api_base or "", self.api_key, timeout)
        self.cost = ReplyCost(None)

    def capabilities(self, vision_override: bool | None) -> Capabilities:
        vision = vision_override
        if vision is None:
            entry = price_map_entry(self.model.removeprefix("openai/"))
            vision = bool(entry.get("supports_vision"))
        resolved = caps.resolve(
            self.model,
            "openai",
            api_base=self.api_base,
            model_info=None,
            supported_params=["logprobs", "top_logprobs", "seed"],
            supports_vision=vision,
        )
        return dataclasses.replace(resolved, notes=(TRANSPORT_NOTE, *resolved.notes))

    async def send(self, kwargs: dict[str, Any]) -> Any:
        """POST /chat/completions through the SDK's client (its auth, timeout, errors and reply
        parsing). `client.post` — the SDK's documented way to any endpoint — rather than
        `chat.completions.create`, whose only other work is to walk the body against the
        params' TypedDicts: for the plain JSON probe builds it changes nothing, and it was the
        largest part of the SDK's CPU per call (benchmarks/throughput.py)."""
        import openai
        from openai.types.chat import ChatCompletion

        body = {k: kwargs[k] for k in SDK_PARAMS if k in kwargs}
        body |= body.pop("extra_body", None) or {}  # as create() merges it into the JSON
        body["model"] = self.model.removeprefix("openai/")
        try:
            return await self._client.post("/chat/completions", body=body, cast_to=ChatCompletion)
        except (json.JSONDecodeError, openai.APIResponseValidationError) as exc:
            raise BadReply(f"the reply is not a chat completion: {exc}") from None

    async def aclose(self) -> None:
        await self._client.close()
