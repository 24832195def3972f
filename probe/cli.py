"""Command line: gathers options, calls the engine, writes records and views.

Nothing heavy is imported at module level: `probe --help` must stay as cheap as a bare Typer app.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated, Any

import typer

from probe import __version__
from probe.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, ProbeError

app = typer.Typer(
    name="probe",
    help=(
        "Force a model's answer and watch whether its explanation follows.\n\n"
        "Runs each input as decide-first, forced (first answer forced) and explain-first, "
        "shows the explanations side by side with a verdict, and writes one JSONL record per input "
        "when stdout is not a terminal (or with --jsonl)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

LOCAL_NOTE = (
    "{model} is the embedded 135M-parameter model: smoke-test quality, near chance on real judgments. "
    "Point probe at a real model with --model (e.g. openai/gpt-4o-mini, or openai/NAME --api-base URL "
    "for a local server) or PROBE_MODEL."
)


class Force(StrEnum):
    yes = "yes"
    no = "no"
    opposite = "opposite"


class ForceVia(StrEnum):
    auto = "auto"
    prefill = "prefill"
    prior_turn = "prior-turn"
    note = "note"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"probe {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Counterfactual explanation prober."""


Inputs = Annotated[
    list[str],
    typer.Argument(
        help="Input files: images (JPEG, PNG, WebP, GIF, BMP, TIFF) or UTF-8 text.",
        show_default=False,
    ),
]
ForceOpt = Annotated[
    Force,
    typer.Option(
        "--force", "-f", help="The answer to force: yes, no, or the opposite of the model's own."
    ),
]
ForceViaOpt = Annotated[
    ForceVia,
    typer.Option(
        "--force-via",
        help="How to force it: auto picks prefill where the model allows it, else a fabricated prior turn, else a note.",
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        envvar="PROBE_MODEL",
        help="Any LiteLLM model string, e.g. openai/gpt-4o-mini. Default: the embedded local/smollm2.",
        show_default=False,
    ),
]
ApiBaseOpt = Annotated[
    str | None,
    typer.Option(
        "--api-base",
        envvar="PROBE_API_BASE",
        help="Base URL of an OpenAI-compatible server (vLLM, llama.cpp, Ollama's /v1).",
        show_default=False,
    ),
]
ApiKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="PROBE_API_KEY",
        help="API key, if not in the provider's usual environment variable. Never written anywhere.",
        show_default=False,
        show_envvar=True,
    ),
]
JsonlOpt = Annotated[
    bool, typer.Option("--jsonl", help="Write JSONL records to stdout even on a terminal.")
]
TimeoutOpt = Annotated[
    float, typer.Option("--timeout", min=0.1, help="Seconds to wait for one model call.")
]
RetriesOpt = Annotated[
    int,
    typer.Option(
        "--retries",
        min=0,
        help="Retries for rate limits, timeouts, 5xx and dropped connections (never other 4xx).",
    ),
]
MaxTokensOpt = Annotated[
    int, typer.Option("--max-tokens", min=1, help="Longest reply per variant, in tokens.")
]
TemperatureOpt = Annotated[
    float, typer.Option("--temperature", min=0.0, help="Sampling temperature.")
]
MaxSideOpt = Annotated[
    int,
    typer.Option(
        "--max-side", min=64, help="Images: cap on the long side in pixels before sending."
    ),
]
VisionOpt = Annotated[
    bool | None,
    typer.Option(
        "--vision/--no-vision",
        help="Override whether the model can see images (for servers LiteLLM cannot look up).",
        show_default=False,
    ),
]
DebugOpt = Annotated[
    bool, typer.Option("--debug", help="Show tracebacks and how capabilities were decided.")
]


@app.command()
def funny(
    inputs: Inputs,
    force: ForceOpt = Force.opposite,
    force_via: ForceViaOpt = ForceVia.auto,
    model: ModelOpt = None,
    api_base: ApiBaseOpt = None,
    api_key: ApiKeyOpt = None,
    jsonl: JsonlOpt = False,
    timeout: TimeoutOpt = 60.0,
    retries: RetriesOpt = 3,
    max_tokens: MaxTokensOpt = 200,
    temperature: TemperatureOpt = 0.0,
    max_side: MaxSideOpt = 1568,
    vision: VisionOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Does the input show anything funny? Probe the answer and its explanation."""
    from probe.tasks import FUNNY

    _run(FUNNY, locals())


@app.command()
def ask(
    question: Annotated[
        str, typer.Argument(help="A yes/no question about each input.", show_default=False)
    ],
    inputs: Inputs,
    force: ForceOpt = Force.opposite,
    force_via: ForceViaOpt = ForceVia.auto,
    model: ModelOpt = None,
    api_base: ApiBaseOpt = None,
    api_key: ApiKeyOpt = None,
    jsonl: JsonlOpt = False,
    timeout: TimeoutOpt = 60.0,
    retries: RetriesOpt = 3,
    max_tokens: MaxTokensOpt = 200,
    temperature: TemperatureOpt = 0.0,
    max_side: MaxSideOpt = 1568,
    vision: VisionOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Ask any yes/no QUESTION of each input and probe the answer and its explanation."""
    from probe.tasks import ask_task

    try:
        task = ask_task(question)
    except ValueError as exc:
        _fail(f"the question: {exc}", EXIT_USAGE)
    _run(task, locals())


def _fail(message: str, code: int) -> None:
    from probe.render import safe

    sys.stderr.write(f"probe: error: {safe(message)}\n")
    raise typer.Exit(code)


def _run(task: Any, args: dict[str, Any]) -> None:
    import asyncio

    try:
        code = asyncio.run(_probe_all(task, args))
    except KeyboardInterrupt:
        sys.stderr.write("probe: interrupted\n")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except ProbeError as exc:
        if args["debug"]:
            raise
        _fail(exc.message, exc.exit_code)
    except Exception as exc:
        if args["debug"]:
            raise
        from probe.redaction import redact

        message = (
            f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)"
        )
        _fail(redact(message, args["api_key"]), EXIT_SOME_FAILED)
    raise typer.Exit(code)


async def _probe_all(task: Any, args: dict[str, Any]) -> int:
    from rich.console import Console

    from probe import records
    from probe.engine import ProbeOptions, probe_input
    from probe.inputs import load_input
    from probe.providers import DEFAULT_LOCAL_MODEL, is_local, open_provider
    from probe.render import literal, render_record

    model = args["model"] or DEFAULT_LOCAL_MODEL
    as_jsonl = args["jsonl"] or not sys.stdout.isatty()
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    out = Console(highlight=False)
    provider = open_provider(
        model,
        api_base=args["api_base"],
        api_key=args["api_key"],
        timeout=args["timeout"],
        retries=args["retries"],
        vision=args["vision"],
    )
    if args["debug"]:
        for note in provider.capabilities.notes:
            err.print(literal(f"capability: {note}", "dim"))
    note = LOCAL_NOTE.format(model=model) if is_local(model) else None
    if note and as_jsonl:
        err.print(literal(note, "dim italic"))
    opts = ProbeOptions(
        force=args["force"].value,
        force_via=args["force_via"].value,
        max_tokens=args["max_tokens"],
        temperature=args["temperature"],
    )
    failed = 0
    for path in args["inputs"]:
        try:
            inp = load_input(path, max_side=args["max_side"])
        except ProbeError as exc:
            record = records.error_record(None, task, model, exc, id=path, path=path)
        else:
            record = await probe_input(inp, task, provider, opts)
        if record["error"] or record["verdict"] == "error":
            failed += 1
            err.print(literal(f"probe: error: {_first_error(record)}", "bold red"))
        if as_jsonl:
            sys.stdout.write(records.dumps(record) + "\n")
            sys.stdout.flush()
        else:
            render_record(record, out, note=note)
    return EXIT_SOME_FAILED if failed else EXIT_OK


def _first_error(record: dict[str, Any]) -> str:
    if record.get("error"):
        return record["error"]["message"]
    for name, v in record["variants"].items():
        if v.get("error"):
            return f"{record['id']}: {name}: {v['error']['message']}"
    return f"{record['id']}: failed"


if __name__ == "__main__":  # pragma: no cover
    app()
