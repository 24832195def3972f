"""The LiteLLM road: any model LiteLLM can call (`provider/model`), through `litellm.acompletion`.

LiteLLM is imported here, and only when such a model is used: the import alone costs ~2 s of CPU.
Also what only LiteLLM knows about a model: which provider a name means, where its requests go,
whether it needs an API key, what it can do (model info, supported parameters) and its price.
"""

from __future__ import annotations

from typing import Any

from probe import environment
from probe.errors import ProviderError, UsageError
from probe.providers import capabilities as caps
from probe.providers.capabilities import Capabilities
from probe.providers.http_client import openai_client
from probe.providers.openai_road import NO_KEY
from probe.providers.pricing import ReplyCost


def import_litellm() -> Any:
    """Import LiteLLM with its network access at import and .env loading turned off."""
    environment.set_litellm_defaults()
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


def endpoint_of(provider: str, api_base: str | None) -> str | None:
    """Where a model's requests go when that is not the provider's default: --api-base, else
    the provider's base-URL variable. Part of the response cache's key."""
    if api_base:
        return api_base
    return environment.base_url(provider)


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


def missing_credentials(model: str, api_base: str | None, api_key: str | None) -> str | None:
    """`missing_key` for a model not yet opened (imports LiteLLM)."""
    litellm = import_litellm()
    endpoint = endpoint_of(provider_of(litellm, model, api_base), api_base)
    return missing_key(litellm, model, api_key, endpoint)


class LiteLLMRoad:
    """One model, called through LiteLLM."""

    def __init__(
        self, model: str, api_base: str | None, api_key: str | None, timeout: float
    ) -> None:
        self.model = model
        self.api_base = api_base
        self.api_key = api_key
        self.litellm = import_litellm()
        self.provider = provider_of(self.litellm, model, api_base)
        self.endpoint = endpoint_of(self.provider, api_base)
        missing = missing_key(self.litellm, model, api_key, self.endpoint)
        if missing:
            raise UsageError(missing)
        self._client: Any = None
        if self.provider == "openai":
            if self.endpoint:
                # A server on a laptop takes no key, but the OpenAI SDK insists on one (LiteLLM's
                # openai/ path is the same SDK). OPENAI_API_KEY as usual.
                self.api_key = api_key or environment.openai_api_key() or NO_KEY
            # LiteLLM's OpenAI provider takes the SDK client to use: ours reads capped bodies.
            self._client = openai_client(self.endpoint, self.api_key, timeout)
        self.cost = ReplyCost(self.litellm)

    @property
    def paced_in_client(self) -> bool:
        """Whether our HTTP client carries the requests (LiteLLM's OpenAI provider), so the
        turn is taken as each request leaves; otherwise before each attempt."""
        return self._client is not None

    def capabilities(self, vision_override: bool | None) -> Capabilities:
        return resolve_capabilities(
            self.litellm, self.model, self.provider, self.api_base, vision_override
        )

    async def send(self, kwargs: dict[str, Any]) -> Any:
        if self._client is not None:
            kwargs = {**kwargs, "client": self._client}
        return await self.litellm.acompletion(**kwargs)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()


def resolve_capabilities(
    litellm: Any,
    model: str,
    provider: str,
    api_base: str | None,
    vision_override: bool | None,
) -> Capabilities:
    """What one LiteLLM model can do, from LiteLLM's model info and supported parameters."""
    try:
        info = litellm.get_model_info(model)
    except Exception:
        info = None
    try:
        params = litellm.get_supported_openai_params(model=model, custom_llm_provider=provider)
    except Exception:
        params = None
    try:
        vision = bool(litellm.supports_vision(model))
    except Exception:
        vision = False
    if vision_override is not None:
        vision = vision_override
    return caps.resolve(
        model,
        provider,
        api_base=api_base,
        model_info=info,
        supported_params=params,
        supports_vision=vision,
    )
