"""probe as a library, typed: run a `RunConfig` and get its records and stats; read run files;
compute the report that `probe report --json` prints; turn either into a pandas DataFrame.

    import probe

    result = probe.run(probe.RunConfig(inputs=["samples/"], output="run.jsonl"))
    result.stats.failed, len(result.records)
    frame = result.to_pandas()                      # one row per variant of each record
    report = probe.report(["run.jsonl"])            # the dict `probe report --json` prints
    report["by_variant"]["forced"]["rates"]["rationalization"]

Everything here is loaded on first use (see probe/__init__.py), so `import probe` stays cheap.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from probe.errors import UsageError
from probe.records.schema import Record

if TYPE_CHECKING:
    import pandas

    from probe.pipeline.config import RunConfig
    from probe.pipeline.pool import RunStats
    from probe.pipeline.sinks import Sink

Messages = Callable[[str, str], None]  # (kind, text): notices, warnings and progress of a run
Progress = Callable[[int, int], None]  # (records written this run, units to write): as each ends
Report = dict[str, Any]  # what `probe report --json` prints (docs/report.md)

# The columns of `to_pandas`, first those of the record, then those of the variant's entry.
RECORD_COLUMNS = ("id", "task", "model", "sample", "verdict", "order_agreement")


@dataclass(frozen=True)
class RunResult:
    """What a run gives back: its records, in the order they were written (the run file's
    order), and its stats."""

    records: list[Record]
    stats: RunStats
    problems: list[str] = field(default_factory=list)

    def to_pandas(self) -> pandas.DataFrame:
        return to_pandas(self.records)


def run(
    config: RunConfig,
    *,
    sinks: Sequence[Sink] = (),
    messages: Messages | None = None,
    on_record: Callable[[Record], None] | None = None,
    progress: Progress | bool = False,
    stdin: Iterable[str] | None = None,
) -> RunResult:
    """Run `config` to the end. Records also go to the config's `output` file, to `sinks` and to
    `on_record` as each input completes; `messages(kind, text)` gets what the command line
    prints on stderr (kinds: "notice", "warning", "skipped", "progress", …). `progress`: a
    function called with (done, total) as each record is written, or True for the command
    line's progress bar and summary on stderr. An input named "-"
    reads JSONL lines from `stdin` (default sys.stdin). Inside a running event loop (a
    notebook's cell) the run gets a thread and a loop of its own; `await arun(...)` there is the
    direct way. A usage error raises `UsageError` with the command line's message."""
    from probe import runner

    kept: list[Record] = []
    stats = runner.run(
        config,
        sinks=[*sinks, *_progress_sinks(progress)],
        on_record=_keeping(kept, on_record),
        messages=messages,
        stdin=stdin,
    )
    return RunResult(records=kept, stats=stats)


async def arun(
    config: RunConfig,
    *,
    sinks: Sequence[Sink] = (),
    messages: Messages | None = None,
    on_record: Callable[[Record], None] | None = None,
    progress: Progress | bool = False,
    stdin: Iterable[str] | None = None,
) -> RunResult:
    """`run`, for a caller already in an event loop."""
    from probe import runner

    kept: list[Record] = []
    stats = await runner.arun(
        config,
        sinks=[*sinks, *_progress_sinks(progress)],
        on_record=_keeping(kept, on_record),
        messages=messages,
        stdin=stdin,
    )
    return RunResult(records=kept, stats=stats)


def _progress_sinks(progress: Progress | bool) -> list[Sink]:
    """The command line's bar and summary on stderr (True), or a function told (done, total)."""
    from probe.pipeline.sinks import Sink, Status

    if progress is True:
        from rich.console import Console

        return [Status(Console(stderr=True, highlight=False, soft_wrap=True), progress=True)]
    if not progress:
        return []
    tell = progress

    class Told(Sink):
        def __init__(self) -> None:
            self.done, self.total = 0, 0

        def open(self, info: Any) -> None:
            self.total = info.total
            tell(0, self.total)

        def write(self, record: dict[str, Any]) -> None:
            self.done += 1
            tell(self.done, self.total)

    return [Told()]


def _keeping(
    kept: list[Record], also: Callable[[Record], None] | None
) -> Callable[[dict[str, Any]], None]:
    def keep(record: dict[str, Any]) -> None:
        kept.append(cast(Record, record))
        if also is not None:
            also(cast(Record, record))

    return keep


def read_records(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *, strict: bool = True
) -> list[Record]:
    """The records of one or more run files. A line that is not a record raises UsageError
    naming the file and line (`strict=False`: skipped, as `probe report` does, with a warning
    on stderr)."""
    from probe.records.run_file import read_records as read

    given = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    files = [os.fspath(p) for p in given]
    try:
        records, problems = read(files)
    except OSError as exc:
        raise UsageError(f"{exc.filename}: {exc.strerror or exc}") from None
    if problems and strict:
        raise UsageError(
            f"{problems[0]}" + (f" (and {len(problems) - 1} more)" if problems[1:] else "")
        )
    for problem in problems:
        sys.stderr.write(f"probe: warning: {problem}; skipped\n")
    return cast(list[Record], records)


def report(
    paths_or_records: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | Sequence[Record],
) -> Report:
    """The report over run files (or records already read): the dict `probe report --json`
    prints, with `definitions` saying what each measure means. Files: the labels `probe review`
    left beside them are applied, as `probe report` applies them."""
    from probe.measures.measures import compute_report
    from probe.records import labels

    given = paths_or_records
    if (
        given
        and not isinstance(given, str | os.PathLike)
        and all(isinstance(r, dict) for r in given)
    ):
        records = cast(Sequence[Record], given)
    else:
        files = [given] if isinstance(given, str | os.PathLike) else cast(Sequence[str], given)
        records = read_records(files, strict=False)
        # probe review's labels, as `probe report` applies them
        labels.apply_beside(files, cast(list[dict[str, Any]], records))
    return compute_report(cast(Iterable[dict[str, Any]], records))


def variant_rows(records: Iterable[Record]) -> list[dict[str, Any]]:
    """One dict per variant of each record: the record's id, task, model, sample, verdict and
    order agreement, then `variant` and every field of its entry (nested fields as they are).
    Plain Python, for csv.DictWriter or any table library."""
    rows: list[dict[str, Any]] = []
    for record in records:
        head = {key: record.get(key) for key in RECORD_COLUMNS}
        for name, entry in (record.get("variants") or {}).items():
            rows.append({**head, "variant": name, **entry})
    return rows


def to_pandas(records: Iterable[Record]) -> pandas.DataFrame:
    """One row per variant of each record: the record's id, task, model, sample, verdict and
    order agreement, then the variant's name and every field of its entry (answer, explanation,
    stance, mentions_bias, …; nested fields as they are). Needs pandas (not a dependency of
    probe: `uv pip install pandas` or `pip install pandas`)."""
    try:
        import pandas
    except ImportError:
        raise UsageError(
            "to_pandas needs pandas, which probe does not install: `uv pip install pandas` "
            "(or `pip install pandas`) in the same environment"
        ) from None
    return pandas.DataFrame(variant_rows(records))
