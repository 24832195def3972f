"""Running a RunConfig from the command line: the terminal's sinks, and every error turned into
its exit code with one line on stderr. Shared by `probe funny`/`probe ask` and `probe batch
collect`."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import typer

from probe.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED, ProbeError


def fail(message: str, code: int) -> NoReturn:
    from probe.pipeline.view import safe

    sys.stderr.write(f"probe: error: {safe(message)}\n")
    raise typer.Exit(code)


def execute(config: Any, *, as_jsonl: bool, show_panels: bool) -> None:
    """Run a RunConfig with the terminal's sinks (records to stdout when `as_jsonl`, else panels
    when `show_panels`); messages, progress and summary on stderr. Every error becomes its exit
    code."""
    import asyncio

    from rich.console import Console

    from probe.pipeline.sinks import (
        OutputClosed,
        Panels,
        Sink,
        Status,
        StdoutJsonl,
        terminal_messages,
    )
    from probe.runner import arun

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    sinks: list[Sink] = [Status(err, progress=not show_panels)]
    if as_jsonl:
        sinks.append(StdoutJsonl())
    elif show_panels:
        sinks.append(Panels(Console(highlight=False)))
    messages = terminal_messages(err, model_note=not show_panels)
    try:
        stats = asyncio.run(arun(config, sinks=sinks, messages=messages))
    except KeyboardInterrupt:
        sys.stderr.write("probe: interrupted\n")
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
    raise typer.Exit(EXIT_SOME_FAILED if stats.failed else EXIT_OK)
