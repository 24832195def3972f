"""Opening a provider by model name: the embedded model, or anything LiteLLM can call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from probe.providers.base import Capabilities, Completion, Provider
from probe.providers.local import DEFAULT_LOCAL_MODEL

__all__ = [
    "Capabilities",
    "Completion",
    "Provider",
    "open_provider",
    "check_credentials",
    "DEFAULT_LOCAL_MODEL",
    "is_local",
]


def is_local(model: str) -> bool:
    return model.startswith("local/")


def open_provider(
    model: str,
    *,
    api_base: str | None = None,
    api_key: str | None = None,
    timeout: float = 60.0,
    retries: int = 3,
    vision: bool | None = None,
    pace: Callable[[], Awaitable[None]] | None = None,
) -> Provider:
    """`pace` is awaited before every request a remote provider sends, retries included."""
    if is_local(model):
        from probe.providers.local import LocalProvider

        return LocalProvider(model)
    from probe.providers.remote import RemoteProvider

    return RemoteProvider(
        model,
        api_base=api_base,
        api_key=api_key,
        timeout=timeout,
        retries=retries,
        vision=vision,
        pace=pace,
    )


def check_credentials(model: str, *, api_base: str | None, api_key: str | None) -> None:
    """Raise a usage error when a model's provider needs an API key that is nowhere to be
    found, before anything is opened or called. The embedded model and OpenAI-compatible
    servers at --api-base need none (and are checked without importing LiteLLM)."""
    if is_local(model) or api_key or api_base:
        return
    from probe.errors import UsageError
    from probe.providers import remote

    litellm = remote.import_litellm()
    provider = remote.provider_of(litellm, model, api_base)
    endpoint = remote.endpoint_of(provider, api_base)
    missing = remote.missing_key(litellm, model, api_key, endpoint)
    if missing:
        raise UsageError(missing)
