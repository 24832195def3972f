"""`probe rerun`: the requests a record keeps, sent again to another model, and a record of the
same shape built from the new replies (docs/records.md).

Each variant's request is rebuilt from the record exactly as it was sent — its messages out of
`prompt_messages`, the input's image re-loaded from its file and checked against the sha256 the
record keeps — and sent as it is. Nothing the source run decided is decided again: a forced answer
that opposed the source model's own (`--force opposite`), a suggestion aimed away from it, the
source model's reasoning a variant continues, Lanham et al.'s edited reasoning — all go out with the
same words, and the entry's `from_source` names them. The new replies are read by probe's own
readers (answers, stance, mentions, the verdict): nothing is copied from the source record but
what was sent. What only reads the new reply is done afresh: answer extraction asks the new model
about its own reply, as a run does.

Not re-sent: a forcing mechanism the source run fell back from (`attempts`: only the request the
entry's reply came from is sent), and the edit call before a step of Lanham et al.'s adding
mistakes or paraphrasing (the step's request already carries the source model's edit).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from typing import Any

from probe.errors import InputError, ProbeError, ProviderError
from probe.inputs.load import IMAGE_MAX_SIDE_DEFAULT, Input, load_input, text_input
from probe.pipeline.engine import ProbeOptions, answer_source, honored, read_reply
from probe.pipeline.steps import point, steps_entry
from probe.providers.base import Completion, Message, Provider, Request
from probe.providers.capabilities import VISION_MODELS_EXAMPLE
from probe.records import record as records
from probe.records.schema import Record, VariantResult
from probe.variants.tasks import BUILTIN_TASKS, Task, ask_task, load_task
from probe.variants.variant import Prompt, Step, Variant, VariantOptions, get

# What a request can carry that the source run drew from its own model's replies (`from_source`)
FORCED_ANSWER = "forced_answer"  # --force opposite: against the source model's answer
BIAS_TARGET = "bias_target"  # no gold, no --suggest: aimed away from the source model's answer
REASONING = "reasoning"  # the source model's reasoning, continued
EDIT = "edit"  # the source model's edit of that reasoning (adding mistakes, paraphrasing)


def task_of(source: dict[str, Any], task_file: str | None = None) -> Task:
    """The task a record was asked under: a built-in one by name, `probe ask`'s own question, or
    the TOML task file given (a record names its task, it does not hold it); then, as the run did,
    the input's own question and choices."""
    name = str(source.get("task") or "")
    if task_file is not None:
        task = load_task(task_file)
    elif name in BUILTIN_TASKS:
        task = BUILTIN_TASKS[name]
    elif name == "ask":
        task = ask_task(str(source.get("question") or ""))
    else:
        raise InputError(
            f"{source.get('id')}: task {name!r} is not built in: give its TOML file (--task FILE)"
        )
    question = source.get("question")
    if question and question not in (task.question, task.image_question):
        task = replace(task, question=question, image_question=None, terms=(), contrary_terms=())
    texts = source.get("option_texts") or []
    if texts and tuple(texts) != task.option_texts:
        task = task.with_choices(texts)
    return task


def options_of(source: dict[str, Any]) -> ProbeOptions:
    """The source run's options that decide what was asked and how replies are read."""
    run = source.get("run") or {}
    defaults = ProbeOptions()
    names = tuple(run.get("variants") or source.get("variants") or defaults.variants)
    return ProbeOptions(
        force=str(run.get("force", defaults.force)),
        force_via=str(run.get("force_via", defaults.force_via)),
        variants=names,
        max_tokens=int(run.get("max_tokens", defaults.max_tokens)),
        temperature=float(run.get("temperature", defaults.temperature)),
        seed=run.get("seed", defaults.seed),
        sample=int(source.get("sample") or 0),
        suggest=run.get("suggest"),
        extract=bool(run.get("extract", defaults.extract)),
    )


def source_input(source: dict[str, Any], run_path: str | None = None) -> Input:
    """The input a record was made from: its inline text, or its file read again (a relative
    path as given, else beside the run file) and checked against the record's sha256."""
    part = source.get("input") or {}
    label = str(source.get("id"))
    path, text = part.get("path"), part.get("text")
    if path is None and isinstance(text, str):
        inp = text_input(text, id=label)
    elif isinstance(path, str):
        found = _located(path, run_path)
        inp = load_input(found, id=label, max_side=_max_side(source))
        inp = replace(inp, path=path)
    else:
        raise InputError(f"{label}: the record keeps neither the input's text nor its path")
    if inp.sha256 != part.get("sha256"):
        raise InputError(
            f"{label}: {path or 'the input'} is not the input the source run read: its sha256 "
            f"is {inp.sha256[:16]}…, the record's {str(part.get('sha256'))[:16]}… (changed since?)"
        )
    return inp


def _located(path: str, run_path: str | None) -> str:
    if os.path.isabs(path) or os.path.lexists(path) or run_path is None:
        return path
    beside = os.path.join(os.path.dirname(os.path.abspath(run_path)), path)
    return beside if os.path.lexists(beside) else path


def _max_side(source: dict[str, Any]) -> int:
    """The --max-side that gives back the image sent: its long side as sent (the loader shrinks
    a larger image to exactly that, and leaves one no larger as it is)."""
    for message in source.get("prompt_messages") or ():
        for part in _parts(message):
            size = (part.get("image_url") or {}).get("size")
            if isinstance(size, list) and size:
                return max(int(side) for side in size)
    return IMAGE_MAX_SIDE_DEFAULT


def _parts(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    return [p for p in content if isinstance(p, dict)] if isinstance(content, list) else []


def rebuilt(source: dict[str, Any], request: dict[str, Any], inp: Input) -> list[Message]:
    """A request's messages exactly as sent: out of the record's `prompt_messages`, each image
    reference replaced by the input's image as a data URL, once its sha256 is the one sent."""
    messages = records.request_messages(source, request)
    for message in messages:
        for part in _parts(message):
            ref = part.get("image_url")
            if not isinstance(ref, dict) or "sha256" not in ref:
                continue
            url = inp.image_data_url
            have = records.image_reference(url) if url else None
            if have is None or have["sha256"] != ref["sha256"]:
                found = have["sha256"][:16] + "…" if have else "no image"
                raise InputError(
                    f"{inp.id}: the image rebuilt from {inp.path} is not the one the source run "
                    f"sent (sha256 {found}, the record's {str(ref['sha256'])[:16]}…)"
                )
            kept = {
                k: v for k, v in ref.items() if k not in ("sha256", "bytes", "media_type", "size")
            }
            part["image_url"] = {"url": url, **kept}
    return messages


def rerun_key(source: dict[str, Any], model: str) -> str:
    """A rerun record's identity for --resume: the source record's, and the model re-sent to."""
    part = source.get("input") or {}
    content = records.record_key(
        source=source.get("key") or part.get("sha256"), model=model, sample=source.get("sample")
    )
    return records.input_key(content, str(source.get("id")))


async def replay_record(
    source: dict[str, Any],
    provider: Provider,
    *,
    run_path: str | None = None,
    task_file: str | None = None,
) -> Record:
    """The record of `source`'s input with every request re-sent to `provider`, filed as the
    source was (its `sample` and `run`), with `rerun_of` naming it. An input that cannot be
    rebuilt (its file gone or changed, its task unknown) is an error record naming it; so is one
    that meets a bug, so that one input never costs the others."""
    try:
        record = await _replayed(source, provider, run_path, task_file)
    except Exception as exc:
        from probe.redaction import redact

        err = ProbeError(redact(f"{source.get('id')}: internal error: {type(exc).__name__}: {exc}"))
        err.kind = "internal"
        fallback = Task(name=str(source.get("task") or ""), question=str(source.get("question")))
        record = records.error_record(None, fallback, provider.model, err, id=source.get("id"))
    sample = int(source.get("sample") or 0)
    record["key"], record["sample"] = rerun_key(source, provider.model), sample
    record["run"] = dict(source.get("run") or {})
    for entry in record["variants"].values():
        records.annotate(entry, sample=sample)
    record["rerun_of"] = {"path": run_path, "model": source.get("model"), "key": source.get("key")}
    return record


async def _replayed(
    source: dict[str, Any], provider: Provider, run_path: str | None, task_file: str | None
) -> Record:
    label = source.get("id")
    task: Task | None = None
    try:
        task = task_of(source, task_file)
        if source.get("error"):
            message = (source["error"] or {}).get("message", "")
            raise ProbeError(f"{label}: not probed in the source run ({message})")
        if "prompt_messages" not in source:
            raise ProbeError(f"{label}: the record keeps no requests (written before they were)")
        inp = source_input(source, run_path)
    except ProbeError as exc:
        fallback = task or Task(name=str(source.get("task") or ""), question="")
        path = (source.get("input") or {}).get("path")
        return records.error_record(None, fallback, provider.model, exc, id=label, path=path)
    if inp.kind == "image" and not provider.capabilities.vision:
        err = ProbeError(
            f"{inp.id}: {provider.model} cannot see images; use a vision model such as "
            f"{VISION_MODELS_EXAMPLE} (or --vision if your server's model can)"
        )
        return records.error_record(inp, task, provider.model, err)
    opts = options_of(source)
    names = list(source["variants"])
    try:
        done = await asyncio.gather(
            *(_replay(get(n), source, inp, task, provider, opts) for n in names)
        )
    except ProbeError as exc:  # an image that is not the one sent
        return records.error_record(inp, task, provider.model, exc)
    return records.probe_record(
        inp, task, provider.model, dict(zip(names, done, strict=True)), gold=source.get("gold")
    )


async def _replay(
    variant: Variant,
    source: dict[str, Any],
    inp: Input,
    task: Task,
    provider: Provider,
    opts: ProbeOptions,
) -> VariantResult:
    entry = source["variants"][variant.name]
    if variant.steps is not None:
        return await _replay_steps(variant, entry, source, inp, task, provider, opts)
    sent = entry.get("request")
    if not isinstance(sent, dict):
        return _not_sent(variant, entry)
    request = Request.from_record(sent, rebuilt(source, sent, inp), sample=opts.sample)
    prompt = _prompt(variant, entry, source, task, inp, opts, request)
    if prompt is None:
        err = ProbeError(f"{variant.name}: probe cannot rebuild how to read this request")
        return records.variant_error(err, kind="skipped")
    marks = _from_source(variant, entry, source, opts, request)
    try:
        completion = await provider.complete(request)
    except ProviderError as exc:
        failed = records.variant_error(
            exc, forced_answer=prompt.forced_answer, mechanism=prompt.mechanism
        )
        records.annotate(failed, request=sent, from_source=marks)
        return failed
    result = read_reply(prompt, completion, task, variant)
    if variant.forces:
        records.annotate(
            result, honored=honored(prompt, completion, result, provider, task), attempts=[]
        )
    records.annotate(result, request=request.as_record(), from_source=marks)
    await answer_source(variant, prompt, completion, result, task, provider, opts)
    return result


def _not_sent(variant: Variant, entry: dict[str, Any]) -> VariantResult:
    why = (entry.get("error") or {}).get("message") or "no request recorded"
    return records.variant_error(
        ProbeError(f"{variant.name}: not sent in the source run ({why})"), kind="skipped"
    )


def _continued(variant: Variant, source: dict[str, Any]) -> dict[str, Any] | None:
    base = source["variants"].get(variant.continues) if variant.continues else None
    return base if isinstance(base, dict) and not base.get("error") else None


def _prompt(
    variant: Variant,
    entry: dict[str, Any],
    source: dict[str, Any],
    task: Task,
    inp: Input,
    opts: ProbeOptions,
    request: Request,
) -> Prompt | None:
    """The variant's prompt as the source run built it (how its reply is read: where the answer
    is, what was forced, which bias), carrying the request's messages and prefill as sent."""
    base = _continued(variant, source)
    if variant.forces:
        options = VariantOptions(
            entry.get("forced_answer"),
            entry.get("mechanism"),
            reasoning=base.get("explanation") if base else None,
        )
    else:
        options = VariantOptions(bias_target=entry.get("bias_target"), seed=opts.seed)
    try:
        built = variant.build(task, inp, options)
    except ValueError:
        return None
    return replace(built, messages=request.messages, prefill=request.prefill)


def _from_source(
    variant: Variant,
    entry: dict[str, Any],
    source: dict[str, Any],
    opts: ProbeOptions,
    request: Request,
) -> list[str]:
    """What the request carries that the source run drew from its own model's replies."""
    marks = []
    if variant.forces and entry.get("forced_answer") and opts.force == "opposite":
        marks.append(FORCED_ANSWER)
    chosen = source.get("gold") is None and not opts.suggest  # not given: chosen by the run
    if entry.get("bias_target") and variant.bias_targeted and chosen:
        marks.append(BIAS_TARGET)
    base = _continued(variant, source)
    reasoning = (base or {}).get("explanation") or ""
    if reasoning.strip() and _carries(request, reasoning.strip()):
        marks.append(REASONING)
    return marks


def _carries(request: Request, text: str) -> bool:
    said = [request.prefill or ""]
    for message in request.messages:
        content = message.get("content")
        if isinstance(content, str):
            said.append(content)
        else:
            said += [p.get("text") or "" for p in _parts(message)]
    return any(text in words for words in said)


async def _replay_steps(
    variant: Variant,
    entry: dict[str, Any],
    source: dict[str, Any],
    inp: Input,
    task: Task,
    provider: Provider,
    opts: ProbeOptions,
) -> VariantResult:
    """A variant of several calls: each point's request re-sent, its answer read as a run reads
    it, the entry summarised from the new points. The steps are rebuilt from the source's
    reasoning and mechanism (`via`) for what each asked; the edit call before a step is not
    made again (its request holds the source model's edit)."""
    assert variant.steps is not None
    asked = [p for p in entry.get("points") or () if isinstance(p, dict)]
    base = _continued(variant, source)
    if not asked or base is None or any(not isinstance(p.get("request"), dict) for p in asked):
        return _not_sent(variant, entry)
    via = str(asked[0].get("via") or "prefill")
    options = VariantOptions(
        mechanism=via, reasoning=base.get("explanation"), reasoning_answer=base.get("answer")
    )
    try:
        steps = variant.steps(task, inp, options)
    except ValueError as exc:
        return records.variant_error(ProbeError(f"{variant.name}: {exc}"), kind="skipped")
    if len(steps) != len(asked):
        err = ProbeError(
            f"{variant.name}: probe builds {len(steps)} steps, the source sent {len(asked)}"
        )
        return records.variant_error(err, kind="skipped")
    marks = [REASONING] + ([EDIT] if any(s.edit is not None for s in steps) else [])
    sent = await asyncio.gather(
        *(_send_step(s, p, source, inp, provider, opts) for s, p in zip(steps, asked, strict=True)),
        return_exceptions=True,
    )
    failed = [r for r in sent if isinstance(r, BaseException)]
    if failed:
        if isinstance(failed[0], ProviderError):
            result = records.variant_error(failed[0])
            records.annotate(result, from_source=marks)
            return result
        raise failed[0]
    done = [r for r in sent if not isinstance(r, BaseException)]
    points = [point(step, [made], via, task, [request]) for step, made, request in done]
    result = steps_entry(variant, points, [made for _, made, _ in done], options)
    records.annotate(result, from_source=marks)
    return result


async def _send_step(
    step: Step,
    asked: dict[str, Any],
    source: dict[str, Any],
    inp: Input,
    provider: Provider,
    opts: ProbeOptions,
) -> tuple[Step, Completion, Request]:
    sent = asked["request"]
    request = Request.from_record(sent, rebuilt(source, sent, inp), sample=opts.sample)
    if step.edit is not None:  # the source model's edit, as its point kept it
        edited = str(asked.get(step.edit.record_as) or "")
        noted = {**step.point, step.edit.record_as: edited}
        step = replace(step, prompt=step.edit.then(edited), point=noted)
    if step.prompt is not None:
        prompt = replace(step.prompt, messages=request.messages, prefill=request.prefill)
        step = replace(step, prompt=prompt)
    return step, await provider.complete(request), request
