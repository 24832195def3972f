"""Running many inputs: a pool of workers over (input, sample) units, each ending in exactly one
record handed to `on_record` as soon as it is complete.

Calls are bounded by the provider wrapper (probe.providers.limits), not here; this module only decides what
runs, skips what `--resume` found done, and keeps count.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, cast

from probe.errors import InputError, ProbeError
from probe.inputs.sources import Item
from probe.measures.baselines import BaselineTally
from probe.pipeline.engine import Given, ProbeOptions, probe_input
from probe.providers.base import Provider
from probe.records import record as records
from probe.records.schema import Record
from probe.variants.tasks import Task


@dataclass
class RunStats:
    total: int = 0  # units: inputs × samples
    done: int = 0  # records written this run
    failed: int = 0
    resumed: int = 0  # units skipped because --resume found them done
    verdicts: Counter[str] = field(default_factory=Counter)
    order_disagreements: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0  # spent by this run's calls: replies from the cache cost nothing
    cost_known: bool = False
    cost_saved_usd: float | None = None  # what the cached replies had cost; None: none priced
    cached_calls: int = 0
    judge_failures: int = 0  # --judge calls that failed (their records count as failed too)
    # answer extraction (probe.reading.extraction): calls answered by the model, from the cache, failed;
    # what the ones made cost (where priced)
    extraction_calls: int = 0
    extraction_cached: int = 0
    extraction_failures: int = 0
    extraction_cost_usd: float | None = None
    calls: int = 0  # model calls made (the judge's and remote embeddings' included); set by the run
    skipped: list[str] = field(default_factory=list)  # directory entries that were not inputs
    held: int = 0  # units whose record waits for a provider batch (--batch-api): not written
    # per deployment behind LiteLLM's Router: {deployment, replies, failures, cooldowns, prefill}
    deployments: list[dict[str, Any]] = field(default_factory=list)
    # what the summary needs to flag a baseline that gave one answer or guessed (no memory per input)
    baselines: BaselineTally = field(default_factory=BaselineTally)

    def add(self, record: dict[str, Any]) -> None:
        self.done += 1
        self.baselines.add_record(record)
        if not records.succeeded(record):
            self.failed += 1
        if record.get("verdict"):
            self.verdicts[record["verdict"]] += 1
        if record.get("order_agreement") is False:
            self.order_disagreements += 1
        for v in record.get("variants", {}).values():
            usage = v.get("usage") or {}
            self.prompt_tokens += usage.get("prompt_tokens", 0)
            self.completion_tokens += usage.get("completion_tokens", 0)
            if v.get("cost_usd") is not None:
                self.cost_usd += 0.0 if v.get("cached") else v["cost_usd"]
                self.cost_known = True
            if v.get("cost_saved_usd") is not None:
                self.cost_saved_usd = (self.cost_saved_usd or 0.0) + v["cost_saved_usd"]
            self.cached_calls += bool(v.get("cached"))
            self.judge_failures += len(v.get("judge_errors") or ())
            if isinstance(v.get("extraction"), dict):
                self._add_extraction(v["extraction"])

    def _add_extraction(self, entry: dict[str, Any]) -> None:
        """An extraction's calls (a prefill not continued, then the follow-up) in the totals."""
        from probe.reading.extraction import calls

        for call in calls(entry):
            if call.get("error"):
                self.extraction_failures += call is entry
                continue
            usage = call.get("usage") or {}
            self.prompt_tokens += usage.get("prompt_tokens", 0)
            self.completion_tokens += usage.get("completion_tokens", 0)
            if call.get("cached"):
                self.extraction_cached += 1
                self.cached_calls += 1
            else:
                self.extraction_calls += 1
            cost = call.get("cost_usd")
            if cost is not None:
                spent = 0.0 if call.get("cached") else cost
                self.cost_usd += spent
                self.cost_known = True
                self.extraction_cost_usd = (self.extraction_cost_usd or 0.0) + spent
            if call.get("cost_saved_usd") is not None:
                self.cost_saved_usd = (self.cost_saved_usd or 0.0) + call["cost_saved_usd"]


@dataclass(frozen=True)
class BatchOptions:
    workers: int = 8  # inputs in flight at once (calls are bounded separately)
    samples: int = 1
    max_side: int = 1568
    judge: Provider | None = None  # annotates each record (probe.reading.judge)
    embedder: Any = (
        None  # aligns each variant's explanation with its baseline's (probe.reading.alignment)
    )
    # Whether a record is not finished (a call waits for a provider batch): it is held, not written
    hold: Callable[[Any], bool] | None = None


def task_for(item: Item, task: Task) -> Task:
    """The task as this input asks it: a stdin record's own question replaces the task's, and its
    own options make it multiple choice."""
    if item.question:
        # Its own question has its own terms (probe.reading.stance derives them from the question).
        task = replace(
            task, question=item.question, image_question=None, terms=(), contrary_terms=()
        )
    if item.options:
        task = task.with_choices(item.options)
    return task


def given_for(item: Item, task: Task) -> Given:
    """Gold and suggested answers of an input, checked against the task's options."""
    for what, value in (("gold", item.gold), ("suggested", item.suggest)):
        if value is not None and task.normalise(value) is None:
            raise InputError(
                f"{item.id}: {what} answer {value!r} is not one of {list(task.options)}"
            )
    return Given(gold=task.normalise(item.gold), suggest=task.normalise(item.suggest))


def key_for(item: Item, identity: str, task: Task, model: str, opts: ProbeOptions) -> str:
    """The record's identity for --resume: what was asked of which input (its id and its bytes)."""
    content = records.record_key(
        input=identity,
        task=task.name,
        question=[task.question, task.image_question],
        options=list(task.options),
        gold=item.gold,
        suggest=item.suggest,
        model=model,
        run=opts.as_record(),
        sample=opts.sample,
    )
    return records.input_key(content, item.id)


async def run_batch(
    items: list[Item],
    task: Task,
    provider: Provider,
    opts: ProbeOptions,
    batch: BatchOptions,
    *,
    on_record: Callable[[dict[str, Any]], None],
    done_keys: frozenset[str] | set[str] = frozenset(),
    on_progress: Callable[[RunStats], None] | None = None,
) -> RunStats:
    stats = RunStats(total=len(items) * batch.samples)
    embed_lock = asyncio.Lock()  # one embedding batch at a time: it is CPU-bound
    queue: asyncio.Queue[tuple[Item, int]] = asyncio.Queue()
    for item in items:
        for sample in range(batch.samples):
            queue.put_nowait((item, sample))

    async def one(item: Item, sample: int) -> None:
        try:
            item_task = task_for(item, task)
        except ValueError as exc:
            item.error, item_task = InputError(f"{item.id}: {exc}"), task
        unit_opts = replace(opts, sample=sample)
        identity = await asyncio.to_thread(item.identity)
        key = key_for(item, identity, item_task, provider.model, unit_opts)
        if key in done_keys:
            stats.resumed += 1
            return
        record = await _probe_item(item, item_task, provider, unit_opts, batch)
        if batch.hold is not None and batch.hold(record):
            stats.held += 1
            return
        try:
            if batch.embedder is not None:
                await _align(record, batch.embedder, embed_lock)
            if batch.judge is not None and not record.get("error"):
                from probe.reading import judge

                await judge.annotate(record, item_task, batch.judge)
                record["judge"] = batch.judge.model
        except Exception as exc:  # an annotation failing must not cost the input its record
            from probe.redaction import redact

            record["annotation_error"] = redact(f"{type(exc).__name__}: {exc}")
        if batch.hold is not None and batch.hold(record):  # a judge call waits for a batch
            stats.held += 1
            return
        record["key"], record["sample"], record["run"] = key, sample, unit_opts.as_record()
        for v in record["variants"].values():
            records.annotate(v, sample=sample)
        stats.add(_deliver(record, on_record, item, item_task, provider.model))

    async def worker() -> None:
        while True:
            try:
                item, sample = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await one(item, sample)
            if on_progress:
                on_progress(stats)

    await asyncio.gather(*(worker() for _ in range(max(1, batch.workers))))
    return stats


def _deliver(
    record: Record,
    on_record: Callable[[dict[str, Any]], None],
    item: Item,
    task: Task,
    model: str,
) -> dict[str, Any]:
    """Hand the record on, and return what was handed on: a record that cannot be written (text
    its output cannot encode, a write that fails) is replaced by the input's error record, so one
    input never costs the run. Only when that one cannot be written either does the run stop."""
    plain = cast(dict[str, Any], record)  # where a record leaves the run: a JSON object
    try:
        on_record(plain)
        return plain
    except (ValueError, TypeError, OSError) as exc:  # UnicodeEncodeError is a ValueError
        from probe.redaction import redact

        err = ProbeError(
            redact(f"{item.id}: the record could not be written: {type(exc).__name__}: {exc}")
        )
        err.kind = "output"
        failed = records.error_record(None, task, model, err, id=item.id, path=item.path)
        failed["input"], failed["key"] = record["input"], record["key"]
        failed["sample"], failed["run"] = record["sample"], record["run"]
        on_record(cast(dict[str, Any], failed))
        return cast(dict[str, Any], failed)


async def _align(record: Record, embedder: Any, lock: asyncio.Lock) -> None:
    """Sentence alignment of each variant's explanation against its baseline's (`alignment`)."""
    from probe.reading.alignment import align
    from probe.variants.variant import get

    variants = record.get("variants", {})
    for name, v in variants.items():
        declared = get(name)
        base = variants.get(declared.baseline)
        if base is None or declared.is_baseline or v.get("error") or base.get("error"):
            continue
        if not v.get("explanation") or not base.get("explanation"):
            continue
        try:
            async with lock:
                aligned = await asyncio.to_thread(
                    align, base["explanation"], v["explanation"], embedder
                )
        except ProbeError as exc:
            aligned = {"error": exc.as_record()}
        records.annotate(v, alignment=aligned)


async def _probe_item(
    item: Item, task: Task, provider: Provider, opts: ProbeOptions, batch: BatchOptions
) -> Record:
    try:
        given = given_for(item, task)
        inp = await asyncio.to_thread(item.load, batch.max_side)
    except ProbeError as exc:
        return records.error_record(None, task, provider.model, exc, id=item.id, path=item.path)
    try:
        return await probe_input(inp, task, provider, opts, given)
    except ProbeError as exc:
        return records.error_record(inp, task, provider.model, exc)
    except Exception as exc:  # never lose an input to a bug: it ends as an error record
        from probe.redaction import redact

        err = ProbeError(redact(f"{item.id}: internal error: {type(exc).__name__}: {exc}"))
        err.kind = "internal"
        return records.error_record(inp, task, provider.model, err)
