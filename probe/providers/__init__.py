"""Opening a provider by model name: the embedded model, or anything LiteLLM can call."""

from __future__ import annotations

from probe.providers.base import Capabilities, Completion, Provider
from probe.providers.local import DEFAULT_LOCAL_MODEL

__all__ = [
    "Capabilities",
    "Completion",
    "Provider",
    "open_provider",
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
) -> Provider:
    if is_local(model):
        from probe.providers.local import LocalProvider

        return LocalProvider(model)
    from probe.providers.remote import RemoteProvider

    return RemoteProvider(
        model, api_base=api_base, api_key=api_key, timeout=timeout, retries=retries, vision=vision
    )
