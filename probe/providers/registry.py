"""The kinds of provider probe can open, and which one a model name means.

One entry per kind, tried in order: the embedded model (`local/NAME`), the OpenAI SDK road
(`openai/NAME` with --api-base, unless PROBE_TRANSPORT=litellm), and the LiteLLM road (anything
else). Each says how it recognises a model, how it opens one, whether it paces its own requests
(so the run's limits do not pace them twice), whether it can need an API key, and the note a user
is shown when it is used. The remote modules are imported only when a remote model is opened.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from probe import environment
from probe.errors import ProviderError, UsageError
from probe.providers.base import Provider

if TYPE_CHECKING:
    from probe.providers.router_config import RouterSpec

Pace = Callable[[], Awaitable[None]]

LOCAL_NOTE = (
    "{model} is the embedded 135M-parameter model: smoke-test quality, near chance on real judgments. "
    "Point probe at a real model with --model (e.g. openai/gpt-4o-mini, or openai/NAME --api-base URL "
    "for a local server) or PROBE_MODEL."
)


@dataclass(frozen=True)
class ProviderKind:
    name: str
    recognises: Callable[[str, str | None], bool]  # (model, api_base) -> is it this kind?
    opener: Callable[..., Provider]  # (model, api_base=, api_key=, timeout=, retries=, ...)
    paces_itself: bool  # awaits the run's `pace` before each request it sends, retries included
    # (model, api_base, api_key) -> the usage error for a key that is nowhere, or None; None
    # for a kind that never needs one
    missing_credentials: Callable[[str, str | None, str | None], str | None] | None = None
    note: str | None = None  # shown to the user when a run uses this kind; {model} is filled in

    @property
    def needs_credentials(self) -> bool:
        return self.missing_credentials is not None

    def note_for(self, model: str) -> str | None:
        return None if self.note is None else self.note.format(model=model)


def _is_local(model: str, api_base: str | None) -> bool:
    return model.startswith("local/")


def _takes_openai_sdk(model: str, api_base: str | None) -> bool:
    # PROBE_TRANSPORT is read only when it could matter here; opening a LiteLLM model checks it
    # in any case (`_open_litellm`), so a misspelt value is never silently ignored.
    return bool(api_base) and model.startswith("openai/") and environment.transport() == "auto"


def _is_remote(model: str, api_base: str | None) -> bool:
    return True  # anything else is LiteLLM's to name (an unknown name fails as it opens)


def _open_local(model: str, **_: Any) -> Provider:
    from probe.providers.local import LocalProvider

    return LocalProvider(model)


def _open_remote(
    road_class: Callable[[str, str | None, str | None, float], Any],
    model: str,
    *,
    api_base: str | None = None,
    api_key: str | None = None,
    timeout: float = 60.0,
    retries: int = 3,
    vision: bool | None = None,
    pace: Pace | None = None,
) -> Provider:
    from probe.providers.remote import RemoteProvider

    return RemoteProvider(
        model,
        road_class(model, api_base, api_key, timeout),
        api_base=api_base,
        api_key=api_key,
        timeout=timeout,
        retries=retries,
        vision=vision,
        pace=pace,
    )


def _open_openai_sdk(model: str, **options: Any) -> Provider:
    from probe.providers.openai_road import OpenAIRoad

    return _open_remote(OpenAIRoad, model, **options)


def _open_litellm(model: str, **options: Any) -> Provider:
    environment.transport()  # a PROBE_TRANSPORT other than auto/litellm is a usage error here too
    from probe.providers.litellm_road import LiteLLMRoad

    try:
        return _open_remote(LiteLLMRoad, model, **options)
    except ProviderError as exc:  # LiteLLM knows no provider for the name (bare, at --api-base)
        raise UsageError(exc.message) from None


def _litellm_missing_credentials(
    model: str, api_base: str | None, api_key: str | None
) -> str | None:
    from probe.providers.litellm_road import missing_credentials

    return missing_credentials(model, api_base, api_key)


LOCAL = ProviderKind(
    name="local",
    recognises=_is_local,
    opener=_open_local,
    paces_itself=False,
    note=LOCAL_NOTE,
)
OPENAI_SDK = ProviderKind(
    name="openai-sdk",
    recognises=_takes_openai_sdk,
    opener=_open_openai_sdk,
    paces_itself=True,
)
LITELLM = ProviderKind(
    name="litellm",
    recognises=_is_remote,
    opener=_open_litellm,
    paces_itself=True,
    missing_credentials=_litellm_missing_credentials,
)
KINDS = (LOCAL, OPENAI_SDK, LITELLM)  # the first that recognises a model opens it


ACCEPTED_FORMS = (
    "provider/model (e.g. openai/gpt-4o-mini, anthropic/claude-sonnet-4-5), openai/NAME with "
    "--api-base URL for a server of your own, or local/smollm2 for the embedded model"
)
# Bare names LiteLLM maps to a provider by their shape rather than by its price map.
_BARE_PREFIXES = ("gpt-image", "amazon_nova")


def check_model_name(model: str, api_base: str | None = None, *, option: str = "--model") -> None:
    """A usage error for a model string that names no provider, told from the name alone and
    without importing LiteLLM (~2-6 s): a name without `provider/` must be one LiteLLM knows
    by itself (its price map's: gpt-4o-mini, claude-3-5-haiku-latest, …). (An unknown
    `local/NAME` is a usage error when it is opened, which imports nothing heavy.) With an api_base, a bare name may still name a known
    endpoint's provider: LiteLLM decides as it opens, and a failure there is a usage error too."""
    if "/" in model or api_base or model.startswith(_BARE_PREFIXES) or ":" in model:
        return
    known = _bare_model_names()
    if known is None or model in known:
        return
    close = difflib.get_close_matches(model, list(known), n=1, cutoff=0.75)
    hint = f"; did you mean {known[close[0]]}/{close[0]}?" if close else ""
    raise UsageError(
        f"{option} {model}: the name says no provider{hint or '.'} Name a model as {ACCEPTED_FORMS}"
    )


@functools.lru_cache(maxsize=1)
def _bare_model_names() -> dict[str, str] | None:
    """{name: provider} for the names without a `/` in LiteLLM's price map, read from the JSON
    file its package ships (without importing it); None when it cannot be read."""
    import importlib.util
    import json

    try:
        spec = importlib.util.find_spec("litellm")
        locations = list(spec.submodule_search_locations or []) if spec else []
        path = Path(locations[0]) / "model_prices_and_context_window_backup.json"
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ImportError, IndexError, OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    return {
        name: str(entry.get("litellm_provider") or "openai")
        for name, entry in data.items()
        if "/" not in name and isinstance(entry, dict)
    }


def provider_kind(model: str, api_base: str | None = None) -> ProviderKind:
    """The kind of provider that opens `model` (with --api-base `api_base`)."""
    return next(kind for kind in KINDS if kind.recognises(model, api_base))


def open_provider(
    model: str,
    *,
    api_base: str | None = None,
    api_key: str | None = None,
    timeout: float = 60.0,
    retries: int = 3,
    vision: bool | None = None,
    pace: Pace | None = None,
) -> Provider:
    """`pace` is awaited before every request a remote provider sends, retries included."""
    return provider_kind(model, api_base).opener(
        model,
        api_base=api_base,
        api_key=api_key,
        timeout=timeout,
        retries=retries,
        vision=vision,
        pace=pace,
    )


def open_routed(
    spec: RouterSpec,
    *,
    api_key: str | None = None,
    timeout: float = 60.0,
    retries: int = 3,
    vision: bool | None = None,
    pace: Pace | None = None,
) -> Provider:
    """One model name over several deployments, through LiteLLM's Router (paces itself, like
    the other remote kinds): --api-base given more than once, or --router FILE."""
    from probe.providers.remote import RemoteProvider
    from probe.providers.router_road import open_router_road

    return RemoteProvider(
        spec.group,
        open_router_road(spec, api_key, timeout),
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
    if api_key or api_base:
        return  # a key was given; a server at --api-base may take none
    kind = provider_kind(model, api_base)
    if kind.missing_credentials is None:
        return
    try:
        missing = kind.missing_credentials(model, api_base, api_key)
    except ProviderError as exc:  # LiteLLM knows no provider by that name
        raise UsageError(exc.message) from None
    if missing:
        raise UsageError(missing)
