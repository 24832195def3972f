"""Command line: maps options to a RunConfig, runs it (probe.runner) with the sinks the terminal
wants (probe.pipeline.sinks), and turns errors into exit codes.

Nothing heavy is imported at module level: `probe --help` must stay as cheap as a bare Typer app.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer

from probe import __version__
from probe.cli.execute import execute, fail
from probe.cli.options import FLAG, VARIANTS_PANEL, Command, Group, Inputs, with_run_options
from probe.cli.rerun import rerun
from probe.errors import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    ProbeError,
)

app = typer.Typer(
    name="probe",
    cls=Group,
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


def _version(value: bool) -> None:
    if value:
        typer.echo(f"probe {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            metavar=FLAG,
            help="Show the version and exit.",
        ),
    ] = False,
) -> None:
    """Counterfactual explanation prober."""


@app.command(cls=Command)
@with_run_options
def funny(inputs: Inputs, **options: Any) -> None:
    """Does the input show anything funny? Probe the answer and its explanation."""
    from probe.variants.tasks import FUNNY

    _probe(FUNNY, inputs, options)


@app.command(cls=Command)
@with_run_options
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
            metavar="TASK",
            rich_help_panel=VARIANTS_PANEL,
            help="A built-in task (`probe tasks`) or a TOML task file, instead of a QUESTION.",
            show_default=False,
        ),
    ] = None,
    **options: Any,
) -> None:
    """Ask a yes/no QUESTION (or a --task) of each input and probe the answers and explanations."""
    from probe.pipeline.config import resolve_task

    question = None
    inputs = words
    if not task_spec:
        if len(words) < 2:
            fail("give a QUESTION and at least one INPUT (or --task)", EXIT_USAGE)
        if os.path.lexists(words[0]):
            fail(
                f"{words[0]!r} is an existing path, not a question: put the question first, in "
                f'quotes (probe ask "Is this sarcastic?" {words[0]} ...), or use --task',
                EXIT_USAGE,
            )
        question, inputs = words[0], words[1:]
    try:
        task = resolve_task(task_spec or None, question)
    except ProbeError as exc:
        fail(exc.message, exc.exit_code)
    _probe(task, inputs, options)


@app.command(cls=Command)
def tasks() -> None:
    """List the built-in tasks, the research methods and their prompt variants."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from probe.variants.registry import methods
    from probe.variants.tasks import BUILTIN_TASKS
    from probe.variants.variant import get as get_variant

    console = Console(highlight=False)
    table = Table(title="Built-in tasks (or --task FILE.toml)", title_justify="left")
    for col in ("task", "what it is", "default variants", "question"):
        table.add_column(col)
    for t in BUILTIN_TASKS.values():
        answers = "yes / no" if t.is_yes_no else "multiple choice, options per input"
        table.add_row(t.name, t.description or answers, ", ".join(t.variants), t.question)
    console.print(table)
    table = Table(title="Variants (--variants a,b,c), by method", title_justify="left")
    table.add_column("variant")
    table.add_column("what it asks")
    table.add_column("compared with")
    for m in methods():
        table.add_section()
        table.add_row(Text(m.name, style="bold"), Text(f"{m.title} ({m.source})"), "")
        for v in map(get_variant, m.variants):
            table.add_row(v.name, v.summary, "" if v.name == v.baseline else v.baseline)
    console.print(table)


@app.command(cls=Command)
def report(
    files: Annotated[
        list[str],
        typer.Argument(
            metavar="FILES...", help="JSONL files of probe records.", show_default=False
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", metavar=FLAG, help="Print the report as JSON.")
    ] = False,
    html: Annotated[
        str | None,
        typer.Option(
            "--html",
            metavar="OUT.html",
            help="Write the report as one self-contained HTML page (each file its own run: "
            "rates as a forest plot, every input beside its explanations) instead of printing it.",
        ),
    ] = None,
    image_size: Annotated[
        int,
        typer.Option(
            "--image-size",
            min=0,
            metavar="PX",
            help="With --html: longest side of the embedded images shown on click "
            "(0: thumbnails only, for a smaller file).",
        ),
    ] = 800,
    input_root: Annotated[
        list[str] | None,
        typer.Option(
            "--input-root",
            metavar="DIR",
            help="With --html: embed inputs found under DIR too (a relative path in a record is "
            "looked for under it). Without it, only inputs under each run file's own folder are "
            "read, so a run file cannot make the page embed any file it names.",
        ),
    ] = None,
) -> None:
    """Rates with 95% intervals, paired tests and noise floor over probe records."""
    import json

    from probe.pipeline.view import safe

    if html is not None:
        failed = _html_report(files, html, image_size, input_root or [])
        if not as_json:
            raise typer.Exit(EXIT_SOME_FAILED if failed else EXIT_OK)
    _refuse_files_without_records(files)
    from probe.measures.measures import compute_report
    from probe.records.run_file import read_records

    try:
        records, problems = read_records(files)
    except OSError as exc:
        fail(f"{exc.filename}: {exc.strerror or exc}", EXIT_USAGE)
    for problem in problems:
        sys.stderr.write(safe(f"probe: error: {problem}; skipped\n"))
    _apply_labels(files, records)
    result = compute_report(records)
    try:
        if as_json:
            sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
        else:
            from rich.console import Console

            from probe.reporting.terminal import render_report

            class PipedConsole(Console):
                def on_broken_pipe(self) -> None:  # rich's own exits 1
                    raise BrokenPipeError

            render_report(result, PipedConsole(highlight=False))
        sys.stdout.flush()
    except BrokenPipeError:  # `probe report … | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(EXIT_OK) from None
    raise typer.Exit(EXIT_SOME_FAILED if problems else EXIT_OK)


app.command(cls=Command)(rerun)


def _refuse_files_without_records(files: list[str]) -> None:
    """A file with no probe record in it (a text file, an empty file) is a usage error, said
    once, instead of an empty report."""
    from probe.records.run_file import not_a_run_file

    for name in files:
        try:
            why = not_a_run_file(name)
        except OSError as exc:
            fail(f"{exc.filename or name}: {exc.strerror or exc}", EXIT_USAGE)
        if why:
            fail(f"{name}: not a file of probe records ({why})", EXIT_USAGE)


def _html_report(files: list[str], out: str, image_px: int, input_roots: list[str]) -> bool:
    """`probe report --html`: write the page and say where, and what it could not show;
    whether any line of the files was skipped."""
    from probe.pipeline.view import safe
    from probe.reporting import html as report_html

    for root in input_roots:
        if not os.path.isdir(root):
            fail(f"--input-root {root}: not a folder", EXIT_USAGE)
    try:
        written = report_html.write(files, out, image_px=image_px, input_roots=input_roots)
    except OSError as exc:
        fail(f"{exc.filename or out}: {exc.strerror or exc}", EXIT_USAGE)
    for problem in written.problems:
        sys.stderr.write(safe(f"probe: error: {problem}; skipped\n"))
    shown = report_html.NOTES_SHOWN
    for note in written.notes[:shown]:
        sys.stderr.write(safe(f"probe: warning: input not shown: {note}\n"))
    if len(written.notes) > shown:
        sys.stderr.write(
            f"probe: warning: … and {len(written.notes) - shown} more inputs not shown\n"
        )
    size = (
        f"{written.size / 1e6:.1f} MB"
        if written.size >= 100_000
        else f"{written.size / 1e3:.0f} kB"
    )
    where = safe(os.path.abspath(out))
    sys.stderr.write(f"probe: wrote {where} ({written.inputs} inputs, {size})\n")
    return bool(written.problems)


def _apply_labels(files: list[str], records: list[dict[str, Any]]) -> None:
    """`probe review`'s labels, from the sidecar beside each run file, put into the records."""
    from probe.records import labels

    applied = labels.apply_beside(files, records)
    if applied:
        sys.stderr.write(f"probe: {applied} forced replies read by a person (probe review)\n")


def _add_batch_commands() -> None:
    from probe.cli.batch import batch_app
    from probe.cli.review import review
    from probe.cli.view import view

    app.command(cls=Command)(review)
    app.command(cls=Command)(view)
    app.add_typer(batch_app, name="batch", cls=Group)


_add_batch_commands()


def _probe(task: Any, inputs: list[str], options: dict[str, Any]) -> None:
    """Run `task` on `inputs` with the command's options: records to stdout when asked (or when
    it is piped and no -o file takes them), else panels; messages, progress and summary on
    stderr. Every error becomes its exit code."""
    from probe.pipeline.config import RunConfig

    o = dict(options)
    as_jsonl = o.pop("jsonl") or (not sys.stdout.isatty() and not o["output"])
    show_panels = not as_jsonl and not o["output"]
    if o["align"] is None:
        o["align"] = show_panels  # what the terminal view shows; opt-in for records
    o["force_via"] = o["force_via"].value
    o["cache"] = not o.pop("no_cache")
    try:
        config = RunConfig(inputs=inputs, task=task, **o)  # a bad setting: a usage error here
    except ProbeError as exc:
        if o["debug"]:
            raise
        fail(exc.message, exc.exit_code)
    execute(config, as_jsonl=as_jsonl, show_panels=show_panels)


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
