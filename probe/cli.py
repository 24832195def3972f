"""Command line: gathers options, calls the engine, writes records and views.

Nothing heavy is imported at module level: `probe --help` must stay as cheap as a bare Typer app.
"""

from __future__ import annotations

import os
import sys
import time
from enum import StrEnum
from typing import Annotated, Any

import typer

from probe import __version__
from probe.errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    ProbeError,
    UsageError,
)

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
        help="The answer to force: yes, no (or an option letter), or the opposite of the model's own.",
    ),
]
VariantsOpt = Annotated[
    str | None,
    typer.Option(
        "--variants",
        help="Comma-separated variants to run (see `probe tasks`). Default: the task's own.",
        show_default=False,
    ),
]
SuggestOpt = Annotated[
    str | None,
    typer.Option(
        "--suggest",
        help="The answer the suggested variants suggest. Default: a wrong one (random, fixed per input) where gold is known, else one the model did not give.",
        show_default=False,
    ),
]
JudgeOpt = Annotated[
    str | None,
    typer.Option(
        "--judge",
        help="A second model (LiteLLM string or local/smollm2), or 'self' for the probed model, that judges which answer each explanation supports (deciding a forced reply's stance where its words do not) and whether it mentions the bias.",
        show_default=False,
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
OutputOpt = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        help="Write records to this JSONL file, one line per input as it completes.",
        show_default=False,
    ),
]
ResumeOpt = Annotated[
    bool,
    typer.Option(
        "--resume",
        help="With -o: skip inputs already done in the file, retry those that failed.",
    ),
]
OverwriteOpt = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="With -o: replace a file that is not empty (without it or --resume, probe refuses).",
    ),
]
ConcurrencyOpt = Annotated[
    int,
    typer.Option(
        "--concurrency", "-j", min=1, help="Model calls in flight at once, across all inputs."
    ),
]
RpmOpt = Annotated[
    float | None,
    typer.Option(
        "--rpm", min=0.01, help="At most this many requests a minute.", show_default=False
    ),
]
SamplesOpt = Annotated[
    int,
    typer.Option(
        "--samples",
        min=1,
        help="Independent draws per input (use with --temperature > 0): one record each.",
    ),
]
NoCacheOpt = Annotated[
    bool,
    typer.Option("--no-cache", help="Do not read or write the response cache (PROBE_CACHE_DIR)."),
]
JudgeApiBaseOpt = Annotated[
    str | None,
    typer.Option(
        "--judge-api-base",
        help="Base URL of an OpenAI-compatible server for the --judge model (it shares --api-key).",
        show_default=False,
    ),
]
EmbedModelOpt = Annotated[
    str,
    typer.Option(
        "--embed-model",
        help="Embedding model that aligns forced and biased explanations with the model's own, sentence by sentence: local/minilm (offline) or any LiteLLM embedding model.",
    ),
]
AlignOpt = Annotated[
    bool | None,
    typer.Option(
        "--align/--no-align",
        help="Align explanations sentence by sentence (see --embed-model). Default: on for the terminal view, off for JSONL and -o (it adds ~0.5-1 s of start-up per process).",
        show_default=False,
    ),
]
DebugOpt = Annotated[
    bool, typer.Option("--debug", help="Show tracebacks and how capabilities were decided.")
]
AllowOutsideOpt = Annotated[
    bool,
    typer.Option(
        "--allow-outside",
        help="Let a JSONL file's records name files (path, image) outside the JSONL file's directory.",
    ),
]
MaxInputBytesOpt = Annotated[
    int,
    typer.Option(
        "--max-input-bytes",
        min=1,
        help="Refuse a file or a JSONL line larger than this many bytes (checked before reading it).",
    ),
]


@app.command()
def funny(
    inputs: Inputs,
    force: ForceOpt = "opposite",
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
    output: OutputOpt = None,
    resume: ResumeOpt = False,
    overwrite: OverwriteOpt = False,
    concurrency: ConcurrencyOpt = 8,
    rpm: RpmOpt = None,
    samples: SamplesOpt = 1,
    no_cache: NoCacheOpt = False,
    variants: VariantsOpt = None,
    suggest: SuggestOpt = None,
    judge: JudgeOpt = None,
    judge_api_base: JudgeApiBaseOpt = None,
    embed_model: EmbedModelOpt = "local/minilm",
    align: AlignOpt = None,
    allow_outside: AllowOutsideOpt = False,
    max_input_bytes: MaxInputBytesOpt = 20_000_000,
    debug: DebugOpt = False,
) -> None:
    """Does the input show anything funny? Probe the answer and its explanation."""
    from probe.tasks import FUNNY

    _run(FUNNY, locals())


@app.command()
def ask(
    words: Annotated[
        list[str],
        typer.Argument(
            metavar="[QUESTION] INPUT...",
            help="A yes/no question, then the inputs (files, directories, or - for JSONL on stdin). With --task, inputs only.",
            show_default=False,
        ),
    ],
    task_spec: Annotated[
        str | None,
        typer.Option(
            "--task",
            "-t",
            help="A built-in task (`probe tasks`) or a TOML task file, instead of a QUESTION.",
            show_default=False,
        ),
    ] = None,
    force: ForceOpt = "opposite",
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
    output: OutputOpt = None,
    resume: ResumeOpt = False,
    overwrite: OverwriteOpt = False,
    concurrency: ConcurrencyOpt = 8,
    rpm: RpmOpt = None,
    samples: SamplesOpt = 1,
    no_cache: NoCacheOpt = False,
    variants: VariantsOpt = None,
    suggest: SuggestOpt = None,
    judge: JudgeOpt = None,
    judge_api_base: JudgeApiBaseOpt = None,
    embed_model: EmbedModelOpt = "local/minilm",
    align: AlignOpt = None,
    allow_outside: AllowOutsideOpt = False,
    max_input_bytes: MaxInputBytesOpt = 20_000_000,
    debug: DebugOpt = False,
) -> None:
    """Ask a yes/no QUESTION (or a --task) of each input and probe the answers and explanations."""
    from probe.tasks import ask_task, load_task

    args = locals()
    if task_spec:
        try:
            task = load_task(task_spec)
        except ProbeError as exc:
            _fail(exc.message, exc.exit_code)
        args["inputs"] = words
    else:
        if len(words) < 2:
            _fail("give a QUESTION and at least one INPUT (or --task)", EXIT_USAGE)
        if os.path.lexists(words[0]):
            _fail(
                f"{words[0]!r} is an existing path, not a question: put the question first, in "
                f'quotes (probe ask "Is this sarcastic?" {words[0]} ...), or use --task',
                EXIT_USAGE,
            )
        try:
            task = ask_task(words[0])
        except ValueError as exc:
            _fail(f"the question: {exc}", EXIT_USAGE)
        args["inputs"] = words[1:]
    _run(task, args)


@app.command()
def tasks() -> None:
    """List the built-in tasks and the prompt variants."""
    from rich.console import Console
    from rich.table import Table

    from probe.tasks import BUILTIN_TASKS
    from probe.variants import VARIANTS

    console = Console(highlight=False)
    table = Table(title="Built-in tasks (or --task FILE.toml)", title_justify="left")
    for col in ("task", "answers", "default variants", "question"):
        table.add_column(col)
    for t in BUILTIN_TASKS.values():
        answers = "yes / no" if t.is_yes_no else "multiple choice, options per input"
        table.add_row(t.name, answers, ", ".join(t.variants), t.question)
    console.print(table)
    table = Table(title="Variants (--variants a,b,c)", title_justify="left")
    table.add_column("variant")
    table.add_column("what it asks")
    table.add_column("compared with")
    for v in VARIANTS.values():
        table.add_row(v.name, v.summary, "" if v.name == v.baseline else v.baseline)
    console.print(table)


@app.command()
def report(
    files: Annotated[
        list[str], typer.Argument(help="JSONL files of probe records.", show_default=False)
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Rates with 95% intervals, paired tests and noise floor over probe records."""
    import json

    from probe.metrics import compute_report
    from probe.render import safe
    from probe.runfile import read_records

    try:
        records, problems = read_records(files)
    except OSError as exc:
        _fail(f"{exc.filename}: {exc.strerror or exc}", EXIT_USAGE)
    for problem in problems:
        sys.stderr.write(safe(f"probe: error: {problem}; skipped\n"))
    result = compute_report(records)
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    else:
        from rich.console import Console

        from probe.report_view import render_report

        render_report(result, Console(highlight=False))
    raise typer.Exit(EXIT_SOME_FAILED if problems else EXIT_OK)


class OutputClosed(Exception):
    """Whoever read stdout has gone away (`probe … | head`): stop quietly."""


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
    except OutputClosed:
        raise typer.Exit(EXIT_OK) from None
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

    from probe.batch import BatchOptions, run_batch
    from probe.providers import DEFAULT_LOCAL_MODEL, is_local
    from probe.render import literal, render_record
    from probe.runfile import RunFile
    from probe.sources import STDIN, collect
    from probe.variants import get as get_variant

    if args["resume"] and not args["output"]:
        raise UsageError("--resume needs -o FILE: the file it resumes")
    if args["overwrite"] and (args["resume"] or not args["output"]):
        raise UsageError(
            "--overwrite replaces what -o FILE holds; --resume keeps it: give one of them"
            if args["resume"]
            else "--overwrite needs -o FILE: the file it replaces"
        )
    if args["output"] and not args["resume"] and not args["overwrite"]:
        from probe.runfile import refuse_to_overwrite

        refuse_to_overwrite(args["output"])  # before any model is opened
    model = args["model"] or DEFAULT_LOCAL_MODEL
    # Records go to stdout when asked, or when it is piped and no -o file takes them.
    as_jsonl = args["jsonl"] or (not sys.stdout.isatty() and not args["output"])
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    out = Console(highlight=False)
    stdin_lines = sys.stdin if STDIN in args["inputs"] else None
    collected = collect(
        args["inputs"],
        stdin_lines,
        allow_outside=args["allow_outside"],
        max_input_bytes=args["max_input_bytes"],
    )
    for notice in collected.notices:
        err.print(literal(f"probe: {notice}", "yellow"))
    if collected.skipped:
        err.print(
            literal(
                f"probe: skipped {len(collected.skipped)} file(s) that are hidden, not images or "
                "text, or not regular files",
                "dim",
            )
        )
    show_panels = not as_jsonl and not args["output"]
    if args["align"] is None:
        args["align"] = show_panels  # what the terminal view shows; opt-in for records
    opts = _probe_options(task, args)  # usage errors before any model is opened
    _check_credentials(model, args, opts)
    provider, counting, cache = _open(model, args)
    if args["debug"]:
        for note in provider.capabilities.notes:
            err.print(literal(f"capability: {note}", "dim"))
    note = LOCAL_NOTE.format(model=model) if is_local(model) else None
    if note and not show_panels:
        err.print(literal(note, "dim italic"))
    judge = None
    if args["judge"] == "self":
        judge = provider  # the probed model judges its own explanations (same cache and limits)
    elif args["judge"]:
        judge_args = {**args, "api_base": args["judge_api_base"], "vision": None}
        # the run's one cache and one set of limits: --rpm and --concurrency count judge calls
        judge = _open(args["judge"], judge_args, limits=counting, cache=cache)[0]
    if args["samples"] > 1 and args["temperature"] == 0:
        err.print(
            literal(
                f"probe: warning: --samples {args['samples']} at --temperature 0 draws the same "
                "reply each time (or nearly: only a seed differs), so the noise floor is "
                "meaningless; use --temperature 0.7 or so",
                "yellow",
            )
        )
    embedder = None
    if args["align"] and any(v != get_variant(v).baseline for v in opts.variants):
        from probe.embedders import open_embedder
        from probe.limits import limit_embedder

        embedder = open_embedder(args["embed_model"], api_key=args["api_key"])
        embedder = limit_embedder(embedder, counting)  # remote embedding requests obey --rpm
    # Opened last, once nothing before the run can fail: its lock is released by the run's close.
    runfile = (
        RunFile(
            args["output"],
            resume=args["resume"],
            overwrite=args["overwrite"],
            warn=lambda message: err.print(literal(f"probe: warning: {message}", "yellow")),
        )
        if args["output"]
        else None
    )
    batch = BatchOptions(
        workers=args["concurrency"],
        samples=args["samples"],
        max_side=args["max_side"],
        judge=judge,
        embedder=embedder,
    )
    progress = _progress(err, len(collected.items) * batch.samples, show=not show_panels)

    def on_record(record: dict[str, Any]) -> None:
        from probe.records import dumps, succeeded

        if runfile:
            runfile.write(record)
        if not succeeded(record):
            (progress.console if progress else err).print(
                literal(f"probe: error: {_first_error(record)}", "bold red")
            )
        if as_jsonl:
            try:
                sys.stdout.write(dumps(record) + "\n")
                sys.stdout.flush()
            except BrokenPipeError:
                # The reader went away (`| head`): stop quietly; an -o file has every record so far.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                raise OutputClosed from None
        elif show_panels:
            render_record(record, out, note=note)

    started = time.monotonic()

    def on_progress(stats: Any) -> None:
        if progress:
            rate = stats.done / max(time.monotonic() - started, 1e-9)
            progress.update(
                progress.task_ids[0],
                completed=stats.done + stats.resumed,
                errors=stats.failed,
                rate=f"{rate:.2f} inputs/s",
            )

    if progress:
        progress.start()
    try:
        stats = await run_batch(
            collected.items,
            task,
            provider,
            opts,
            batch,
            on_record=on_record,
            done_keys=runfile.done if runfile else frozenset(),
            on_progress=on_progress,
        )
    finally:
        if progress:
            progress.stop()
        if runfile:
            runfile.close()
        if cache:
            cache.close()
        for opened in (provider, judge if judge is not provider else None):
            if opened is not None:
                await opened.aclose()
    if stats.total > 1 or runfile:
        _summary(err, stats, counting.calls, collected.skipped, runfile)
    return EXIT_SOME_FAILED if stats.failed else EXIT_OK


def _probe_options(task: Any, args: dict[str, Any]) -> Any:
    from probe.engine import ProbeOptions
    from probe.variants import VARIANTS

    force = args["force"].strip()
    if (
        force.lower() != "opposite"
        and task.normalise(force) is None
        and (task.is_yes_no or task.option_texts)
    ):
        raise UsageError(
            f"--force {force}: not an answer of task {task.name!r} ({', '.join(task.options)} or opposite)"
        )
    chosen = (
        tuple(v.strip() for v in args["variants"].split(",") if v.strip())
        if args["variants"]
        else task.variants
    )
    unknown = [v for v in chosen if v not in VARIANTS]
    if unknown or not chosen:
        raise UsageError(
            f"--variants: unknown {', '.join(unknown) or '(none given)'}; known: {', '.join(VARIANTS)}"
        )
    return ProbeOptions(
        force="opposite"
        if force.lower() == "opposite"
        else (task.normalise(force) or force.upper()),
        force_via=args["force_via"].value,
        variants=chosen,
        max_tokens=args["max_tokens"],
        temperature=args["temperature"],
        suggest=args["suggest"],
        judge=args["judge"],
        align=args["embed_model"] if args["align"] else None,
    )


def _check_credentials(model: str, args: dict[str, Any], opts: Any) -> None:
    """A provider that needs an API key and has none is a usage error before anything is
    opened or called: the model, the --judge, a remote --embed-model."""
    from probe.providers import check_credentials

    check_credentials(model, api_base=args["api_base"], api_key=args["api_key"])
    if args["judge"] and args["judge"] != "self":
        check_credentials(args["judge"], api_base=args["judge_api_base"], api_key=args["api_key"])
    if opts.align and not opts.align.startswith("local/"):
        check_credentials(opts.align, api_base=None, api_key=args["api_key"])


def _open(
    model: str, args: dict[str, Any], *, limits: Any = None, cache: Any = None
) -> tuple[Any, Any, Any]:
    """The provider as the run uses it: cache in front of the call limits in front of the model.
    A second provider of the run (the judge) is given the first one's limits and cache."""
    from probe.cache import CachedProvider, ResponseCache, default_cache_dir
    from probe.limits import CallLimits, LimitedProvider
    from probe.providers import is_local, open_provider

    if limits is None:
        limits = CallLimits(concurrency=args["concurrency"], rpm=args["rpm"])
    if cache is None and not args["no_cache"]:
        cache = ResponseCache(default_cache_dir())  # an unreadable one is a usage error, first
    base = open_provider(
        model,
        api_base=args["api_base"],
        api_key=args["api_key"],
        timeout=args["timeout"],
        retries=args["retries"],
        vision=args["vision"],
        pace=limits.before_request,
    )
    limited = LimitedProvider(base, limits, paces_itself=not is_local(model))
    if cache is None:
        return limited, limits, None
    endpoint = getattr(base, "endpoint", args["api_base"])  # OPENAI_BASE_URL too
    return CachedProvider(limited, cache, api_base=endpoint), limits, cache


def _progress(err: Any, total: int, *, show: bool) -> Any:
    if not show or total < 1 or not err.is_terminal:
        return None
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("probing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[red]{task.fields[errors]} errors"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )
    progress.add_task("probe", total=total, errors=0, rate="")
    return progress


def _summary(err: Any, stats: Any, calls: int, skipped: list[str], runfile: Any) -> None:
    from rich.table import Table

    from probe.render import literal

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row(
        "inputs",
        f"{stats.done} probed, {stats.resumed} already done, {stats.failed} failed"
        + (f", {len(skipped)} files skipped" if skipped else ""),
    )
    if stats.verdicts:
        table.add_row("verdicts", ", ".join(f"{v} {n}" for v, n in stats.verdicts.most_common()))
    table.add_row(
        "order", f"decide-first and explain-first disagree on {stats.order_disagreements}"
    )
    tokens = stats.prompt_tokens + stats.completion_tokens
    per = f", {tokens / stats.done:.0f} per input" if stats.done else ""
    table.add_row(
        "tokens", f"{stats.prompt_tokens} prompt + {stats.completion_tokens} completion{per}"
    )
    table.add_row("calls", f"{calls} made, {stats.cached_calls} from cache")
    if stats.judge_failures:
        retry = ": --resume retries them" if runfile else ""
        table.add_row("judge", f"{stats.judge_failures} calls failed{retry}")
    if stats.cost_known:
        saved = stats.cost_saved_usd
        table.add_row(
            "cost",
            f"${stats.cost_usd:.4f} spent"
            + (f" (cache saved ${saved:.4f})" if saved is not None else ""),
        )
    if runfile:
        table.add_row("records", literal(str(runfile.path)))
    err.print(table)


def _first_error(record: dict[str, Any]) -> str:
    if record.get("error"):
        return record["error"]["message"]
    for name, v in record["variants"].items():
        if v.get("error"):
            return f"{record['id']}: {name}: {v['error']['message']}"
    for name, v in record["variants"].items():
        if v.get("judge_errors"):
            failure = v["judge_errors"][0]
            return f"{record['id']}: {name}: judge ({failure['field']}): {failure['message']}"
    return f"{record['id']}: failed"


def run() -> None:
    """The `probe` command: the Typer app, then an exit that skips interpreter teardown.

    Every record is written and every file closed before the app returns; what is left is
    freeing modules, which costs ~0.4 s after LiteLLM and ~0.2 s after the OpenAI SDK — per
    invocation of a shell loop. (Tests call `app` in-process and keep the normal exit.)
    """
    try:
        app()
        code: int | str | None = 0
    except SystemExit as exc:
        code = exc.code
    if isinstance(code, str):  # sys.exit("message") semantics
        sys.stderr.write(code + "\n")
        code = 1
    import contextlib

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(ValueError, OSError):  # closed, or a reader gone away
            stream.flush()
    os._exit(code or 0)


if __name__ == "__main__":  # pragma: no cover
    run()
