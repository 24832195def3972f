"""`probe review RUN.jsonl`: a person reads the forced replies probe could not settle (stance
`unclear`, or `stance_conflict`) — or every forced reply with --all — one keypress each. Labels go
to the sidecar `RUN.jsonl.labels.jsonl` (probe.records.labels), never into the run file;
`probe report` uses them and says how often probe's own reading agreed."""

from __future__ import annotations

import datetime
import sys
from typing import Annotated, Any

import typer

from probe.cli.execute import fail
from probe.errors import EXIT_OK, EXIT_USAGE

QUIT, SKIP, UNCLEAR_KEY = "q", "s", "u"


def review(
    file: Annotated[str, typer.Argument(metavar="RUN.jsonl", help="A run file of probe records.")],
    every: Annotated[
        bool,
        typer.Option("--all", help="Every forced reply, not only the unclear and disputed ones."),
    ] = False,
    again: Annotated[
        bool, typer.Option("--again", help="Also the replies you have labelled before.")
    ] = False,
) -> None:
    """Label the forced replies probe could not settle, one key each; `probe report` uses the
    labels and says how often probe's reading agreed with yours."""
    from rich.console import Console

    from probe.records import labels
    from probe.records.run_file import read_records

    try:
        found, problems = read_records([file])
    except OSError as exc:
        fail(f"{exc.filename}: {exc.strerror or exc}", EXIT_USAGE)
    if problems and not found:
        fail(f"{file}: {problems[0]}", EXIT_USAGE)
    done = labels.load(file)
    todo = [
        (record, name, entry)
        for record in found
        for name, entry in (record.get("variants") or {}).items()
        if _wanted(entry, every) and (again or (record.get("key"), name) not in done)
    ]
    console = Console(highlight=False)
    if not todo:
        console.print(f"Nothing to review in {file}: no forced reply is unclear or disputed.")
        raise typer.Exit(EXIT_OK)
    console.print(
        f"{len(todo)} forced replies to read. For each, press the answer the reply argues for "
        f"in its own words, {UNCLEAR_KEY} if it argues for none, {SKIP} to skip, {QUIT} to stop. "
        f"Labels go to {labels.sidecar(file)}."
    )
    written = 0
    for number, (record, name, entry) in enumerate(todo, start=1):
        options = [str(o) for o in record.get("options") or ["yes", "no"]]
        keys = {
            o[0].lower(): o for o in options if o and o[0].lower() not in (UNCLEAR_KEY, SKIP, QUIT)
        }
        _show(console, number, len(todo), record, name, entry, keys)
        key = _key(set(keys) | {UNCLEAR_KEY, SKIP, QUIT})
        if key == QUIT:
            break
        if key == SKIP:
            continue
        answer = None if key == UNCLEAR_KEY else keys[key]
        labels.append(
            file,
            {
                "key": record.get("key"),
                "variant": name,
                "id": record.get("id"),
                "answer": answer,
                "stance": labels.stance_of(answer, entry.get("forced_answer")),
                "probe_stance": entry.get("stance"),
                "at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            },
        )
        written += 1
    console.print(f"{written} labels written to {labels.sidecar(file)}.")
    raise typer.Exit(EXIT_OK)


def _wanted(entry: Any, every: bool) -> bool:
    if not isinstance(entry, dict) or entry.get("forced_answer") is None or entry.get("error"):
        return False
    return every or entry.get("stance") == "unclear" or bool(entry.get("stance_conflict"))


def _show(
    console: Any,
    number: int,
    total: int,
    record: dict[str, Any],
    name: str,
    entry: dict[str, Any],
    keys: dict[str, str],
) -> None:
    from rich.panel import Panel
    from rich.text import Text

    from probe.pipeline.view import literal, safe

    head = Text.assemble(
        (f"{number}/{total}  ", "bold"),
        literal(str(record.get("id") or "")),
        "  ",
        literal(name, "bold"),
        f" — forced '{safe(str(entry.get('forced_answer')))}' ({safe(str(entry.get('mechanism')))})",
    )
    console.print()
    console.print(head)
    console.print(literal(str(record.get("question") or ""), "italic"))
    console.print(
        Panel(literal(str(entry.get("raw") or "")), title="the reply, as the model sent it")
    )
    conflict = " (it asserts two answers)" if entry.get("stance_conflict") else ""
    console.print(literal(f"probe read: {entry.get('stance')}{conflict}", "dim"))
    choices = ", ".join(f"{k} = {safe(v)}" for k, v in keys.items())
    console.print(
        Text(f"[{choices}, {UNCLEAR_KEY} = unclear, {SKIP} = skip, {QUIT} = quit] "), end=""
    )


def _key(allowed: set[str]) -> str:
    """One keypress on a terminal; where stdin is not one (a pipe, a file), the next character
    that is not a space or a newline. Asked again until it is one allowed."""
    while True:
        if sys.stdin.isatty():
            import click

            pressed = click.getchar().lower()
        else:
            pressed = sys.stdin.read(1).lower()
            if pressed.isspace():
                continue
        if pressed in allowed:
            sys.stdout.write(pressed + "\n")
            return pressed
        if pressed in ("\x03", "\x04", ""):  # Ctrl-C, Ctrl-D, end of input
            sys.stdout.write("\n")
            return QUIT
