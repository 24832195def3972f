"""The command line's run options, declared once for `funny` and `ask`: Typer's `Annotated`
aliases, the shared table RUN_OPTIONS, and the decorator that gives a command all of them.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, get_type_hints

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

if TYPE_CHECKING:
    from typer import _click  # Typer's own copy of Click, whose classes its commands build on


class ForceVia(StrEnum):
    auto = "auto"
    prefill = "prefill"
    prior_turn = "prior-turn"
    note = "note"


# The panels of `probe funny --help` and `probe ask --help`, in the order they are shown.
MODEL_PANEL = "Model and connection"
FORCING_PANEL = "Forcing"
VARIANTS_PANEL = "Variants and tasks"
READING_PANEL = "Reading the replies"
RUN_PANEL = "Run and output"
LIMITS_PANEL = "Limits"
PANELS = (MODEL_PANEL, FORCING_PANEL, VARIANTS_PANEL, READING_PANEL, RUN_PANEL, LIMITS_PANEL)

# A flag takes no value: metavar "" keeps Typer from showing its type (`<bool>`) in --help.
FLAG = ""

Inputs = Annotated[
    list[str],
    typer.Argument(
        metavar="INPUTS...",
        help=(
            "Files (images: JPEG, PNG, WebP, GIF, BMP, TIFF; or UTF-8 text), directories (walked "
            "recursively), or - for JSONL records on stdin ({id, text|image|path, question, gold})."
        ),
        show_default=False,
    ),
]
ForceOpt = Annotated[
    str,
    typer.Option(
        "--force",
        "-f",
        metavar="ANSWER",
        rich_help_panel=FORCING_PANEL,
        help="The answer to force: opposite (the opposite of the model's own decide-first answer: "
        "a counterfactual whatever it answers), yes, no, or an option letter.",
    ),
]
VariantsOpt = Annotated[
    str | None,
    typer.Option(
        "--variants",
        metavar="NAME,...",
        rich_help_panel=VARIANTS_PANEL,
        help="Comma-separated variants to run (see `probe tasks`). Default: the task's own.",
        show_default=False,
    ),
]
SuggestOpt = Annotated[
    str | None,
    typer.Option(
        "--suggest",
        metavar="ANSWER",
        rich_help_panel=VARIANTS_PANEL,
        help="The answer the suggested variants suggest. Default: a wrong one (random, fixed per input) where gold is known, else one the model did not give.",
        show_default=False,
    ),
]
JudgeOpt = Annotated[
    str | None,
    typer.Option(
        "--judge",
        metavar="MODEL",
        rich_help_panel=READING_PANEL,
        help="A second model (LiteLLM string or local/smollm2), or 'self' for the probed model, that judges which answer each explanation supports (deciding a forced reply's stance where its words do not) and whether it mentions the bias.",
        show_default=False,
    ),
]
ForceViaOpt = Annotated[
    ForceVia,
    typer.Option(
        "--force-via",
        metavar="HOW",
        rich_help_panel=FORCING_PANEL,
        help="How to force it: auto picks prefill where the model allows it, else a fabricated prior turn, else a note; or name one: prefill, prior-turn, note.",
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        envvar="PROBE_MODEL",
        metavar="MODEL",
        rich_help_panel=MODEL_PANEL,
        help="Any LiteLLM model string, e.g. openai/gpt-4o-mini. Default: the embedded local/smollm2.",
        show_default=False,
    ),
]
ApiBaseOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--api-base",
        envvar="PROBE_API_BASE",
        metavar="URL",
        rich_help_panel=MODEL_PANEL,
        help="Base URL of an OpenAI-compatible server (vLLM, llama.cpp, Ollama's /v1, a LiteLLM proxy). Give it more than once to spread the calls over several servers serving --model (LiteLLM's Router).",
        show_default=False,
    ),
]
RouterOpt = Annotated[
    str | None,
    typer.Option(
        "--router",
        metavar="FILE",
        rich_help_panel=MODEL_PANEL,
        help="A LiteLLM proxy config file (model_list: model_name, litellm_params: model, api_base, api_key: os.environ/NAME, ...; optional router_settings): spread the calls over the deployments of --model (or of its only model_name) with LiteLLM's Router.",
        show_default=False,
    ),
]
RoutingOpt = Annotated[
    str | None,
    typer.Option(
        "--routing",
        metavar="STRATEGY",
        rich_help_panel=MODEL_PANEL,
        help="How the Router picks a deployment: even (default: the one with the fewest requests in flight), simple-shuffle (at random), least-busy or latency-based (LiteLLM's).",
        show_default=False,
    ),
]
ApiKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="PROBE_API_KEY",
        metavar="KEY",
        rich_help_panel=MODEL_PANEL,
        help="API key, if not in the provider's usual environment variable. Never written anywhere.",
        show_default=False,
        show_envvar=True,
    ),
]
JsonlOpt = Annotated[
    bool,
    typer.Option(
        "--jsonl",
        metavar=FLAG,
        rich_help_panel=RUN_PANEL,
        help="Write JSONL records to stdout even on a terminal.",
    ),
]
TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout",
        min=0.1,
        metavar="SECONDS",
        rich_help_panel=LIMITS_PANEL,
        help="Seconds to wait for one model call.",
    ),
]
RetriesOpt = Annotated[
    int,
    typer.Option(
        "--retries",
        min=0,
        metavar="N",
        rich_help_panel=LIMITS_PANEL,
        help="Retries for rate limits, timeouts, 5xx and dropped connections (never other 4xx).",
    ),
]
MaxTokensOpt = Annotated[
    int,
    typer.Option(
        "--max-tokens",
        min=1,
        metavar="N",
        rich_help_panel=LIMITS_PANEL,
        help="Longest reply per variant, in tokens.",
    ),
]
TemperatureOpt = Annotated[
    float,
    typer.Option(
        "--temperature",
        min=0.0,
        metavar="T",
        rich_help_panel=VARIANTS_PANEL,
        help="Sampling temperature.",
    ),
]
MaxSideOpt = Annotated[
    int,
    typer.Option(
        "--max-side",
        min=64,
        metavar="PX",
        rich_help_panel=LIMITS_PANEL,
        help="Images: cap on the long side in pixels before sending.",
    ),
]
VisionOpt = Annotated[
    bool | None,
    typer.Option(
        "--vision/--no-vision",
        metavar=FLAG,
        rich_help_panel=MODEL_PANEL,
        help="Override whether the model can see images (for servers LiteLLM cannot look up).",
        show_default=False,
    ),
]
OutputOpt = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        rich_help_panel=RUN_PANEL,
        help="Write records to this JSONL file, one line per input as it completes.",
        show_default=False,
    ),
]
ResumeOpt = Annotated[
    bool,
    typer.Option(
        "--resume",
        metavar=FLAG,
        rich_help_panel=RUN_PANEL,
        help="With -o: skip inputs already done in the file, retry those that failed.",
    ),
]
OverwriteOpt = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        metavar=FLAG,
        rich_help_panel=RUN_PANEL,
        help="With -o: replace a file that is not empty (without it or --resume, probe refuses).",
    ),
]
ConcurrencyOpt = Annotated[
    int,
    typer.Option(
        "--concurrency",
        "-j",
        min=1,
        metavar="N",
        rich_help_panel=LIMITS_PANEL,
        help="Model calls in flight at once, across all inputs.",
    ),
]
RpmOpt = Annotated[
    float | None,
    typer.Option(
        "--rpm",
        min=0.01,
        metavar="N",
        rich_help_panel=LIMITS_PANEL,
        help="At most this many requests a minute.",
        show_default=False,
    ),
]
SamplesOpt = Annotated[
    int,
    typer.Option(
        "--samples",
        min=1,
        metavar="N",
        rich_help_panel=VARIANTS_PANEL,
        help="Independent draws per input (use with --temperature > 0): one record each.",
    ),
]
NoCacheOpt = Annotated[
    bool,
    typer.Option(
        "--no-cache",
        metavar=FLAG,
        rich_help_panel=RUN_PANEL,
        help="Do not read or write the response cache (PROBE_CACHE_DIR).",
    ),
]
JudgeApiBaseOpt = Annotated[
    str | None,
    typer.Option(
        "--judge-api-base",
        metavar="URL",
        rich_help_panel=READING_PANEL,
        help="Base URL of an OpenAI-compatible server for the --judge model (it shares --api-key).",
        show_default=False,
    ),
]
EmbedModelOpt = Annotated[
    str,
    typer.Option(
        "--embed-model",
        metavar="MODEL",
        rich_help_panel=READING_PANEL,
        help="Embedding model that aligns forced and biased explanations with the model's own, sentence by sentence: local/minilm (offline) or any LiteLLM embedding model.",
    ),
]
AlignOpt = Annotated[
    bool | None,
    typer.Option(
        "--align/--no-align",
        metavar=FLAG,
        rich_help_panel=READING_PANEL,
        help="Align explanations sentence by sentence (see --embed-model). Default: on for the terminal view, off for JSONL and -o (it adds ~0.5-1 s of start-up per process).",
        show_default=False,
    ),
]
ExtractOpt = Annotated[
    bool,
    typer.Option(
        "--extract/--no-extract",
        metavar=FLAG,
        rich_help_panel=READING_PANEL,
        help="Where a reply that answers at the end (explain-first and its biased forms) states no answer probe can read, ask the model for it, continuing the conversation with 'So the answer is' (Kojima et al. 2022): at most one more call per such reply.",
    ),
]
DebugOpt = Annotated[
    bool,
    typer.Option(
        "--debug",
        metavar=FLAG,
        rich_help_panel=RUN_PANEL,
        help="Show tracebacks and how capabilities were decided.",
    ),
]
AllowOutsideOpt = Annotated[
    bool,
    typer.Option(
        "--allow-outside",
        metavar=FLAG,
        rich_help_panel=LIMITS_PANEL,
        help="Let a JSONL file's records name files (path, image) outside the JSONL file's directory.",
    ),
]
MaxInputBytesOpt = Annotated[
    int,
    typer.Option(
        "--max-input-bytes",
        min=1,
        metavar="BYTES",
        rich_help_panel=LIMITS_PANEL,
        help="Refuse a file or a JSONL line larger than this many bytes (checked before reading it).",
    ),
]

BatchApiOpt = Annotated[
    bool,
    typer.Option(
        "--batch-api",
        metavar=FLAG,
        rich_help_panel=RUN_PANEL,
        help="Send the run's calls as provider batches instead of calling (OpenAI's Batch API: 50% off list price as OpenAI publishes it, results within 24 h); needs -o. `probe batch status/collect FILE` follow them up.",
    ),
]


# The options `funny` and `ask` share, in the order their --help lists them (panel by panel, as
# in PANELS): (annotation, default).
RUN_OPTIONS: dict[str, tuple[Any, Any]] = {
    "model": (ModelOpt, None),
    "api_base": (ApiBaseOpt, None),
    "api_key": (ApiKeyOpt, None),
    "router": (RouterOpt, None),
    "routing": (RoutingOpt, None),
    "vision": (VisionOpt, None),
    "force": (ForceOpt, "opposite"),
    "force_via": (ForceViaOpt, ForceVia.auto),
    "variants": (VariantsOpt, None),
    "suggest": (SuggestOpt, None),
    "samples": (SamplesOpt, 1),
    "temperature": (TemperatureOpt, 0.0),
    "judge": (JudgeOpt, None),
    "judge_api_base": (JudgeApiBaseOpt, None),
    "extract": (ExtractOpt, True),
    "align": (AlignOpt, None),
    "embed_model": (EmbedModelOpt, "local/minilm"),
    "output": (OutputOpt, None),
    "resume": (ResumeOpt, False),
    "overwrite": (OverwriteOpt, False),
    "jsonl": (JsonlOpt, False),
    "no_cache": (NoCacheOpt, False),
    "batch_api": (BatchApiOpt, False),
    "debug": (DebugOpt, False),
    "concurrency": (ConcurrencyOpt, 8),
    "rpm": (RpmOpt, None),
    "timeout": (TimeoutOpt, 60.0),
    "retries": (RetriesOpt, 3),
    "max_tokens": (MaxTokensOpt, 200),
    "max_side": (MaxSideOpt, 1568),
    "max_input_bytes": (MaxInputBytesOpt, 20_000_000),
    "allow_outside": (AllowOutsideOpt, False),
    "verbose": (
        Annotated[
            bool,
            typer.Option(
                "--verbose",
                "-v",
                help="Name every skipped file of the input folders.",
                rich_help_panel=RUN_PANEL,
            ),
        ],
        False,
    ),
    "quiet": (
        Annotated[
            bool,
            typer.Option(
                "--quiet",
                "-q",
                help="No notices on stderr (the embedded model's note, what a run will do); "
                "warnings, errors and the summary still.",
                rich_help_panel=RUN_PANEL,
            ),
        ],
        False,
    ),
}


def with_run_options(command: Callable[..., None]) -> Callable[..., None]:
    """`command(own parameters..., **options)` as Typer sees it: its own parameters, then every
    one of RUN_OPTIONS, the options panel by panel (an own option first in its panel); it is
    called with the run options gathered in `options`."""
    hints = get_type_hints(command, include_extras=True)
    own = [
        p.replace(annotation=hints[p.name])
        for p in inspect.signature(command).parameters.values()
        if p.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    shared = [
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=a, default=d)
        for name, (a, d) in RUN_OPTIONS.items()
    ]
    ordered = sorted([*own, *shared], key=_place_in_help)  # stable: arguments keep their order

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        command(**{p.name: kwargs.pop(p.name) for p in own}, **kwargs)

    wrapper.__signature__ = inspect.Signature(ordered)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in ordered}
    return wrapper


def _place_in_help(parameter: inspect.Parameter) -> int:
    """Arguments first, then options by their panel's place in PANELS (no panel: last)."""
    for info in getattr(parameter.annotation, "__metadata__", ()):
        if isinstance(info, typer.models.ArgumentInfo):
            return -1
        panel = getattr(info, "rich_help_panel", None)
        if panel in PANELS:
            return PANELS.index(panel)
    return len(PANELS)


class _Argument(TyperArgument):
    """An argument shown in --help by its metavar alone: without Typer's type (`<list[str]>`)
    beside it, and without braces in the usage line (`INPUTS...`, not `{inputs}...`)."""

    def display_type_rich(self, ctx: _click.Context) -> str | None:
        return None

    def get_usage_pieces(self, ctx: _click.Context) -> list[str]:
        name = self.metavar or self.name.upper()
        if self.nargs != 1 and not name.endswith("..."):
            name += "..."
        return [name if self.required else f"[{name}]"]


class Command(TyperCommand):
    """A command whose --help reads as words: arguments by their metavar (see _Argument), and
    flags, -h/--help included, without a type (`<bool>`). Options say what they take with their
    own metavar (`FILE`, `URL`, `N`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if type(param) is TyperArgument:  # Typer makes them; only their help changes
                param.__class__ = _Argument
            elif isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
                param.metavar = FLAG  # a flag declared without one

    def get_help_option(self, ctx: _click.Context) -> TyperOption | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = FLAG
        return option


class Group(TyperGroup):
    """The same for a group of commands (`probe`, `probe batch`): -h/--help without a type."""

    def get_help_option(self, ctx: _click.Context) -> TyperOption | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = FLAG
        return option
