"""Opening a provider by model name: the embedded model, an OpenAI-compatible server, or anything
LiteLLM can call (see probe.providers.registry)."""

from __future__ import annotations

from probe.providers.base import Completion, Provider
from probe.providers.capabilities import Capabilities
from probe.providers.discoveries import Discoveries
from probe.providers.local import DEFAULT_LOCAL_MODEL
from probe.providers.registry import (
    ProviderKind,
    check_credentials,
    check_model_name,
    open_provider,
    provider_kind,
)

__all__ = [
    "Capabilities",
    "Completion",
    "Discoveries",
    "Provider",
    "ProviderKind",
    "open_provider",
    "check_credentials",
    "check_model_name",
    "provider_kind",
    "DEFAULT_LOCAL_MODEL",
]
