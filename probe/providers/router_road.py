"""The Router road: one model name served by several deployments, through LiteLLM's Router.

Used for `--api-base` given more than once, or `--router FILE` (probe.providers.router_config).
LiteLLM's Router chooses a deployment for each request (its routing strategy), counts each
deployment's failures and leaves one out for a while once it fails too often (its cooldown);
probe's own retries (probe.providers.remote) then go through the Router again, so they land on
a deployment that is not cooling down. The Router makes no retries of its own.

What probe keeps per deployment: which one served each reply (`Completion.deployment`, the
record's `deployment`), its replies, failures and cooldowns (`stats`, for the closing summary),
its capabilities as resolved, and whether it continues a prefill (`RoutedDiscoveries`): a
deployment found to ignore or refuse a prefill gets no more prefilled requests (the Router's
candidates for such a request are filtered), while the others keep getting them.

Routing "even" (probe's default) narrows the Router's candidates — those not cooling down, and
able to take the request — to one: the deployment with the fewest of probe's requests in flight,
counted the moment it is picked and uncounted when its request ends; ties are taken in turn.
LiteLLM's simple-shuffle then has one to pick. Equal servers get equal shares; a slower one holds
its requests longer and gets fewer.
"""

from __future__ import annotations

import contextvars
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from probe.errors import UsageError
from probe.providers.capabilities import Capabilities
from probe.providers.discoveries import Discoveries
from probe.providers.litellm_road import (
    endpoint_of,
    import_litellm,
    missing_key,
    provider_of,
    resolve_capabilities,
)
from probe.providers.openai_road import NO_KEY
from probe.providers.pricing import ReplyCost
from probe.providers.router_config import EVEN, RouterSpec
from probe.redaction import url_secrets

# The deployment ids the Router picked for the current request (a list per send, shared by the
# tasks the Router may start, which copy this context).
_PICKED: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "probe_router_picked", default=None
)
# The deployments "even" routing counted as in flight for the current request (a list per send),
# uncounted when the request ends, however it ends.
_RESERVED: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "probe_router_reserved", default=None
)
# Kept out of a request that goes through the Router: each deployment brings its own.
_PER_DEPLOYMENT = ("model", "api_base", "api_key")


class RoutedDiscoveries(Discoveries):
    """Discoveries of a model served by several deployments: prefill is learned per deployment.

    `prefill` stays in use while any deployment may still continue one; a deployment that
    ignored or refused one (or resolves to another prefill mode than the rest, or to none) is in
    `no_prefill`, and prefilled requests are routed to the others only. Logprobs are learned for
    the whole group: a request may land anywhere."""

    def __init__(self, capabilities: Capabilities, per_deployment: dict[str, Capabilities]) -> None:
        super().__init__(capabilities)
        self.mode = capabilities.prefill  # as resolved for the group
        self.deployments = tuple(per_deployment)
        self.no_prefill: dict[str, str] = {}  # deployment → why it gets no prefilled requests
        self.continued: set[str] = set()  # deployments whose reply continued a prefill
        for label, found in per_deployment.items():
            if capabilities.prefill and found.prefill != capabilities.prefill:
                self.no_prefill[label] = f"resolves to prefill {found.prefill or 'none'}"
        self._settle()

    def forget_prefill(self, reason: str, deployment: str | None = None) -> None:
        if deployment not in self.deployments:
            super().forget_prefill(reason)
            return
        assert deployment is not None
        if deployment not in self.no_prefill:
            self.no_prefill[deployment] = reason
            self.notes.append(f"prefill: {deployment}: no more prefilled requests ({reason})")
        self._settle()

    def prefill_continued(self, deployment: str | None) -> None:
        if deployment is not None:
            self.continued.add(deployment)

    def prefill_state(self, deployment: str) -> str | None:
        """For the summary: continued, not used (and why), untested; None when the group's
        requests were never to carry a prefill."""
        if self.mode is None:
            return None
        if deployment in self.no_prefill:
            return "not used (" + self.no_prefill[deployment] + ")"
        if deployment in self.continued:
            return "continued"
        return "untested"

    def _settle(self) -> None:
        if self.prefill and all(d in self.no_prefill for d in self.deployments):
            self.prefill = None
            self.notes.append("prefill: no deployment takes it; not used for the rest of the run")


class RouterRoad:
    """One model group, its requests spread by LiteLLM's Router."""

    paced_in_client = False  # the Router's own clients carry the requests: paced before each

    def __init__(
        self, spec: RouterSpec, api_key: str | None, timeout: float, openai_key: str | None
    ) -> None:
        self.spec = spec
        self.model = spec.group
        self.api_key: str | None = None  # each deployment carries its own
        self.litellm = import_litellm()
        self._providers: dict[str, str] = {}
        model_list: list[dict[str, Any]] = []
        url_keys: list[str] = []
        for d in spec.deployments:
            params = dict(d.params)
            if params.get("api_base") and url_secrets(str(params["api_base"])):
                # LiteLLM's Router sends through aiohttp, which refuses credentials in a URL
                # beside the SDK's Authorization header: sent as the header they stand for,
                # as the single --api-base road (httpx) sends them.
                url_keys += url_secrets(str(params["api_base"]))
                params["api_base"], auth = split_credentials(str(params["api_base"]))
                params["extra_headers"] = {**(params.get("extra_headers") or {}), **auth}
                url_keys += [auth["Authorization"]]
            provider = provider_of(self.litellm, params["model"], params.get("api_base"))
            self._providers[d.label] = provider
            if provider == "openai" and params.get("api_base") and not params.get("api_key"):
                # a server on a laptop takes no key, but the OpenAI SDK insists on one
                params["api_key"] = api_key or openai_key or NO_KEY
            endpoint = endpoint_of(provider, params.get("api_base"))
            missing = missing_key(self.litellm, params["model"], params.get("api_key"), endpoint)
            if missing:
                raise UsageError(f"{spec.source}: deployment {d.label}: {missing}")
            model_list.append(
                {
                    "model_name": spec.group,
                    "litellm_params": {**params, "timeout": timeout, "max_retries": 0},
                    "model_info": {"id": d.label},
                }
            )
        self.secrets = tuple(
            str(m["litellm_params"]["api_key"])
            for m in model_list
            if m["litellm_params"].get("api_key") not in (None, NO_KEY)
        ) + tuple(url_keys)
        self.provider = next(iter(set(self._providers.values()))) if self._providers else ""
        if len(set(self._providers.values())) > 1:
            self.provider = "router"
        self.endpoint: str | None = spec.endpoint
        self.stats: dict[str, Counter[str]] = {d.label: Counter() for d in spec.deployments}
        self.even = spec.routing_strategy == EVEN
        self.in_flight: Counter[str] = Counter()  # "even": probe's requests per deployment
        self._turn = 0
        self._cooling_until: dict[str, float] = {}
        self.discoveries: RoutedDiscoveries | None = None
        self.router = _router_class(self.litellm)(
            model_list=model_list,
            # "even" narrows the candidates to one (async_callback_filter_deployments)
            routing_strategy="simple-shuffle" if self.even else spec.routing_strategy,
            num_retries=0,  # probe retries, through the Router again
            allowed_fails=spec.allowed_fails,
            cooldown_time=spec.cooldown_time,
        )
        self.router.probe_road = self
        # Priced only where no deployment is a server at a base URL (its name may be anything).
        at_base = any(d.params.get("api_base") for d in spec.deployments)
        self.cost: Callable[[Any], float | None] = ReplyCost(None if at_base else self.litellm)

    def capabilities(self, vision_override: bool | None) -> Capabilities:
        """The group's: the prefill mode most deployments take (the rest get no prefilled
        requests), and logprobs, seed and vision only where every deployment has them."""
        per = self.per_deployment(vision_override)
        modes = Counter(c.prefill for c in per.values() if c.prefill)
        prefill = modes.most_common(1)[0][0] if modes else None
        same = [c for c in per.values() if c.prefill == prefill]
        notes = [f"router: {self.spec.routing_strategy} over {len(per)} deployments"]
        for label, c in per.items():
            notes += [f"{label}: {n}" for n in c.notes]
        return Capabilities(
            prefill=prefill,
            prefill_known=all(c.prefill_known for c in same),
            logprobs=all(c.logprobs for c in per.values()),
            vision=all(c.vision for c in per.values()),
            seed=all(c.seed for c in per.values()),
            notes=tuple(notes),
        )

    def per_deployment(self, vision_override: bool | None) -> dict[str, Capabilities]:
        return {
            d.label: resolve_capabilities(
                self.litellm,
                d.params["model"],
                self._providers[d.label],
                d.params.get("api_base"),
                vision_override,
            )
            for d in self.spec.deployments
        }

    def discoveries_for(
        self, capabilities: Capabilities, vision_override: bool | None
    ) -> RoutedDiscoveries:
        self.discoveries = RoutedDiscoveries(capabilities, self.per_deployment(vision_override))
        return self.discoveries

    def served_by(self, response: Any) -> str | None:
        """The deployment that sent a reply (LiteLLM's `_hidden_params["model_id"]`: the id
        probe gave it, its label)."""
        hidden = getattr(response, "_hidden_params", None) or {}
        served = hidden.get("model_id")
        return served if isinstance(served, str) and served in self.stats else None

    async def send(self, kwargs: dict[str, Any]) -> Any:
        body = {k: v for k, v in kwargs.items() if k not in _PER_DEPLOYMENT}
        picked: list[str] = []
        reserved: list[str] = []
        token, held = _PICKED.set(picked), _RESERVED.set(reserved)
        try:
            response = await self.router.acompletion(model=self.spec.group, **body)
        except BaseException as exc:  # a call cut off at --timeout (cancelled) counts too
            if picked:
                self._failed(picked[-1])
                exc.probe_deployment = picked[-1]  # type: ignore[attr-defined]
            raise
        finally:
            _PICKED.reset(token)
            _RESERVED.reset(held)
            for label in reserved:
                self.in_flight[label] -= 1
        served = self.served_by(response) or (picked[-1] if picked else None)
        if served is not None:
            self.stats[served]["replies"] += 1
        return response

    def pick_even(self, candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Routing "even": of the Router's candidates, the one with the fewest requests in
        flight (ties in turn), counted as in flight from now until its request ends."""
        reserved = _RESERVED.get()
        if not candidates or reserved is None:  # not a request of send(): left to the Router
            return candidates
        start = self._turn % len(candidates)
        self._turn += 1
        turn = candidates[start:] + candidates[:start]
        chosen = min(turn, key=lambda d: self.in_flight[_label(d)])  # the first of the fewest
        self.in_flight[_label(chosen)] += 1
        reserved.append(_label(chosen))
        return [chosen]

    def _failed(self, label: str) -> None:
        if label in self.stats:
            self.stats[label]["failures"] += 1

    def cooled(self, label: str) -> None:
        """The Router put a deployment in cooldown (counted once per cooldown period)."""
        now = time.monotonic()
        if label in self.stats and now >= self._cooling_until.get(label, 0.0):
            self.stats[label]["cooldowns"] += 1
            self._cooling_until[label] = now + self.spec.cooldown_time

    def summary(self) -> list[dict[str, Any]]:
        """Per deployment: replies, failures, cooldowns and prefill, for the closing summary."""
        rows = []
        for label, counts in self.stats.items():
            row: dict[str, Any] = {
                "deployment": label,
                "replies": counts["replies"],
                "failures": counts["failures"],
                "cooldowns": counts["cooldowns"],
            }
            if self.discoveries is not None:
                row["prefill"] = self.discoveries.prefill_state(label)
            rows.append(row)
        return rows

    async def aclose(self) -> None:
        pass  # the Router's clients are its own; nothing of probe's to release


def split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """A URL without the credentials written into it, and the Authorization header they stand
    for (HTTP Basic, user:password; a user name alone is a token with an empty password), as
    httpx would send them from the URL."""
    import base64
    from urllib.parse import unquote, urlsplit, urlunsplit

    parts = urlsplit(url)
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=host)), {"Authorization": f"Basic {token}"}


def _label(deployment: dict[str, Any]) -> str:
    """A Router deployment's id: the label probe gave it."""
    return str((deployment.get("model_info") or {}).get("id"))


def _router_class(litellm: Any) -> Any:
    """LiteLLM's Router, told to report the deployment it picks and the cooldowns it starts,
    and to leave deployments that ignore prefill out of prefilled requests."""

    class ProbeRouter(litellm.Router):  # type: ignore[misc]
        probe_road: RouterRoad

        async def async_get_available_deployment(self, *args: Any, **kwargs: Any) -> Any:
            deployment = await super().async_get_available_deployment(*args, **kwargs)
            picked = _PICKED.get()
            if picked is not None and isinstance(deployment, dict):
                picked.append(str((deployment.get("model_info") or {}).get("id")))
            return deployment

        def deployment_callback_on_failure(self, kwargs: Any, *args: Any, **more: Any) -> Any:
            cooled = super().deployment_callback_on_failure(kwargs, *args, **more)
            if cooled:
                info = (kwargs.get("litellm_params") or {}).get("model_info") or {}
                self.probe_road.cooled(str(info.get("id")))
            return cooled

        async def async_callback_filter_deployments(
            self, model: str, healthy_deployments: list[dict[str, Any]], *args: Any, **kwargs: Any
        ) -> Any:
            found = await super().async_callback_filter_deployments(
                model, healthy_deployments, *args, **kwargs
            )
            messages = kwargs.get("messages", args[0] if args else None)
            road = self.probe_road
            learned = road.discoveries
            if messages and learned is not None and messages[-1].get("role") == "assistant":
                found = [d for d in found if _label(d) not in learned.no_prefill]
            return road.pick_even(found) if road.even else found

    return ProbeRouter


def open_router_road(spec: RouterSpec, api_key: str | None, timeout: float) -> RouterRoad:
    from probe import environment

    return RouterRoad(spec, api_key, timeout, environment.openai_api_key())
