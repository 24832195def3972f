"""`--batch-api`: a run whose calls go to the provider as batches, finished by later processes.

A run (or `probe batch collect`, or `--resume`) goes through the same steps each time:

1. collect: every batch of the state file (probe.batch_api.state) that has ended is downloaded, each
   reply stored in the reply cache under its request's key (the batch line's custom_id), exactly
   as a call would have stored it; batches still running are left to run;
2. the engine runs as usual, on every input without its record, behind probe.batch_api.defer: calls
   the cache answers go ahead; an input whose calls are all answered gets its record; the other
   inputs' records are held back and their unanswered requests collected;
3. submit: those requests, less the ones a running batch already carries, become one new batch
   (the next round), and the state file is written. When every input has its record, the state
   file is removed.

A batch that expired, failed or was cancelled, and request lines that failed, cost nothing but
their replies: those requests are missing from the cache, so the next collect submits them again
— and only them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from probe.batch_api.defer import Deferrals, DeferringCache, Pending, waiting
from probe.batch_api.state import BatchEntry, BatchState, load_bound, save, state_path
from probe.errors import ProviderError, UsageError
from probe.providers.batch_client import (
    ENDPOINT,
    MAX_BYTES,
    MAX_LINES,
    BatchClient,
    check_provider,
    completion_from,
)
from probe.providers.replies import scrubbed
from probe.redaction import redact_url, url_secrets

if TYPE_CHECKING:
    from probe.pipeline.config import RunConfig
    from probe.pipeline.pool import RunStats
    from probe.providers.base import Provider
    from probe.providers.cache import ResponseCache

Say = Callable[[str, str], None]

__all__ = ["BatchJob", "api_base_of", "check", "config_from_state", "pending", "waiting"]


def check(config: RunConfig) -> None:
    """--batch-api's usage errors, before any model is opened."""
    if not config.batch_api:
        return
    from probe.inputs.sources import STDIN
    from probe.providers import provider_kind

    if config.router or isinstance(config.api_base, tuple):
        raise UsageError(
            "--batch-api sends a run's calls to one provider's batch API: give one --api-base "
            "(or none), not several or --router"
        )
    if provider_kind(config.model_name, config.single_api_base).name == "local":
        raise UsageError(
            f"--batch-api: {config.model_name} is the embedded model, run in-process: there is "
            "no provider batch API to send its calls to. Use --model (e.g. openai/gpt-4o-mini)"
        )
    if not config.output:
        raise UsageError(
            "--batch-api needs -o FILE: the records go there when the batches are collected, "
            "and the batches' state file beside it (FILE.batch.json)"
        )
    if not config.cache:
        raise UsageError(
            "--batch-api needs the response cache: batch replies are kept there until the run "
            "uses them. Drop --no-cache"
        )
    if STDIN in config.input_args:
        raise UsageError(
            "--batch-api cannot read inputs from stdin: collecting the batches reads the inputs "
            "again. Save the JSONL lines to a file and name the file"
        )
    if config.judge and config.judge != "self":
        raise UsageError(
            "--batch-api with --judge MODEL: a batch goes to one model; use --judge self, or "
            "judge in a later run without --batch-api"
        )
    path = state_path(config.output)
    if path.exists() and not config.resume and not config.overwrite:
        raise UsageError(
            f"{config.output} has batches waiting ({path}): run `probe batch collect "
            f"{config.output}`, or add --resume; --overwrite abandons them"
        )


def pending(config: RunConfig) -> bool:
    """Whether a --resume run has a batch state file to pick up."""
    return bool(config.resume and config.output and state_path(config.output).exists())


def config_to_state(config: RunConfig) -> dict[str, Any]:
    """The run's settings as the state file keeps them: everything but the API key (and the
    task resolved, so a task file or a question needs nothing but the state file)."""
    kept: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        if f.name in ("api_key", "task", "question", "resume", "overwrite", "batch_api") or (
            f.name in ("quiet", "verbose")  # how this process talks, not the run's settings
        ):
            continue
        value = getattr(config, f.name)
        kept[f.name] = list(value) if isinstance(value, tuple) else value
    kept["task"] = dataclasses.asdict(config.resolved_task())
    for name in ("api_base", "judge_api_base"):  # credentials in a URL are not kept either
        kept[name] = redact_url(kept[name])
    return kept


def api_base_of(state: BatchState, given: str | None) -> str | None:
    """The run's --api-base: as given again, else as the state file keeps it — unless that lost
    the credentials written into it, or the state file is not sealed by this user's probe (edited,
    copied from elsewhere, or written by an older probe): the API key is sent to a server such a
    file names only once the user names it too."""
    if not state.sealed:
        for name in ("judge_api_base", "router"):
            if state.config.get(name):
                raise UsageError(
                    f"{state.source}: this user's probe did not write this batch state file "
                    f"(edited, copied, or written by an older probe) and it names {name} "
                    f"{redact_url(str(state.config[name]))}, which a batch run never has: "
                    "remove the state file"
                )
    if given:
        return given
    kept = state.config.get("api_base")
    if kept is not None and not isinstance(kept, str):
        raise UsageError(f"{state.source}: its api_base is not a URL: give --api-base")
    if kept and "[redacted]@" in kept:
        raise UsageError(
            f"the run's --api-base {kept} held credentials, which the state file does not keep: "
            "give --api-base again"
        )
    if kept and not state.sealed:
        raise UsageError(
            f"{state.source} names the server {kept} for this run, but this user's probe did not "
            "write that (the state file was edited, copied from elsewhere, or written by an "
            f"older probe): the API key is not sent there unless you confirm it with --api-base "
            f"{kept}"
        )
    return kept


def config_from_state(
    state: BatchState, api_key: str | None, api_base: str | None = None, *, output: str
) -> RunConfig:
    """The run a state file belongs to, to collect and continue (--resume, --batch-api).
    `output`: its run file, the one the state file sits beside (probe.batch_api.state
    .run_file_of), never the path the state file holds."""
    from probe.pipeline.config import RunConfig
    from probe.variants.tasks import Example, Task

    settings = {**state.config, "api_base": api_base_of(state, api_base), "output": output}
    task = dict(settings.pop("task"))
    examples = tuple(Example(**_tupled(e)) for e in task.pop("examples", ()))
    task = _tupled(task)
    try:
        return RunConfig(
            **settings,
            task=Task(**task, examples=examples),
            api_key=api_key,
            resume=True,
            batch_api=True,
        )
    except TypeError as exc:
        raise UsageError(
            f"the batch state file holds settings this probe does not know: {exc}"
        ) from None


def _tupled(data: dict[str, Any]) -> dict[str, Any]:
    """JSON's lists back into the tuples a frozen dataclass holds."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}


class BatchJob:
    """The batches of one run file: collected before the engine runs, added to after."""

    def __init__(self, config: RunConfig, cache: ResponseCache, remote: Any) -> None:
        self.config = config
        self.cache = cache
        self.remote = remote  # probe.providers.remote.RemoteProvider
        self.path = state_path(config.output or "")
        self.deferrals = Deferrals()
        provider = str(getattr(remote, "provider", "local"))
        fresh = BatchState(
            output=os.fspath(config.output or ""),
            cwd=os.getcwd(),
            config=config_to_state(config),
            model=config.model_name,
            provider=provider,
            endpoint=redact_url(getattr(remote, "endpoint", None)),
        )
        if self.path.exists() and config.resume:
            self.state = load_bound(self.path)
            if (self.state.model, self.state.endpoint) != (fresh.model, fresh.endpoint):
                raise UsageError(
                    f"{self.path} holds batches of {self.state.model} at "
                    f"{self.state.endpoint or 'its default endpoint'}, not of {fresh.model} at "
                    f"{fresh.endpoint or 'its default endpoint'}"
                )
            # this run's settings, and where it runs, are the ones to finish with
            self.state.config, self.state.cwd = fresh.config, fresh.cwd
            self.state.output = fresh.output
        else:
            self.state = fresh
        check_provider(provider, config.model_name)
        self.client = BatchClient(provider, remote.api_base, remote.road.api_key)
        self.secrets = (remote.road.api_key, *url_secrets(remote.api_base))  # kept out of replies
        self.collected = 0  # replies put in the cache by this process
        self.unasked: list[str] = []  # batches the provider could not tell about, and why

    def provider(self, limited: Provider, endpoint: str | None) -> DeferringCache:
        """The run's model behind the cache, its misses deferred to the next batch."""
        return DeferringCache(
            limited, self.cache, remote=self.remote, deferrals=self.deferrals, api_base=endpoint
        )

    async def collect(self, say: Say) -> None:
        """Every batch that has ended: its replies into the cache, what it lacks reported."""
        if not self.state.open:
            return
        for entry in self.state.open:
            try:
                if not entry.id and not await self._recover(entry, say):
                    continue
                status = await self.client.retrieve(entry.id)
            except ProviderError as exc:
                from probe.batch_api.status import unknown_hint

                self.unasked.append(
                    f"batch {entry.id or entry.input_file}: {unknown_hint(exc.message)}"
                )
                continue
            entry.status = status.status
            entry.counts = {"total": status.total, "completed": status.completed}
            entry.counts["failed"] = status.failed
            if status.running:
                continue
            try:
                await self._collect_one(entry, status, say)
            except ProviderError as exc:
                self.unasked.append(f"batch {entry.id}: {exc.message}")
        save(self.path, self.state)

    async def _collect_one(self, entry: BatchEntry, status: Any, say: Say) -> None:
        got: set[str] = set()
        failures: list[str] = []
        wanted = set(entry.requests)
        priced = None if self.state.endpoint else self.state.model.split("/", 1)[-1]
        for file_id in (status.output_file_id, status.error_file_id):
            if not file_id:
                continue
            for line in await self.client.results(file_id):
                if line.custom_id not in wanted:
                    continue
                if line.body is None:
                    failures.append(f"{line.custom_id[:12]}…: {line.error}")
                    continue
                try:
                    reply = completion_from(line.body, entry.prefills.get(line.custom_id), priced)
                    reply = scrubbed(reply, *self.secrets)
                except Exception as exc:  # a body that is not a chat completion
                    failures.append(f"{line.custom_id[:12]}…: {type(exc).__name__}: {exc}")
                    continue
                from probe.providers.cache import stored

                self.cache.put(line.custom_id, stored(reply))
                got.add(line.custom_id)
        self.collected += len(got)
        missing = len(wanted - got)
        entry.collected = True
        if status.status != "completed":
            why = f" ({status.errors})" if status.errors else ""
            entry.note = f"{status.status}{why}"
            say(
                "warning",
                f"probe: warning: batch {entry.id} {status.status}{why}: {len(got)} of "
                f"{len(wanted)} replies came back; the {missing} missing requests are submitted "
                "again",
            )
        elif failures:
            entry.note = f"{len(failures)} requests failed"
            say(
                "warning",
                f"probe: warning: batch {entry.id}: {len(failures)} of {len(wanted)} requests "
                f"failed (first: {failures[0]}); they are submitted again",
            )
        elif missing:
            say(
                "warning",
                f"probe: warning: batch {entry.id}: {missing} of {len(wanted)} requests have no "
                "result line; they are submitted again",
            )

    async def finish(self, stats: RunStats, say: Say) -> None:
        """Submit what the run left waiting (and no running batch carries); write the state, or
        remove it once every input has its record."""
        if self.unasked and not self.config.batch_api:  # a plain --resume called the rest
            for problem in self.unasked:
                say("warning", f"probe: warning: {problem}; left in {self.path} as it was")
        elif self.unasked:  # not "still running": nobody knows; named, and the run fails
            save(self.path, self.state)
            more = f" (and {len(self.unasked) - 1} more)" if len(self.unasked) > 1 else ""
            raise ProviderError(
                f"{self.unasked[0]}{more}; it is left in {self.path} as it was, and `probe batch "
                f"collect {self.config.output}` asks again"
            )
        in_flight = self.state.in_flight()
        new = {k: p for k, p in self.deferrals.pending.items() if k not in in_flight}
        if not self.config.batch_api:  # a plain --resume: the rest was called directly
            if stats.failed == 0 and not self.state.open:
                self.path.unlink(missing_ok=True)
            elif self.state.open:
                say(
                    "notice",
                    f"probe: {len(self.state.open)} batch(es) of {self.config.output} are still "
                    "running and were not waited for; their calls were made directly",
                )
            return
        if new:
            self.state.rounds += 1
            ids = []
            for part in split(new):
                ids.append(await self._submit(part))
                save(self.path, self.state)  # each batch is on record as soon as it exists
            say(
                "notice",
                f"probe: submitted batch {', '.join(ids)}: {len(new)} requests for "
                f"{stats.held} inputs (round {self.state.rounds}). `probe batch status "
                f"{self.config.output}` shows it; `probe batch collect {self.config.output}` "
                "finishes the run",
            )
        elif self.state.open:
            save(self.path, self.state)
            say(
                "notice",
                f"probe: {len(self.state.open)} batch(es) still running for {stats.held} inputs; "
                f"`probe batch collect {self.config.output}` again later",
            )
        elif stats.held == 0:
            self.path.unlink(missing_ok=True)
            if self.collected or self.state.batches:
                say("notice", f"probe: every input has its record in {self.config.output}")

    async def _submit(self, part: dict[str, Pending]) -> str:
        """One batch: the file uploaded and on record first, then the batch started on it, so a
        kill in between leaves a file the next collect can find its batch by (`_recover`)."""
        lines = [
            {"custom_id": key, "method": "POST", "url": ENDPOINT, "body": p.body}
            for key, p in part.items()
        ]
        entry = BatchEntry(
            id="",
            round=self.state.rounds,
            submitted=time.time(),
            requests=list(part),
            prefills={k: p.prefill for k, p in part.items() if p.prefill is not None},
            input_file=await self.client.upload(lines),
        )
        self.state.batches.append(entry)
        save(self.path, self.state)
        metadata = {"probe": f"round {self.state.rounds}", "run": self.path.name[:200]}
        # A failure here may still have started it (a reply lost on the way): the next collect
        # looks for it by its file.
        entry.id = await self.client.create(entry.input_file or "", metadata)
        return entry.id

    async def _recover(self, entry: BatchEntry, say: Say) -> bool:
        """A batch whose start was not recorded (probe was stopped as it started it): found by
        its file, or known never to have started. Whether it is one to ask about now."""
        found = await self.client.find(entry.input_file or "")
        if found:
            entry.id = found
            return True
        entry.collected, entry.status = True, "never started"
        entry.note = "no batch was started on it (probe was stopped, or starting it failed)"
        say(
            "warning",
            f"probe: warning: batch file {entry.input_file}: {entry.note}; its requests are "
            "submitted again",
        )
        return False


def split(requests: dict[str, Pending]) -> list[dict[str, Pending]]:
    """Requests in batches within the provider's limits: at most MAX_LINES requests and
    MAX_BYTES of batch file each (OpenAI: 50,000 requests, 200 MB)."""
    parts: list[dict[str, Pending]] = [{}]
    size = 0
    for key, request in requests.items():
        line = len(json.dumps(request.body, ensure_ascii=False).encode("utf-8", "replace")) + 150
        if parts[-1] and (len(parts[-1]) >= MAX_LINES or size + line > MAX_BYTES):
            parts.append({})
            size = 0
        parts[-1][key] = request
        size += line
    return parts
