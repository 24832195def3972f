"""Where a run's records and messages go: one small class per destination.

A sink is opened once the run is ready to start, given every record as it completes (`write`),
told of progress (`update`, after every input, resumed ones included), and closed when the run
ends (`close`, with the run's RunStats, or None when the run stopped early). A new output format
is one new Sink subclass passed to probe.pipeline. The run file sink (`-o`) is made by the run itself,
since `--resume` needs what it holds; the others are the caller's.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from probe.pipeline.pool import RunStats

# How the terminal shows each kind of message a run sends (see probe.runner.Messages).
MESSAGE_STYLES = {
    "notice": "yellow",  # an input skipped that is worth a line of its own
    "skipped": "dim",  # how many directory entries were not inputs
    "capability": "dim",  # how a capability was decided (debug)
    "model-note": "dim italic",  # the embedded model is smoke-test quality
    "warning": "yellow",
}


class OutputClosed(Exception):
    """Whoever read stdout has gone away (`probe … | head`): stop quietly."""


def local_note(model: str) -> str | None:
    """What the model's kind says of it before its replies (the embedded model's quality)."""
    from probe.providers import provider_kind

    return provider_kind(model).note_for(model)


@dataclass
class RunInfo:
    """What a sink may want to know when the run starts."""

    model: str
    total: int  # units: inputs × samples
    output: str | None = None  # the run file, as named
    skipped: list[str] = field(default_factory=list)  # directory entries that were not inputs


class Sink:
    """The interface: every method is optional (the defaults do nothing)."""

    def open(self, info: RunInfo) -> None:
        pass

    def write(self, record: dict[str, Any]) -> None:
        pass

    def update(self, stats: RunStats) -> None:
        pass

    def close(self, stats: RunStats | None) -> None:
        pass


class Callback(Sink):
    """Each record handed to a function (probe.run's `on_record`)."""

    def __init__(self, on_record: Callable[[dict[str, Any]], None]) -> None:
        self.on_record = on_record

    def write(self, record: dict[str, Any]) -> None:
        self.on_record(record)


class StdoutJsonl(Sink):
    """One JSON line per record on stdout, flushed per line; a reader gone away stops the run
    quietly (OutputClosed), with every record so far in a run file."""

    def write(self, record: dict[str, Any]) -> None:
        from probe.records.record import dumps

        try:
            sys.stdout.write(dumps(record) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            # The reader went away (`| head`): stop quietly; an -o file has every record so far.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise OutputClosed from None


class Tally(Sink):
    """How many records a run has written: what an interrupted run says it wrote."""

    def __init__(self) -> None:
        self.written = 0

    def write(self, record: dict[str, Any]) -> None:
        self.written += 1


class RunFileSink(Sink):
    """The `-o` file (probe.records.run_file.RunFile): opened, and locked, when made."""

    def __init__(
        self,
        path: str,
        *,
        resume: bool,
        overwrite: bool,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        from probe.records.run_file import RunFile

        self.runfile = RunFile(path, resume=resume, overwrite=overwrite, warn=warn)

    @property
    def done(self) -> set[str]:
        return self.runfile.done

    @property
    def path(self) -> str:
        return str(self.runfile.path)

    def write(self, record: dict[str, Any]) -> None:
        self.runfile.write(record)

    def close(self, stats: RunStats | None) -> None:
        self.runfile.close()


class Panels(Sink):
    """The terminal view of each record (probe.pipeline.view.render_record)."""

    def __init__(self, console: Any, *, note: bool = True) -> None:
        self.console = console
        self.show_note = note  # the embedded model's note (once per terminal session)
        self.note: str | None = None

    def open(self, info: RunInfo) -> None:
        note = local_note(info.model) if self.show_note else None
        shown = note and first_in_session("model-note", self.console.file)
        self.note = note if shown else None

    def write(self, record: dict[str, Any]) -> None:
        from probe.pipeline.view import render_record

        render_record(record, self.console, note=self.note)


class Status(Sink):
    """On stderr: a line for each failed record, a progress bar (on a terminal, when asked) and
    the closing summary (for more than one unit, or a run file)."""

    def __init__(self, console: Any, *, progress: bool) -> None:
        self.console = console
        self.show_progress = progress
        self.progress: Any = None
        self.info = RunInfo(model="", total=0)
        self.started = 0.0
        self.order_compared = 0  # records whose decide-first and explain-first were compared

    def open(self, info: RunInfo) -> None:
        self.info = info
        self.progress = _progress(self.console, info.total, show=self.show_progress)
        self.started = time.monotonic()
        if self.progress:
            self.progress.start()

    def write(self, record: dict[str, Any]) -> None:
        from probe.pipeline.view import literal
        from probe.records.record import succeeded

        if record.get("order_agreement") is not None:
            self.order_compared += 1
        if not succeeded(record):
            self.console.print(literal(f"probe: error: {first_error(record)}", "bold red"))

    def update(self, stats: RunStats) -> None:
        if self.progress:
            rate = stats.done / max(time.monotonic() - self.started, 1e-9)
            self.progress.update(
                self.progress.task_ids[0],
                completed=stats.done + stats.resumed,
                errors=stats.failed,
                rate=f"{rate:.2f} inputs/s",
            )

    def close(self, stats: RunStats | None) -> None:
        if self.progress:
            self.progress.stop()
        if stats is not None and (stats.total > 1 or self.info.output):
            summary(self.console, stats, self.info.output, order=self.order_compared > 0)


# Kinds of message --quiet leaves out: what a run will do, and how it was decided.
NOTICES = ("notice", "skipped", "model-note")


def terminal_messages(
    console: Any, *, model_note: bool, quiet: bool = False
) -> Callable[[str, str], None]:
    """A run's messages (kind, text) printed on `console` in their style; the embedded model's
    note only when `model_note` (the panels show it otherwise), and once per terminal session
    (`first_in_session`); with `quiet`, no notices at all."""
    from probe.pipeline.view import literal

    def say(kind: str, text: str) -> None:
        if quiet and kind in NOTICES:
            return
        if kind == "model-note" and not (
            model_note and first_in_session("model-note", console.file)
        ):
            return
        console.print(literal(text, MESSAGE_STYLES.get(kind, "")))

    return say


def first_in_session(what: str, stream: Any) -> bool:
    """Whether a notice is shown for the first time in this terminal session, so a shell loop
    shows it once: a marker file under the cache directory, named by the session's id, the
    start time of its leader (ids are reused) and the terminal. True when `stream`, where the
    notice goes, is not a terminal (a log keeps every run's notices), or when it cannot be told."""
    from probe import environment

    try:
        if not stream.isatty():
            return True
        tty = os.ttyname(stream.fileno())
        sid = os.getsid(0)
    except (OSError, AttributeError, ValueError):  # no such fd (a test's stream), or closed
        return True
    started = _process_start(sid)
    name = f"{what}-{sid}-{started}-{tty.strip('/').replace('/', '_')}"
    marker = environment.cache_dir() / "sessions" / name
    try:
        marker.parent.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # private, if new
        marker.parent.mkdir(mode=0o700, exist_ok=True)
        os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return False
    except OSError:
        return True  # no writable cache directory: say it every time rather than never
    return True


def _process_start(pid: int) -> str:
    """When a process started (clock ticks after boot, from /proc), or "" where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return fields[19].decode("ascii")
    except (OSError, IndexError, UnicodeDecodeError):
        return ""


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


# Baseline warnings (probe.measures.baselines) that concern neither the verdicts nor order agreement
ELSEWHERE = "the rates compared with it say less than they seem (`probe report` marks them)"


def summary(err: Any, stats: RunStats, output: str | None, *, order: bool = True) -> None:
    """The closing summary on stderr. `order`: whether any record compared decide-first with
    explain-first (without, the order row would say "disagree on 0" of nothing compared)."""
    from rich.table import Table

    from probe.measures.baselines import ORDER, VERDICTS
    from probe.pipeline.view import literal

    warnings = stats.baselines.warnings()
    beside = {".".join(VERDICTS), ".".join(ORDER)}

    def caution(path: str | None) -> None:
        """Beside the row it concerns, each baseline warning's note on it (path None: the
        warnings that concern neither row, in a row of their own)."""
        for warning in warnings:
            notes = warning["notes"]
            if path is not None and path in notes:
                table.add_row(literal("caution", "bold yellow"), literal(notes[path], "yellow"))
            elif path is None and not notes.keys() & beside:
                text = f"{warning['message']}: {ELSEWHERE}"
                table.add_row(literal("caution", "bold yellow"), literal(text, "yellow"))

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row(
        "inputs",
        f"{stats.done} probed, {stats.resumed} already done, {stats.failed} failed"
        + (f", {len(stats.skipped)} files skipped" if stats.skipped else "")
        + (f", {stats.held} waiting for a batch" if stats.held else ""),
    )
    if stats.verdicts:
        table.add_row("verdicts", ", ".join(f"{v} {n}" for v, n in stats.verdicts.most_common()))
        caution(".".join(VERDICTS))
    if order:
        table.add_row(
            "order", f"decide-first and explain-first disagree on {stats.order_disagreements}"
        )
        caution(".".join(ORDER))
    caution(None)
    tokens = stats.prompt_tokens + stats.completion_tokens
    per = f", {tokens / stats.done:.0f} per input" if stats.done else ""
    table.add_row(
        "tokens", f"{stats.prompt_tokens} prompt + {stats.completion_tokens} completion{per}"
    )
    table.add_row("calls", f"{stats.calls} made, {stats.cached_calls} from cache")
    for row in stats.deployments:  # several deployments behind LiteLLM's Router
        table.add_row("deployment", literal(deployment_line(row)))
    if stats.judge_failures:
        retry = ": --resume retries them" if output else ""
        table.add_row("judge", f"{stats.judge_failures} calls failed{retry}")
    if stats.extraction_calls or stats.extraction_cached or stats.extraction_failures:
        table.add_row("extraction", extraction_line(stats, retry=bool(output)))
    if stats.cost_known:
        saved = stats.cost_saved_usd
        table.add_row(
            "cost",
            f"${stats.cost_usd:.4f} spent"
            + (f" (cache saved ${saved:.4f})" if saved is not None else ""),
        )
    if output:
        table.add_row("records", literal(output))
    err.print(table)


def extraction_line(stats: RunStats, *, retry: bool) -> str:
    """Answer extraction's share of the run: calls made, from the cache, failed; their cost."""
    line = f"{stats.extraction_calls} calls made, {stats.extraction_cached} from cache"
    if stats.extraction_cost_usd is not None:
        line += f", ${stats.extraction_cost_usd:.4f} spent"
    line += " (answers asked of the model)"
    if stats.extraction_failures:
        line += f"; {stats.extraction_failures} failed" + (
            ": --resume retries them" if retry else ""
        )
    return line


def first_error(record: dict[str, Any]) -> str:
    if record.get("error"):
        return str(record["error"]["message"])
    for name, v in record["variants"].items():
        if v.get("error"):
            return f"{record['id']}: {name}: {v['error']['message']}"
    for name, v in record["variants"].items():
        extraction = v.get("extraction")
        if isinstance(extraction, dict) and extraction.get("error"):
            return f"{record['id']}: {name}: answer extraction: {extraction['error']['message']}"
    for name, v in record["variants"].items():
        if v.get("judge_errors"):
            failure = v["judge_errors"][0]
            return f"{record['id']}: {name}: judge ({failure['field']}): {failure['message']}"
    return f"{record['id']}: failed"


def deployment_line(row: dict[str, Any]) -> str:
    """One deployment's share of a routed run: replies, failures, cooldowns, prefill."""
    line = f"{row['deployment']}: {row['replies']} replies, {row['failures']} failed"
    if row.get("cooldowns"):
        line += f", cooled down {row['cooldowns']}x"
    if row.get("prefill"):
        line += f"; prefill {row['prefill']}"
    return line
