"""Which deployments LiteLLM's Router spreads a run's calls over, and how.

Two ways to name them: `--api-base` given more than once (one deployment per base, all serving
--model), or `--router FILE`, a LiteLLM proxy config (`model_list:` of `{model_name,
litellm_params: {model, api_base, api_key, rpm, ...}}`, optional `router_settings:`). An
`os.environ/NAME` value is read from the environment here and kept out of everything shown.
Every problem with the file is a usage error that names it. Nothing heavy is imported here.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from probe.errors import UsageError
from probe.redaction import redact_url

# --routing: probe's names for the routing strategies. "even" is probe's own (probe.providers.
# router_road): each request to the deployment with the fewest requests in flight, counted the
# moment it is picked, ties taken in turn. The others are LiteLLM's.
EVEN = "even"
ROUTINGS = {
    EVEN: EVEN,
    "simple-shuffle": "simple-shuffle",
    "least-busy": "least-busy",
    "latency-based": "latency-based-routing",
}
# The strategy when neither --routing nor router_settings names one. LiteLLM's simple-shuffle
# picks at random, so the splits are uneven and change run to run (95/95/75/95 of 360 requests
# at 4 servers). LiteLLM's least-busy counts a request as in flight only once its call has
# started, so a burst of requests picked together all see zero everywhere and go to the first
# deployment. "even" takes the count when the deployment is picked: equal servers get equal
# shares, and a slower one, holding its requests longer, gets fewer (docs/benchmarks.md).
DEFAULT_ROUTING = EVEN
# What router_settings may set (others, such as redis_host, are the proxy's and are ignored).
SETTINGS = ("routing_strategy", "allowed_fails", "cooldown_time")
# A deployment that fails more than ALLOWED_FAILS times within COOLDOWN_S seconds is left out
# for COOLDOWN_S seconds (LiteLLM's own counter and cooldown; its defaults: 3 fails, 5 s).
ALLOWED_FAILS = 1
COOLDOWN_S = 30.0
ENV_PREFIX = "os.environ/"


@dataclass(frozen=True)
class Deployment:
    label: str  # short, stable, no credentials: the api_base, else the model (record `deployment`)
    params: dict[str, Any] = field(repr=False)  # litellm_params, os.environ/ values resolved


@dataclass(frozen=True)
class RouterSpec:
    group: str  # the model name requests ask the Router for
    deployments: tuple[Deployment, ...]
    routing_strategy: str = DEFAULT_ROUTING  # LiteLLM's name, or "even" (probe's own)
    allowed_fails: int = ALLOWED_FAILS
    cooldown_time: float = COOLDOWN_S
    source: str = "--api-base"  # where it came from, for messages

    @property
    def endpoint(self) -> str:
        """One stable name for all the deployments (the response cache's key)."""
        return "router:" + ",".join(sorted(d.label for d in self.deployments))


def routing_name(routing: str | None, where: str = "--routing") -> str | None:
    """LiteLLM's strategy for probe's --routing name (LiteLLM's own names are accepted too)."""
    if routing is None:
        return None
    if routing in ROUTINGS:
        return ROUTINGS[routing]
    if routing in ROUTINGS.values():
        return routing
    raise UsageError(f"{where} {routing}: not one of {', '.join(ROUTINGS)}")


def from_bases(
    model: str, bases: tuple[str, ...], api_key: str | None, routing: str | None
) -> RouterSpec:
    """One deployment of `model` per --api-base."""
    if model.startswith("local/"):
        raise UsageError(
            "--api-base given more than once needs --model provider/NAME (e.g. openai/NAME): "
            "the embedded model is not served from a base URL"
        )
    dupes = [b for b, n in Counter(bases).items() if n > 1]
    if dupes:
        raise UsageError(f"--api-base {redact_url(dupes[0])}: given twice")
    deployments = []
    for base in bases:
        params: dict[str, Any] = {"model": model, "api_base": base}
        if api_key:
            params["api_key"] = api_key
        deployments.append(Deployment(str(redact_url(base)), params))
    return RouterSpec(
        group=model,
        deployments=tuple(deployments),
        routing_strategy=routing_name(routing) or DEFAULT_ROUTING,
    )


def from_file(path: str, model: str | None, routing: str | None) -> RouterSpec:
    """The deployments of model group `model` (the file's only one when None) in a LiteLLM
    proxy config file."""
    data = _read_yaml(path)
    entries = data.get("model_list")
    if not isinstance(entries, list) or not entries:
        raise UsageError(f"--router {path}: no model_list (a list of deployments) in the file")
    groups: dict[str, list[dict[str, Any]]] = {}
    for i, entry in enumerate(entries, 1):
        where = f"--router {path}: model_list entry {i}"
        if not isinstance(entry, dict):
            raise UsageError(f"{where} is not a mapping")
        name = entry.get("model_name")
        if not isinstance(name, str) or not name.strip():
            raise UsageError(f"{where} has no model_name")
        params = entry.get("litellm_params")
        if not isinstance(params, dict) or not isinstance(params.get("model"), str):
            raise UsageError(f"{where} ({name}) has no litellm_params.model")
        groups.setdefault(name, []).append(_resolved(params, f"{where} ({name})"))
    if model is None:
        if len(groups) > 1:
            raise UsageError(
                f"--router {path} serves several model names ({', '.join(groups)}): "
                "choose one with --model"
            )
        model = next(iter(groups))
    if model not in groups:
        raise UsageError(
            f"--router {path}: no model_name {model!r} (it has {', '.join(groups)}); "
            "--model names one of them"
        )
    settings = data.get("router_settings") or {}
    if not isinstance(settings, dict):
        raise UsageError(f"--router {path}: router_settings is not a mapping")
    strategy = routing_name(routing) or routing_name(
        settings.get("routing_strategy"), f"--router {path}: router_settings.routing_strategy"
    )
    return RouterSpec(
        group=model,
        deployments=_labelled(groups[model]),
        routing_strategy=strategy or DEFAULT_ROUTING,
        allowed_fails=_number(settings, "allowed_fails", ALLOWED_FAILS, path, int),
        cooldown_time=_number(settings, "cooldown_time", COOLDOWN_S, path, float),
        source=f"--router {path}",
    )


def group_of(path: str) -> str:
    """The model name a --router file serves when --model does not choose one."""
    return from_file(path, None, None).group


def _read_yaml(path: str) -> dict[str, Any]:
    import yaml  # type: ignore[import-untyped]  # (LiteLLM's dependency)

    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as exc:
        raise UsageError(f"--router {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"--router {path}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "bad syntax"
        raise UsageError(f"--router {path}: not valid YAML{at}: {problem}") from None
    if not isinstance(data, dict):
        raise UsageError(f"--router {path}: not a LiteLLM config (expected model_list: ...)")
    return data


def _resolved(params: dict[str, Any], where: str) -> dict[str, Any]:
    """litellm_params with every `os.environ/NAME` read from the environment."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str) and value.startswith(ENV_PREFIX):
            name = value[len(ENV_PREFIX) :]
            found = os.environ.get(name)
            if not found:
                raise UsageError(f"{where}: {key} is os.environ/{name}, and {name} is not set")
            value = found
        out[str(key)] = value
    return out


def _labelled(group: list[dict[str, Any]]) -> tuple[Deployment, ...]:
    """Each deployment's label: its api_base (credentials redacted) or else its model; a label
    shared by several gets #2, #3, … in file order."""
    names = [str(redact_url(p.get("api_base")) or p["model"]) for p in group]
    seen: Counter[str] = Counter()
    labels = []
    for name in names:
        seen[name] += 1
        labels.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return tuple(Deployment(label, params) for label, params in zip(labels, group, strict=True))


def _number(settings: dict[str, Any], key: str, default: Any, path: str, kind: type) -> Any:
    value = settings.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise UsageError(f"--router {path}: router_settings.{key} {value!r} is not a number >= 0")
    return kind(value)
