"""The one place probe reads (and, for LiteLLM, sets) environment variables.

Every variable probe itself looks at is named here, so what a run depends on outside its options
can be read in one file. Read at the moment of asking, never cached: tests and long-lived
processes change the environment between runs. The CLI's own option defaults (PROBE_MODEL,
PROBE_API_BASE, PROBE_API_KEY, NO_COLOR, COLUMNS) are read by typer and rich, not here.
"""

from __future__ import annotations

import os
from pathlib import Path

from probe.errors import UsageError

CACHE_DIR = "PROBE_CACHE_DIR"  # where the response cache lives
TRANSPORT = "PROBE_TRANSPORT"  # auto (default) or litellm: the road to openai/NAME at --api-base
OPENAI_API_KEY = "OPENAI_API_KEY"
# Set (unless already set) before LiteLLM is first imported: no network fetch of the price map
# at import, no .env loading from the working directory, no log chatter (see FIELD-NOTES).
LITELLM_DEFAULTS = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_MODE": "PRODUCTION",
    "LITELLM_LOG": "ERROR",
}
# Variables whose values are secrets wherever they turn up (redacted from all output).
SECRET_SUFFIXES = ("_API_KEY", "_TOKEN", "_KEY")
_MIN_SECRET_LEN = 8  # shorter values would mangle ordinary text if replaced


def cache_dir() -> Path:
    """PROBE_CACHE_DIR, else probe/ under XDG_CACHE_HOME, else ~/.cache/probe."""
    if os.environ.get(CACHE_DIR):
        return Path(os.environ[CACHE_DIR])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "probe"


def transport() -> str:
    """PROBE_TRANSPORT: "auto" (unset or empty) or "litellm"; anything else is a usage error."""
    choice = os.environ.get(TRANSPORT, "").strip().lower() or "auto"
    if choice not in ("auto", "litellm"):
        raise UsageError(f"{TRANSPORT}={choice}: expected auto or litellm")
    return choice


def openai_api_key() -> str | None:
    return os.environ.get(OPENAI_API_KEY) or None


def base_url_variables(provider: str) -> tuple[str, ...]:
    """The environment variables LiteLLM reads a provider's base URL from (OPENAI_BASE_URL,
    OPENAI_API_BASE, ANTHROPIC_API_BASE, OLLAMA_API_BASE, …), in LiteLLM's order for OpenAI."""
    name = provider.upper()
    return (f"{name}_BASE_URL", f"{name}_API_BASE")


def base_url(provider: str) -> str | None:
    """The first of a provider's base-URL variables that is set, or None."""
    return next((os.environ[v] for v in base_url_variables(provider) if os.environ.get(v)), None)


def set_litellm_defaults() -> None:
    """Give LiteLLM its quiet, offline defaults, leaving any value the user set."""
    for name, value in LITELLM_DEFAULTS.items():
        os.environ.setdefault(name, value)


def secret_values() -> set[str]:
    """Values of *_API_KEY, *_TOKEN and *_KEY variables long enough to redact safely."""
    return {
        v
        for k, v in os.environ.items()
        if v and len(v) >= _MIN_SECRET_LEN and k.endswith(SECRET_SUFFIXES)
    }
