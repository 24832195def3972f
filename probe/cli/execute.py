"""Running a RunConfig from the command line: the terminal's sinks, and every error turned into
its exit code with one line on stderr. Shared by `probe funny`/`probe ask`, `probe rerun` and
`probe batch collect`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

import typer

from probe.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED, ProbeError


def fail(message: str, code: int) -> NoReturn:
    from probe.pipeline.view import safe

    sys.stderr.write(f"probe: error: {safe(message)}\n")
    raise typer.Exit(code)


Run = Callable[[list[Any], Callable[[str, str], None]], Coroutine[Any, Any, bool]]


def execute(
    config: Any,
    *,
    as_jsonl: bool,
    show_panels: bool,
    resume_command: str | None = None,
    run: Run | None = None,
) -> None:
    """Run a RunConfig with the terminal's sinks (records to stdout when `as_jsonl`, else panels
    when `show_panels`); messages, progress and summary on stderr. Every error becomes its exit
    code. `resume_command`: what continues the run after Ctrl-C (default: this command line
    with --resume). `run(sinks, messages)`: what is awaited (default: `probe.runner.arun` on the
    config; `probe rerun` gives its own); it returns whether any input failed."""
    import asyncio

    from rich.console import Console

    from probe.pipeline.sinks import (
        OutputClosed,
        Panels,
        Sink,
        Status,
        StdoutJsonl,
        Tally,
        terminal_messages,
    )
    from probe.runner import arun

    async def run_config(sinks: list[Any], messages: Callable[[str, str], None]) -> bool:
        return bool((await arun(config, sinks=sinks, messages=messages)).failed)

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    tally = Tally()
    sinks: list[Sink] = [Status(err, progress=not show_panels), tally]
    if as_jsonl:
        sinks.append(StdoutJsonl())
    elif show_panels:
        sinks.append(Panels(Console(highlight=False), note=not config.quiet))
    messages = terminal_messages(err, model_note=not show_panels, quiet=config.quiet)
    try:
        some_failed = asyncio.run((run or run_config)(sinks, messages))
    except KeyboardInterrupt:
        from probe.pipeline.view import safe

        output = str(config.output) if config.output else None
        sys.stderr.write(safe(interrupted(tally, output, resume_command)) + "\n")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except OutputClosed:
        raise typer.Exit(EXIT_OK) from None
    except ProbeError as exc:
        if config.debug:
            raise
        fail(exc.message, exc.exit_code)
    except Exception as exc:
        if config.debug:
            raise
        from probe.redaction import redact

        message = (
            f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)"
        )
        fail(redact(message, config.api_key), EXIT_SOME_FAILED)
    raise typer.Exit(EXIT_SOME_FAILED if some_failed else EXIT_OK)


def interrupted(tally: Any, output: str | None, resume_command: str | None) -> str:
    """What Ctrl-C leaves: the records kept (in the run file `output`, or only on stdout) and
    the command that continues the run."""
    if not output:
        return (
            f"probe: interrupted: {tally.written} record(s) were written to stdout; without -o "
            "FILE there is no run file to --resume: run again with -o FILE to keep records"
        )
    kept = _lines_in(output)  # after the run file's final rewrite: one record per input
    this_run = f" ({tally.written} of them from this run)" if kept != tally.written else ""
    again = resume_command or command_with_resume(sys.argv[1:])
    return (
        f"probe: interrupted: {kept} record(s) kept in {output}{this_run}; the rest run with: "
        f"{again}"
    )


def _lines_in(path: str) -> int:
    """The lines of a run file that are not blank (0 when it cannot be read)."""
    try:
        with open(path, "rb") as fh:
            return sum(1 for line in fh if line.strip())
    except OSError:
        return 0


def command_with_resume(args: list[str]) -> str:
    """`probe ARGS` as the shell would take it, with --resume (instead of --overwrite), and
    without the API key (given again by the environment, or by --api-key)."""
    import shlex

    from probe.redaction import redact, redact_url

    words: list[str] = []
    dropped = False
    skip = False
    for word in args:
        if skip:
            skip = False
            continue
        if word == "--api-key":
            skip = dropped = True
            continue
        if word.startswith("--api-key="):
            dropped = True
            continue
        if word != "--overwrite":
            words.append(str(redact_url(word)))
    if "--resume" not in words:
        words.append("--resume")
    line = redact(shlex.join(["probe", *words]))
    return line + (" (and --api-key KEY)" if dropped else "")
