"""LiteLLM's price map: what a reply cost, and a model's entry in the bundled map (read without
importing LiteLLM, for the OpenAI SDK road)."""

from __future__ import annotations

import functools
import json
from typing import Any


class ReplyCost:
    """Cost of each reply where LiteLLM's price map knows the model; asked once, then not again
    if it does not (the failed look-up costs ~1 ms of CPU per call). `litellm` None: never
    priced (a server at --api-base may serve anything under any name: prices are not guessed)."""

    def __init__(self, litellm: Any) -> None:
        self._litellm = litellm
        self._known: bool | None = None if litellm is not None else False

    def __call__(self, response: Any) -> float | None:
        if self._known is False:
            return None
        already = (getattr(response, "_hidden_params", None) or {}).get("response_cost")
        if already is not None:  # LiteLLM priced the reply while building it: don't do it twice
            self._known = True
            return float(already)
        try:
            cost = float(self._litellm.completion_cost(completion_response=response))
        except Exception:
            self._known = False
            return None
        self._known = True
        return cost


def price_map_entry(name: str) -> dict[str, Any]:
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
