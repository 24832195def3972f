"""`probe rerun RUN.jsonl --model OTHER -o NEW.jsonl`: the requests a run file's records keep,
sent again to another model (probe.pipeline.replay), one record per input, as `probe funny`
writes them: `probe report RUN.jsonl NEW.jsonl --html OUT.html` then shows the two runs side by
side.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from probe.cli.execute import execute, fail
from probe.cli.options import RUN_OPTIONS, VARIANTS_PANEL, _place_in_help
from probe.errors import ProbeError, UsageError

if TYPE_CHECKING:
    from probe.runner import OpenRun

# The run options that say where the requests go and how they are sent, shared with `funny` (in
# --help in the order RUN_OPTIONS lists them, panel by panel).
RERUN_OPTIONS = (
    "model",
    "api_base",
    "api_key",
    "router",
    "routing",
    "output",
    "resume",
    "overwrite",
    "jsonl",
    "timeout",
    "retries",
    "vision",
    "concurrency",
    "rpm",
    "no_cache",
    "debug",
)

RunFileArg = Annotated[
    str,
    typer.Argument(
        metavar="RUN.jsonl",
        help="A run file whose records' requests are sent again (written by probe -o).",
        show_default=False,
    ),
]
TaskFileOpt = Annotated[
    str | None,
    typer.Option(
        "--task",
        "-t",
        metavar="FILE",
        rich_help_panel=VARIANTS_PANEL,
        help="The TOML task file the run asked, for records of a task that is not built in (a "
        "record names its task, it does not hold it).",
        show_default=False,
    ),
]


def _with_rerun_options(command: Callable[..., None]) -> Callable[..., None]:
    """`command(run_file, task_file, **options)` as Typer sees it: its own parameters, then the
    shared declarations of RERUN_OPTIONS (their help and defaults are `probe funny`'s)."""
    own = list(inspect.signature(command).parameters.values())[:2]
    own = [own[0].replace(annotation=RunFileArg), own[1].replace(annotation=TaskFileOpt)]
    shared = [
        inspect.Parameter(
            name,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=RUN_OPTIONS[name][0],
            default=RUN_OPTIONS[name][1],
        )
        for name in RUN_OPTIONS
        if name in RERUN_OPTIONS
    ]
    ordered = sorted([*own, *shared], key=_place_in_help)  # panel by panel, as `funny`'s

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        command(kwargs.pop("run_file"), kwargs.pop("task_file"), **kwargs)

    wrapper.__signature__ = inspect.Signature(ordered)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in ordered}
    return wrapper


@_with_rerun_options
def rerun(run_file: str, task_file: str | None = None, **options: Any) -> None:
    """Send the requests RUN.jsonl's records keep to another --model, and write its records:
    the same inputs, tasks and variants, read from the new replies. Forced answers, suggestions
    and reasoning the source run drew from its own model are sent with the same words (each
    entry's `from_source` says which); an image is read again from its file, checked against the
    sha256 the record keeps. `probe report RUN.jsonl NEW.jsonl --html OUT.html` shows the two
    runs side by side."""
    from probe.pipeline.config import RunConfig

    o = dict(options)
    as_jsonl = o.pop("jsonl") or (not sys.stdout.isatty() and not o["output"])
    o["cache"] = not o.pop("no_cache")
    try:
        config = RunConfig(**o)
        if config.output and os.path.abspath(config.output) == os.path.abspath(run_file):
            raise UsageError(f"-o {config.output} is the run file being re-sent: name another")
    except ProbeError as exc:
        fail(exc.message, exc.exit_code)

    async def resend(sinks: list[Any], messages: Callable[[str, str], None]) -> bool:
        stats, problems = await arerun(config, run_file, task_file, sinks=sinks, messages=messages)
        return bool(stats.failed or problems)

    show_panels = not as_jsonl and not config.output  # on a terminal, as `probe funny` shows them
    execute(config, as_jsonl=as_jsonl, show_panels=show_panels, run=resend)


async def arerun(
    config: Any,  # probe.pipeline.config.RunConfig
    run_file: str,
    task_file: str | None = None,
    *,
    sinks: Sequence[Any] = (),
    messages: Callable[[str, str], None] | None = None,
) -> tuple[Any, list[str]]:
    """Re-send every record of `run_file` to the config's model; records go to `sinks` and to the
    config's `output`. Returns the RunStats and the lines of the file that were not records."""
    from probe.records.run_file import read_records, refuse_to_overwrite
    from probe.runner import open_run

    say = messages or (lambda kind, text: None)
    try:
        sources, problems = read_records([run_file])
    except OSError as exc:
        raise UsageError(f"{run_file}: {exc.strerror or exc}") from None
    for problem in problems:
        say("warning", f"probe: error: {problem}; skipped")
    config.check_output()
    if config.output and not config.resume and not config.overwrite:
        refuse_to_overwrite(config.output)
    opts = config.probe_options(config.resolved_task())
    config.check_credentials(opts)
    async with open_run(config, opts, say, sinks, total=len(sources)) as opened:
        stats = await _resend(sources, (run_file, task_file), opened, config.concurrency)
        stats.calls = opened.pipeline.calls
        opened.stats = stats
    return stats, problems


async def _resend(
    sources: list[dict[str, Any]],
    files: tuple[str, str | None],  # the run file, and the task file (--task)
    opened: OpenRun,
    workers: int,
) -> Any:
    """Each source record re-sent to the opened run's model, a few at a time (the calls are
    bounded by the provider's limits), its record handed to the run's sinks as soon as it is
    complete."""
    from probe.pipeline.pool import RunStats
    from probe.pipeline.replay import replay_record, rerun_key

    provider = opened.pipeline.provider
    stats = RunStats(total=len(sources))
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for source in sources:
        queue.put_nowait(source)

    async def worker() -> None:
        while not queue.empty():
            source = queue.get_nowait()
            if rerun_key(source, provider.model) in opened.done:
                stats.resumed += 1
                continue
            record = await replay_record(source, provider, run_path=files[0], task_file=files[1])
            opened.write(dict(record))
            stats.add(dict(record))
            opened.update(stats)

    await asyncio.gather(*(worker() for _ in range(max(1, workers))))
    return stats
