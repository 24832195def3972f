"""Running a RunConfig: collect the inputs, assemble the pipeline (the provider behind its call
limits and the response cache, the judge, the embedder), run the batch and hand each record to
the sinks. `probe.run` and `probe.arun` are this module's `run` and `arun`.

Nothing is printed unless the caller asks: records go to the sinks given (and to `output`, the
run file, when the config names one), and the run's messages to `messages(kind, text)` (kinds in
probe.pipeline.sinks.MESSAGE_STYLES), or nowhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from probe.pipeline.config import RunConfig
from probe.pipeline.pool import RunStats
from probe.pipeline.sinks import Callback, RunFileSink, RunInfo, Sink, local_note

Messages = Callable[[str, str], None]  # (kind, text)


def run(
    config: RunConfig,
    *,
    sinks: Sequence[Sink] = (),
    on_record: Callable[[dict[str, Any]], None] | None = None,
    messages: Messages | None = None,
    stdin: Iterable[str] | None = None,
) -> RunStats:
    """Run `config` to the end and return its RunStats; a usage error raises UsageError.
    Records go to `sinks`, to `on_record` and to the config's `output` file; an input named "-"
    reads JSONL lines from `stdin` (default: sys.stdin).
    Inside a running event loop (a notebook's cell) the run gets a thread and a loop of its own;
    `await arun(...)` there is the direct way."""
    work = arun(config, sinks=sinks, on_record=on_record, messages=messages, stdin=stdin)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="probe-run") as pool:
        return pool.submit(asyncio.run, work).result()


async def arun(
    config: RunConfig,
    *,
    sinks: Sequence[Sink] = (),
    on_record: Callable[[dict[str, Any]], None] | None = None,
    messages: Messages | None = None,
    stdin: Iterable[str] | None = None,
) -> RunStats:
    """`run`, for a caller already in an event loop."""
    from probe.batch_api.submit import check as check_batch_api
    from probe.inputs.sources import STDIN, collect
    from probe.pipeline.pool import BatchOptions, run_batch
    from probe.records.run_file import refuse_to_overwrite

    say = messages or _quiet
    task = config.resolved_task()
    config.check_values()
    config.check_output()
    check_batch_api(config)  # --batch-api's usage errors
    if config.output and not config.resume and not config.overwrite:
        refuse_to_overwrite(config.output)  # before any model is opened
    inputs = config.input_args
    if STDIN in inputs and stdin is None:
        stdin = sys.stdin
    collected = collect(
        inputs,
        stdin if STDIN in inputs else None,
        allow_outside=config.allow_outside,
        max_input_bytes=config.max_input_bytes,
    )
    for notice in collected.notices:
        say("notice", f"probe: {notice}")
    if collected.skipped:
        say("skipped", skipped_line(collected, verbose=config.verbose))
    for duplicate in collected.duplicates:
        say("warning", f"probe: warning: {duplicate}: their records share it; give each its own id")
    opts = config.probe_options(task)  # usage errors before any model is opened
    config.check_credentials(opts)
    units = len(collected.items) * config.samples
    async with open_run(
        config, opts, say, sinks, total=units, skipped=collected.skipped, on_record=on_record
    ) as opened:
        pipeline = opened.pipeline
        batch = BatchOptions(
            workers=config.concurrency,
            samples=config.samples,
            max_side=config.max_side,
            judge=pipeline.judge,
            embedder=pipeline.embedder,
            hold=pipeline.hold,
        )
        if pipeline.batch is not None:  # batches that have ended: their replies into the cache
            await pipeline.batch.collect(say)
        _extraction_notice(opts, task, units, say)
        done = await run_batch(
            collected.items,
            task,
            pipeline.provider,
            opts,
            batch,
            on_record=opened.write,
            done_keys=opened.done,
            on_progress=opened.update,
        )
        if pipeline.batch is not None:  # what waits for a reply goes to the next batch
            await pipeline.batch.finish(done, say)
        done.calls = pipeline.calls
        if pipeline.routed is not None:
            done.deployments = pipeline.routed.summary()
        done.skipped = list(collected.skipped)
        opened.stats = done
    return done


@dataclass
class OpenRun:
    """A run's models and sinks while it runs (`open_run`): hand it each record and progress."""

    pipeline: Pipeline
    sinks: list[Sink]
    done: frozenset[str]  # keys of the records the run file already holds (--resume)
    stats: RunStats | None = None  # set when the run ends: the sinks close with it

    def write(self, record: dict[str, Any]) -> None:
        for sink in self.sinks:
            sink.write(record)

    def update(self, progress: RunStats) -> None:
        for sink in self.sinks:
            sink.update(progress)


@contextlib.asynccontextmanager
async def open_run(
    config: RunConfig,
    opts: Any,
    say: Messages,
    sinks: Sequence[Sink] = (),
    *,
    total: int,
    skipped: Sequence[str] = (),
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> AsyncIterator[OpenRun]:
    """The models opened (probe.runner.Pipeline), then the run file (-o) and the other sinks;
    on the way out, however it ends, the sinks closed in order (the run file rewritten first,
    even on Ctrl-C; with `stats` unset, as a run that stopped early) and the models closed.
    `probe.run` and `probe rerun` both run inside one."""
    pipeline = Pipeline(config)
    opened: list[Sink] = []
    run = OpenRun(pipeline, opened, frozenset())
    try:
        pipeline.open(opts, say)
        # Opened last, once nothing before the run can fail: its lock is released by its close.
        runfile = run_file_sink(config, say)
        everyone = [*([runfile] if runfile else []), *sinks]
        if on_record is not None:
            everyone.append(Callback(on_record))
        info = RunInfo(
            model=config.model_name,
            total=total,
            output=runfile.path if runfile else None,
            skipped=list(skipped),
        )
        for sink in everyone:
            opened.append(sink)
            sink.open(info)
        run.done = frozenset(runfile.done) if runfile else frozenset()
        yield run
    finally:
        try:
            _close(opened, run.stats)
        finally:
            await pipeline.aclose()


@dataclass
class Pipeline:
    """The run's models: the provider (cache in front of the call limits in front of the
    model), the judge (sharing its limits and cache) and the embedder (obeying the limits)."""

    config: RunConfig
    provider: Any = None
    judge: Any = None
    embedder: Any = None
    limits: Any = None
    cache: Any = None
    batch: Any = (
        None  # probe.batch_api.submit.BatchJob: --batch-api, or a --resume that finds batches
    )

    @property
    def hold(self) -> Callable[[Any], bool] | None:
        """--batch-api: which records wait for a batch (held back, not written)."""
        from probe.batch_api.submit import waiting

        return waiting if self.config.batch_api else None

    routed: Any = None  # the Router road, when the model is served by several deployments
    say: Messages = lambda kind, text: None  # the run's messages, once opened

    @property
    def calls(self) -> int:
        return self.limits.calls if self.limits is not None else 0

    def open(self, opts: Any, say: Messages) -> None:
        from probe.variants.variant import get as get_variant

        config = self.config
        self.say = say
        self.provider = self._open(
            config.model_name, config.single_api_base, config.vision, config.router_spec()
        )
        if config.debug:
            for note in self.provider.capabilities.notes:
                say("capability", f"capability: {note}")
        note = local_note(config.model_name)
        if note:
            say("model-note", note)
        if config.judge == "self":
            self.judge = self.provider  # the probed model judges its own explanations
        elif config.judge:
            # the run's one cache and one set of limits: --rpm and --concurrency count its calls
            self.judge = self._open(config.judge, config.judge_api_base, None)
        if config.samples > 1 and config.temperature == 0:
            say(
                "warning",
                f"probe: warning: --samples {config.samples} at --temperature 0 draws the same "
                "reply each time (or nearly: only a seed differs), so the noise floor is "
                "meaningless; use --temperature 0.7 or so",
            )
        for name in opts.variants:
            declared = get_variant(name)
            if not declared.calls_note:  # only experiments of several calls per input have one
                continue
            if declared.continues and declared.continues not in opts.variants:
                say(
                    "warning",
                    f"probe: warning: {name} builds on {declared.continues}'s reasoning: add "
                    f"{declared.continues} to --variants, or {name} is skipped",
                )
            else:
                say("notice", f"probe: {name}: {declared.calls_note}")
        if config.align and any(v != get_variant(v).baseline for v in opts.variants):
            from probe.providers.embedders import open_embedder
            from probe.providers.limits import limit_embedder

            embedder = open_embedder(config.embed_model, api_key=config.api_key)
            self.embedder = limit_embedder(embedder, self.limits)  # remote requests obey --rpm

    def _open(
        self, model: str, api_base: str | None, vision: bool | None, router: Any = None
    ) -> Any:
        """One provider of the run; the first one opened makes the limits and the cache.
        `router`: a RouterSpec, for several deployments behind LiteLLM's Router."""
        from probe.providers import open_provider, provider_kind
        from probe.providers.cache import CachedProvider, ResponseCache, default_cache_dir
        from probe.providers.limits import CallLimits, LimitedProvider
        from probe.providers.registry import open_routed

        config = self.config
        first = self.limits is None
        if first:
            self.limits = CallLimits(concurrency=config.concurrency, rpm=config.rpm)
            if config.cache:
                # an unreadable one is a usage error, first
                self.cache = ResponseCache(default_cache_dir(), warn=self.warn)
        calls: dict[str, Any] = {
            "api_key": config.api_key,
            "timeout": config.timeout,
            "retries": config.retries,
            "vision": vision,
            "pace": self.limits.before_request,
        }
        base: Any
        if router:
            base = open_routed(router, **calls)
            self.routed = base.road
        else:
            base = open_provider(model, api_base=api_base, **calls)
        paces_itself = bool(router) or provider_kind(model, api_base).paces_itself
        limited: Any = LimitedProvider(base, self.limits, paces_itself=paces_itself)
        if self.cache is None:
            return limited
        endpoint = getattr(base, "endpoint", api_base)  # OPENAI_BASE_URL too
        if first and (config.batch_api or _batches_pending(config)):
            from probe.batch_api.submit import BatchJob

            self.batch = BatchJob(config, self.cache, base)
            if config.batch_api:
                return self.batch.provider(limited, endpoint)
        return CachedProvider(
            limited, self.cache, api_base=endpoint, secrets=getattr(base, "secrets", ())
        )

    def warn(self, message: str) -> None:
        self.say("warning", f"probe: warning: {message}")

    async def aclose(self) -> None:
        if self.cache:
            self.cache.close()
        for opened in (self.provider, self.judge if self.judge is not self.provider else None):
            if opened is not None:
                await opened.aclose()


def run_file_sink(config: RunConfig, say: Messages) -> RunFileSink | None:
    """The run file (-o) as a sink, or None without one; its warnings go to `say`."""
    if not config.output:
        return None
    return RunFileSink(
        os.fspath(config.output),
        resume=config.resume,
        overwrite=config.overwrite,
        warn=lambda message: say("warning", f"probe: warning: {message}"),
    )


def _close(sinks: list[Sink], stats: RunStats | None) -> None:
    """Close every sink, in order, even when one fails; after a failure the rest are told the run
    stopped early (stats None), and the first failure is raised."""
    failure: BaseException | None = None
    for sink in sinks:
        try:
            sink.close(stats if failure is None else None)
        except BaseException as exc:
            failure = failure or exc
    if failure is not None:
        raise failure


def _batches_pending(config: RunConfig) -> bool:
    from probe.batch_api.submit import pending

    return pending(config)


def _extraction_notice(opts: Any, task: Any, units: int, say: Messages) -> None:
    """Before the calls start: how many calls answer extraction may add (probe.reading.extraction)."""
    from probe.reading.extraction import may_extract

    names = may_extract(task, opts.variants) if opts.extract else []
    if not names or not units:
        return
    most = units * len(names)
    say(
        "notice",
        f"probe: answer extraction: up to {most} extra call{'s' if most != 1 else ''} (one per "
        f"{', '.join(names)} reply whose words state no answer probe can read: the model is "
        "asked for it); --no-extract turns this off",
    )


SKIPPED_SHOWN = 5  # skipped files named without --verbose


def skipped_line(collected: Any, *, verbose: bool) -> str:
    """The files of the input folders that are not inputs, counted and named (the first few,
    or with `verbose` all of them; not again those a notice of their own named)."""
    line = (
        f"probe: skipped {len(collected.skipped)} file(s) that are hidden, not images or text, "
        "or not regular files"
    )
    noticed = set(collected.noticed)
    unnamed = [path for path in collected.skipped if path not in noticed]
    if not unnamed:
        return line
    shown = unnamed if verbose else unnamed[:SKIPPED_SHOWN]
    line += ": " + ", ".join(shown)
    if len(shown) < len(unnamed):
        line += f", and {len(unnamed) - len(shown)} more (--verbose names them all)"
    elif noticed:
        line += " (and those named above)"
    return line


def _quiet(kind: str, text: str) -> None:
    pass
