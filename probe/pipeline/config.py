"""Every setting of a run, in one frozen `RunConfig`, and the checks that make a setting a usage
error (probe.errors.UsageError, exit 2 at the command line) before any model is opened.

The defaults are the command line's. Nothing heavy is imported here: `import probe` stays cheap.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, get_args

from probe.errors import UsageError

if TYPE_CHECKING:
    from probe.pipeline.engine import ProbeOptions
    from probe.providers.router_config import RouterSpec
    from probe.variants.tasks import Task

ForceVia = Literal["auto", "prefill", "prior-turn", "note"]
FORCE_VIAS: tuple[str, ...] = get_args(ForceVia)


def resolve_task(task: str | Task | None, question: str | None = None) -> Task:
    """The task a run asks: a Task as given, a built-in task's name or a TOML task file, or a
    yes/no `question` of one's own (`probe ask "QUESTION"`); neither: the funny task."""
    from probe.variants.tasks import FUNNY, ask_task, load_task

    if question is not None:
        if task is not None:
            raise UsageError("give a task or a question, not both")
        try:
            return ask_task(question)
        except ValueError as exc:
            raise UsageError(f"the question: {exc}") from None
    if task is None:
        return FUNNY
    if isinstance(task, str):
        return load_task(task)
    return task


@dataclass(frozen=True)
class RunConfig:
    """One run, as `probe funny`/`probe ask` take it: inputs, task and the options of the same
    names (`cache=False` is `--no-cache`). `model=None` is the embedded local model; unlike the
    command line, no PROBE_* environment variable is read here (the provider's own API key
    variable still is). `align` defaults off, as for records (the terminal view turns it on).

    A bad setting raises UsageError, with the command line's message, when the config is made:
    a value out of bounds, an unknown variant or force, a task file that cannot be read, -o
    options that exclude each other. What depends on the environment (API keys, the run file's
    contents) is checked when it runs."""

    inputs: Sequence[str | os.PathLike[str]] | str | os.PathLike[str] = ()
    task: str | Task | None = None  # built-in name or TOML file; None: funny (or `question`)
    question: str | None = None  # a yes/no question of your own instead of a task
    force: str = "opposite"
    force_via: ForceVia = "auto"
    variants: str | Sequence[str] | None = None  # "a,b" or a list; None: the task's own
    suggest: str | None = None
    model: str | None = None
    api_base: str | Sequence[str] | None = None  # more than one: LiteLLM's Router over them
    api_key: str | None = field(default=None, repr=False)  # never shown
    timeout: float = 60.0
    retries: int = 3
    max_tokens: int = 200
    temperature: float = 0.0
    max_side: int = 1568
    vision: bool | None = None
    output: str | os.PathLike[str] | None = None  # the run file (-o)
    resume: bool = False
    overwrite: bool = False
    concurrency: int = 8
    rpm: float | None = None
    samples: int = 1
    cache: bool = True
    judge: str | None = None
    judge_api_base: str | None = None
    embed_model: str = "local/minilm"
    align: bool = False
    # --no-extract: no answer extraction call for a reply that states no readable answer
    extract: bool = True
    allow_outside: bool = False
    max_input_bytes: int = 20_000_000
    debug: bool = False
    verbose: bool = False  # --verbose: name every skipped file
    quiet: bool = False  # --quiet: no notices on the terminal (warnings and errors still)
    batch_api: bool = (
        False  # --batch-api: calls go to the provider's batches (probe.batch_api.submit)
    )
    router: str | os.PathLike[str] | None = None  # a LiteLLM proxy config (model_list)
    routing: str | None = (
        None  # the Router's strategy: even, simple-shuffle, least-busy, latency-based
    )

    def __post_init__(self) -> None:
        if self.api_base is not None and not isinstance(self.api_base, str):
            bases = tuple(self.api_base)
            object.__setattr__(self, "api_base", bases[0] if len(bases) == 1 else bases or None)
        if self.router is not None:
            object.__setattr__(self, "router", os.fspath(self.router))
        inputs = self.inputs
        if isinstance(inputs, str | os.PathLike):
            inputs = (inputs,)
        object.__setattr__(self, "inputs", tuple(os.fspath(i) for i in inputs))
        if self.output is not None:
            object.__setattr__(self, "output", os.fspath(self.output))
        if self.variants is not None and not isinstance(self.variants, str):
            object.__setattr__(self, "variants", tuple(self.variants))
        self.check()

    @property
    def input_args(self) -> tuple[str, ...]:
        """The inputs, as command-line arguments (normalised to strings when the config is made)."""
        return tuple(os.fspath(i) for i in self.inputs)  # type: ignore[union-attr]

    @property
    def model_name(self) -> str:
        from probe.providers import DEFAULT_LOCAL_MODEL

        if self.model is None and self.router:
            from probe.providers.router_config import group_of

            return group_of(str(self.router))  # the file's one model name
        return self.model or DEFAULT_LOCAL_MODEL

    @property
    def single_api_base(self) -> str | None:
        """--api-base when it was given once (several go to the Router: `router_spec`)."""
        return self.api_base if isinstance(self.api_base, str) else None

    def router_spec(self) -> RouterSpec | None:
        """The deployments LiteLLM's Router spreads the calls over (--api-base given more than
        once, or --router FILE), or None for one endpoint."""
        from probe.providers import router_config

        if self.router:
            return router_config.from_file(str(self.router), self.model, self.routing)
        if isinstance(self.api_base, tuple):
            return router_config.from_bases(
                self.model_name, self.api_base, self.api_key, self.routing
            )
        return None

    def resolved_task(self) -> Task:
        return resolve_task(self.task, self.question)

    def check(self) -> None:
        """Every usage error the settings hold, as the command line words it."""
        self.check_values()
        self.check_output()
        self.probe_options(self.resolved_task())

    def check_values(self) -> None:
        """The bounds the command line's options enforce (Typer checks them there first)."""
        for name, low in (
            ("timeout", 0.1),
            ("retries", 0),
            ("max_tokens", 1),
            ("temperature", 0.0),
            ("max_side", 64),
            ("concurrency", 1),
            ("samples", 1),
            ("max_input_bytes", 1),
            ("rpm", 0.01),
        ):
            value = getattr(self, name)
            if value is not None and value < low:
                raise UsageError(f"--{name.replace('_', '-')}: {value} is below {low}")
        if self.force_via not in FORCE_VIAS:
            raise UsageError(f"--force-via {self.force_via}: not one of {', '.join(FORCE_VIAS)}")
        self.check_router()
        self.check_models()

    def check_models(self) -> None:
        """A model string that names no provider is a usage error now, from the name alone
        (before LiteLLM is imported): --model and --judge."""
        from probe.providers import check_model_name

        if self.model is not None and not self.router:
            several = isinstance(self.api_base, tuple)
            check_model_name(self.model, "several" if several else self.single_api_base)
        if self.judge and self.judge != "self":
            check_model_name(self.judge, self.judge_api_base, option="--judge")

    def check_router(self) -> None:
        """--router and --api-base exclude each other; --routing needs several deployments."""
        from probe.providers.router_config import routing_name

        if self.router and self.api_base:
            raise UsageError(
                f"--router {self.router} names its deployments' api_base: drop --api-base"
            )
        routing_name(self.routing)
        if self.routing and not (self.router or isinstance(self.api_base, tuple)):
            raise UsageError(
                f"--routing {self.routing} spreads calls over several servers: give --api-base "
                "more than once, or --router FILE"
            )

    def check_output(self) -> None:
        """--resume and --overwrite each need -o, and exclude each other."""
        if self.resume and not self.output:
            raise UsageError("--resume needs -o FILE: the file it resumes")
        if self.overwrite and (self.resume or not self.output):
            raise UsageError(
                "--overwrite replaces what -o FILE holds; --resume keeps it: give one of them"
                if self.resume
                else "--overwrite needs -o FILE: the file it replaces"
            )

    def chosen_variants(self, task: Task) -> tuple[str, ...]:
        if not self.variants:
            return task.variants
        names = self.variants.split(",") if isinstance(self.variants, str) else self.variants
        return tuple(v.strip() for v in names if v.strip())

    def probe_options(self, task: Task) -> ProbeOptions:
        """What each input is asked, checked against the task: --force and --variants."""
        from probe.pipeline.engine import ProbeOptions
        from probe.variants.variant import VARIANTS

        force = self.force.strip()
        if (
            force.lower() != "opposite"
            and task.normalise(force) is None
            and (task.is_yes_no or task.option_texts)
        ):
            raise UsageError(
                f"--force {force}: not an answer of task {task.name!r} ({', '.join(task.options)} or opposite)"
            )
        chosen = self.chosen_variants(task)
        unknown = [v for v in chosen if v not in VARIANTS]
        if unknown or not chosen:
            raise UsageError(
                f"--variants: unknown {', '.join(unknown) or '(none given)'}; known: {', '.join(VARIANTS)}"
            )
        return ProbeOptions(
            force="opposite"
            if force.lower() == "opposite"
            else (task.normalise(force) or force.upper()),
            force_via=self.force_via,
            variants=chosen,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            suggest=self.suggest,
            judge=self.judge,
            align=self.embed_model if self.align else None,
            extract=self.extract,
        )

    def check_credentials(self, opts: ProbeOptions) -> None:
        """A provider that needs an API key and has none is a usage error before anything is
        opened or called: the model, the --judge, a remote --embed-model."""
        from probe.providers import check_credentials

        if self.router_spec() is None:  # a Router's deployments are checked one by one as opened
            check_credentials(self.model_name, api_base=self.single_api_base, api_key=self.api_key)
        if self.judge and self.judge != "self":
            check_credentials(self.judge, api_base=self.judge_api_base, api_key=self.api_key)
        if opts.align and not opts.align.startswith("local/"):
            check_credentials(opts.align, api_base=None, api_key=self.api_key)
