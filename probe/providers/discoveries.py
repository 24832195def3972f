"""What one run learns about its model that resolving its capabilities could not know.

`Capabilities` are resolved once, when a provider is opened, and never change. A run can still
find out things about the model on the other end, and this is the one place they are kept
(one `Discoveries` per provider, as `provider.discoveries`):

- a reply continued a prefill (`prefill_confirmed`): from then on forced calls that use prefill
  go ahead together. Until then the first one is tried alone, under `prefill_gate`, so concurrent
  inputs do not all spend a call on a mechanism the first reply may show to be unusable
  (probe.pipeline.engine decides this);
- the server refused or ignored a prefill (`forget_prefill`): prefill is not used again in this
  run (`prefill` becomes None), except where probe renders the prompt itself (native prefill,
  which cannot be refused);
- the server refused logprobs (`refuse_logprobs`): they are not requested again.

Everything that sends or keys a request (the providers, the response cache) reads `prefill` and
`logprobs` from here: the capabilities as resolved, less what the run found unusable. `notes`
says what was learned and why.
"""

from __future__ import annotations

import asyncio
from typing import Any

from probe.providers.capabilities import PREFILL_NATIVE, Capabilities


class Discoveries:
    def __init__(self, capabilities: Capabilities) -> None:
        self.prefill: str | None = capabilities.prefill  # the prefill mode still in use
        self.logprobs: bool = capabilities.logprobs  # whether logprobs are still requested
        self.prefill_confirmed = False  # a reply in this run continued a prefill
        self.prefill_gate = asyncio.Lock()  # held while the first prefill of the run is tried
        self.notes: list[str] = []  # what was learned, in order

    def forget_prefill(self, reason: str, deployment: str | None = None) -> None:
        """The model refused or ignored a prefill: no prefill for the rest of the run.
        (`deployment`: which server of several; one server's discoveries have no use for it.)"""
        if self.prefill == PREFILL_NATIVE:  # our own prompt rendering: nothing to refuse
            self.notes.append(f"prefill reported unusable ({reason}); kept: native")
            return
        self.prefill = None
        self.notes.append(f"prefill: disabled for the rest of the run ({reason})")

    def prefill_continued(self, deployment: str | None) -> None:
        """A reply continued a prefill (kept per deployment where there are several)."""

    def refuse_logprobs(self) -> None:
        """The server refused a request for logprobs: go on without them."""
        self.logprobs = False
        self.notes.append("logprobs: refused by the server; not requested again")


def in_use(provider: Any) -> Discoveries | Capabilities:
    """The prefill mode and logprobs a provider uses now (`.prefill`, `.logprobs`): its
    discoveries, or, for a provider that keeps none (a stand-in in tests), its capabilities."""
    found = getattr(provider, "discoveries", None)
    chosen: Discoveries | Capabilities = found if found is not None else provider.capabilities
    return chosen


def forget_prefill(provider: Any, reason: str, deployment: str | None) -> None:
    """`provider.forget_prefill`, naming the deployment that served the reply where the
    provider has several (probe.providers.router_road); as before for every other provider."""
    if deployment is None:
        provider.forget_prefill(reason)
    else:
        provider.forget_prefill(reason, deployment=deployment)
