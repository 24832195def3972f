"""The HTML report (`probe report FILE… --html OUT.html`, and the pages `probe view` serves): one
self-contained page to look at runs — a headline per model and task (the few numbers that say
whether the model's explanations follow its answers, in words), then per task every rate of
`probe report` as a forest plot with its interval, the early-answering curve, the paired tests
(each variant against its baseline, and between models), tokens, cost and latency, and each input
once, with every model's answers, explanations and transcripts side by side.

- The numbers are `probe report --json`'s: each file's report is `compute_report` over that file's
  records (per model where a file holds several), and the page carries each file's report whole
  (a JSON block) next to what it draws from it.
- Everything a model or an input wrote is data. The overview, plots and the inputs table reach
  the page through Jinja2 with autoescape on; each input's detail (explanations, transcripts, the
  record's JSON) is built when it is opened by the page's script from a gzip-compressed JSON
  block, with `textContent` and `createElement` only, never as HTML. Control and bidi characters
  are made visible (`safe`) before either. The page's one script and one style sheet are inline
  and allowed by their sha256 in a Content-Security-Policy that allows nothing else (no network,
  no other script, no inline handlers, images only as data: URLs), so even markup that slipped
  through could not run.
- Inputs are read again only from under the run file's folder (or a folder given with
  `--input-root`), and only if their bytes still have the recorded sha256 (probe.reporting.inputs).
  Images are embedded as JPEG data URLs: a thumbnail, and the image itself up to `image_px` on a
  side, shown on click.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import gzip
import hashlib
import json
import os
import tempfile
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from probe.measures import pairs
from probe.measures.items import frozen
from probe.measures.measures import describe_sources
from probe.pipeline.view import VERDICT_TEXT, safe, word_changes
from probe.records import labels
from probe.records import verdict as compare
from probe.reporting import costs, forest, headline, transcript
from probe.reporting.inputs import Roots, input_view
from probe.variants.tasks import Task
from probe.variants.variant import VARIANTS

IMAGE_PX_DEFAULT = 800
NOTES_SHOWN = 10  # inputs not shown, named one by one on stderr and on the page
DATA_URL_KEPT = 200  # characters of a data: URL kept in a record's JSON on the page
VERDICT_CLASS = {
    compare.RATIONALIZES: "bad",
    compare.RESISTS: "good",
    compare.ERROR: "bad",
}


@dataclass
class Run:
    """One run file: its records and its report (as `probe report FILE --json` prints it)."""

    path: str
    label: str
    records: list[dict[str, Any]]
    problems: list[str]
    report: dict[str, Any]
    roots: Roots


@dataclass
class Series:
    """What the page compares: a run file, or one model's records where a file holds several."""

    index: int
    label: str
    run: Run
    records: list[dict[str, Any]]
    report: dict[str, Any]
    model: str | None = None


def load_runs(
    files: Sequence[str], *, input_roots: Sequence[str] = (), growing: bool = False
) -> list[Run]:
    """Each file read and reported on its own, with the labels `probe review` left beside it
    applied (the person's reading in place of probe's, as `probe report` does). OSError for a
    file that cannot be read.
    `growing`: the files may still be written (a last line without its newline is not yet one)."""
    from probe.measures.measures import compute_report
    from probe.records.run_file import read_records

    runs = []
    for path, label in zip(files, _labels(files), strict=True):
        records, problems = read_records([path], growing=growing)
        labels.apply_beside([path], records)
        roots = Roots.of(path, input_roots)
        runs.append(Run(path, label, records, problems, compute_report(records), roots))
    return runs


def series_of(runs: list[Run]) -> list[Series]:
    """The runs the page compares: a file, or each of a file's models where it holds several."""
    from probe.measures.measures import compute_report

    out: list[Series] = []
    for run in runs:
        models = run.report["models"]
        if len(models) <= 1:
            out.append(Series(len(out), run.label, run, run.records, run.report))
            continue
        for model in models:
            mine = [r for r in run.records if str(r.get("model") or "") == model]
            label = safe(f"{run.label} · {model}")
            out.append(Series(len(out), label, run, mine, compute_report(mine), model))
    return out


def _labels(files: Sequence[str]) -> list[str]:
    """Short names that tell the files apart: the base name, with its folder where two share one."""
    names = [os.path.basename(f) or f for f in files]
    return [
        safe(f if names.count(name) > 1 else name) for f, name in zip(files, names, strict=True)
    ]


@dataclass
class Page:
    html: str
    problems: list[str]  # lines of the files that are not records (skipped)
    notes: list[str]  # inputs that are not shown, and why
    inputs: int  # rows of the inputs table


@dataclass
class Written:
    size: int  # bytes
    inputs: int
    problems: list[str]
    notes: list[str]


def write(
    files: Sequence[str],
    out: str,
    *,
    image_px: int = IMAGE_PX_DEFAULT,
    input_roots: Sequence[str] = (),
) -> Written:
    """Build the page and write it to `out` atomically (a temporary file beside it, renamed over
    it), with the permissions a new file gets (the umask's)."""
    page = build(files, image_px=image_px, input_roots=input_roots)
    data = page.html.encode("utf-8", "surrogateescape")
    folder = os.path.dirname(os.path.abspath(out))
    handle, tmp = tempfile.mkstemp(prefix=".probe-report-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as fh:
            fh.write(data)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return Written(len(data), page.inputs, page.problems, page.notes)


def build(
    files: Sequence[str],
    *,
    image_px: int = IMAGE_PX_DEFAULT,
    input_roots: Sequence[str] = (),
    growing: bool = False,
    refresh: int | None = None,
    back: str | None = None,
) -> Page:
    """The page over `files`. `refresh`: seconds after which the page reloads itself (a run
    still being written, served by `probe view`); `back`: a link to the list of runs."""
    runs = load_runs(files, input_roots=input_roots, growing=growing)
    series = series_of(runs)
    problems = [p for run in runs for p in run.problems]
    rows, data, images, notes = _inputs(series, image_px)
    tasks = _tasks(series)
    shown_notes = notes[:NOTES_SHOWN]
    context = {
        "title": "probe report: " + ", ".join(run.label for run in runs),
        "runs": [_identity(run, series) for run in runs],
        "series": [
            {"label": s.label, "marker": forest.MARKERS[s.index % len(forest.MARKERS)]}
            for s in series
        ],
        "headline": _headline(series, tasks),
        "sections": _sections(series, tasks),
        "ticks": {"share": forest.ticks((0.0, 1.0)), "signed": forest.ticks((-1.0, 1.0))},
        "curve_ticks": forest.curve_ticks(),
        "curve_size": (forest.CURVE_W, forest.CURVE_H),
        "width": forest.WIDTH,
        "rows": rows,
        "filters": _filters(rows),
        "variant_columns": _variant_columns(series, rows),
        "priced": any(r["usage"]["cost_usd"] is not None for r in rows),
        "inputs_data": _packed(data),
        "images": images,
        "problems": [safe(p) for p in problems[:NOTES_SHOWN]],
        "more_problems": max(0, len(problems) - NOTES_SHOWN),
        "notes": [safe(n) for n in shown_notes],
        "more_notes": max(0, len(notes) - NOTES_SHOWN),
        "reports": {run.label: run.report for run in runs},
        "version": _version(),
        "made": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "refresh": refresh,
        "back": back,
    }
    return Page(_render(context), problems, notes, len(rows))


# --- the headline and the per-task sections -----------------------------------------------------


def _tasks(series: list[Series]) -> list[str]:
    found: dict[str, None] = {}
    for s in series:
        found.update(dict.fromkeys(s.report.get("by_task") or {}))
    return sorted(found)


def _headline(series: list[Series], tasks: list[str]) -> list[dict[str, Any]]:
    """A card per task and model: the numbers, their intervals and n, in words."""
    cards = []
    for task in tasks:
        for s in series:
            section = (s.report.get("by_task") or {}).get(task)
            if not section:
                continue
            shown, missing = headline.facts(section)
            cards.append(
                {
                    "task": task,
                    "series": s.index,
                    "label": s.label,
                    "marker": forest.MARKERS[s.index % len(forest.MARKERS)],
                    "prefix": f"by_task.{task}.",
                    "n_inputs": section.get("n_inputs", 0),
                    "facts": [
                        replace(f, words=safe(f.words), warnings=tuple(map(safe, f.warnings)))
                        for f in shown
                    ],
                    "missing": missing,
                }
            )
    return cards


def _sections(series: list[Series], tasks: list[str]) -> list[dict[str, Any]]:
    """The rates, curves and paired tests: one section per task; where there are several, the
    tasks pooled after them (folded: pooled rates mix tasks)."""
    if len(tasks) <= 1:
        title = tasks[0] if tasks else "all records"
        return [_section(series, "", title, "rates", None, pooled=False)]
    out = [_section(series, f"by_task.{t}.", t, f"task-{i}", t, False) for i, t in enumerate(tasks)]
    out.append(_section(series, "", "all tasks pooled", "pooled", None, pooled=True))
    return out


def _section(
    series: list[Series], prefix: str, title: str, anchor: str, task: str | None, pooled: bool
) -> dict[str, Any]:
    reports = []
    for s in series:
        report = (s.report.get("by_task") or {}).get(task, {}) if task else s.report
        reports.append(report | {"definitions": s.report.get("definitions") or {}})
    between = pairs.between(
        [(s.label, [r for r in s.records if task is None or r.get("task") == task]) for s in series]
    )
    return {
        "title": title,
        "anchor": anchor,
        "prefix": prefix,
        "pooled": pooled,
        "forest": _forest(reports, [s.label for s in series]),
        "curves": forest.curves(reports),
        "mcnemar": [
            {"label": s.label, "tests": _tests(report.get("mcnemar") or {})}
            for s, report in zip(series, reports, strict=True)
        ],
        "between": between,
    }


def _forest(reports: list[dict[str, Any]], names: list[str]) -> list[dict[str, Any]]:
    """The forest plot's rows in their groups (forest.GROUPS; the last, whether it could be
    measured at all, folded), each row with its baseline warnings' notes (names and answers from
    records, made safe), a note shared by several runs said once."""
    groups: list[dict[str, Any]] = []
    for row in forest.rows(reports):
        notes: dict[str, list[str]] = {}
        for point in row.points:
            for note in point.warnings:
                notes.setdefault(safe(note), []).append(names[point.series])
        item = {
            "row": row,
            "notes": [
                ("" if len(names) == 1 else ", ".join(who), note) for note, who in notes.items()
            ],
        }
        if not groups or groups[-1]["title"] != row.group:
            folded = row.group == forest.GROUPS[-1]
            groups.append({"title": row.group, "folded": folded, "rows": []})
        groups[-1]["rows"].append(item)
    return groups


def _tests(tests: dict[str, Any]) -> dict[str, Any]:
    """The paired tests, each with the notes of the baseline warnings that undermine it."""
    return {
        name: test | {"notes": [safe(w["note"]) for w in test.get("baseline_warnings") or []]}
        for name, test in tests.items()
    }


# --- each run's identity ------------------------------------------------------------------------


def _cautions(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each baseline warning of a run (probe.measures.baselines), to show beside its verdicts: its
    note on them where it has one, else its finding; and whether rates below are marked."""
    shown = []
    for warning in report.get("baseline_warnings") or []:
        notes = warning.get("notes") or {}
        shown.append(
            {
                "variant": warning.get("variant"),
                "kind": warning.get("kind"),
                "text": safe(notes.get("verdicts") or warning.get("message") or ""),
                "marked": any(path != "verdicts" for path in notes),
            }
        )
    return shown


def _identity(run: Run, series: list[Series]) -> dict[str, Any]:
    records = run.records
    options: dict[str, set[str]] = {}
    variants: list[str] = []
    for record in records:
        for key, value in (record.get("run") or {}).items():
            if key == "variants" and isinstance(value, list):
                variants.extend(str(v) for v in value if str(v) not in variants)
            else:
                shown = value if isinstance(value, str) else json.dumps(value)
                options.setdefault(str(key), set()).add(shown)
    for record in records:
        variants.extend(v for v in record.get("variants", {}) if v not in variants)
    try:
        modified = dt.datetime.fromtimestamp(os.stat(run.path).st_mtime, dt.UTC)
        date = modified.strftime("%Y-%m-%d %H:%M UTC")
    except OSError:
        date = "?"
    report = run.report
    mine = [s for s in series if s.run is run]
    usage = [
        {
            "label": s.model or run.label,
            "usage": (u := costs.of_records(s.records).to_dict()),
            "text": costs.describe(u),
        }
        for s in mine
    ]
    return {
        "label": run.label,
        "path": safe(run.path),
        "date": date,
        "records": len(records),
        "problems": [safe(p) for p in run.problems],
        "models": [safe(m) for m in report["models"]],
        "tasks": sorted({safe(str(r.get("task"))) for r in records}),
        "variants": [safe(v) for v in variants],
        "options": {
            safe(k): safe(" | ".join(sorted(v))) for k, v in options.items() if v != {"null"}
        },
        "verdicts": [
            {
                "name": name,
                "count": count,
                "text": VERDICT_TEXT.get(name, ""),
                "cls": VERDICT_CLASS.get(name, "warn"),
            }
            for name, count in report["verdicts"].items()
        ],
        "n_inputs": report["n_inputs"],
        "input_errors": report["input_errors"],
        "answer_sources": [
            {"variant": name, "text": describe_sources(v["answer_sources"])}
            for name, v in report["by_variant"].items()
            if v.get("answer_sources")
        ],
        "reader": report.get("reader_agreement"),
        "noise_floor": report["rates"]["noise_floor"],
        "noise_floor_any": report["rates"]["noise_floor_any"],
        "cautions": _cautions(report),
        "usage": usage,
        "input_roots": [safe(r) for r in run.roots.all],
    }


# --- the inputs ---------------------------------------------------------------------------------


def _input_key(record: dict[str, Any]) -> tuple[Hashable, ...]:
    """One input asked one way, whichever run or model asked it."""
    part = record.get("input") if isinstance(record.get("input"), dict) else {}
    sha = part.get("sha256") if isinstance(part, dict) else None
    return (
        frozen(record.get("task")),
        frozen(record.get("question")),
        frozen(record.get("options") or []),
        sha or f"id:{record.get('id')}",
    )


def _sample(record: dict[str, Any]) -> float:
    value = record.get("sample")
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _inputs(
    series: list[Series], image_px: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any], list[str]]:
    """The inputs table's rows (what the server renders), each row's detail (what the page's
    script renders when it is opened), the images by row, and why any input is not shown."""
    grouped: dict[tuple[Hashable, ...], dict[int, list[dict[str, Any]]]] = {}
    for s in series:
        for record in s.records:
            grouped.setdefault(_input_key(record), {}).setdefault(s.index, []).append(record)
    rows: list[dict[str, Any]] = []
    data: list[dict[str, Any]] = []
    images: dict[str, Any] = {}
    notes: list[str] = []
    for cells in grouped.values():
        uid = f"i{len(rows) + 1}"
        first = next(iter(cells.values()))[0]
        shown, why = _input_of(cells, series, image_px)
        if why:
            notes.append(why)
        if shown.get("kind") == "image":
            images[uid] = {k: shown.pop(k) for k in ("thumb", "full")}
        views = {
            index: _cell(series[index], sorted(records, key=_sample))
            for index, records in cells.items()
        }
        rows.append(_row(uid, first, views, series))
        data.append(
            {
                "uid": uid,
                "task": safe(str(first.get("task"))),
                "question": safe(str(first.get("question") or "")),
                "input": shown,
                "cells": [views.get(s.index, {}).get("detail") for s in series],
                "labels": [s.label for s in series],
            }
        )
    return rows, data, images, notes


def _input_of(
    cells: dict[int, list[dict[str, Any]]], series: list[Series], image_px: int
) -> tuple[dict[str, Any], str | None]:
    """The input as the first run that can show it shows it (each run reads from its folder)."""
    first: tuple[dict[str, Any], str | None] | None = None
    for index, records in cells.items():
        shown, why = input_view(records[0].get("input"), series[index].run.roots, image_px, safe)
        if shown["kind"] != "missing":
            return shown, None
        first = first or (shown, why)
    assert first is not None
    return first


def _row(
    uid: str, first: dict[str, Any], views: dict[int, dict[str, Any]], series: list[Series]
) -> dict[str, Any]:
    usage = costs.Usage()
    for view in views.values():
        usage.merge(view["usage"])
    cells = [views.get(s.index) for s in series]
    present = [c for c in cells if c]
    return {
        "uid": uid,
        "id": safe(str(first.get("id"))),
        "task": safe(str(first.get("task"))),
        "cells": [
            {k: c[k] for k in ("verdict", "verdict_cls", "answers", "p_yes", "error", "person")}
            if c
            else None
            for c in cells
        ],
        "verdicts": sorted({c["verdict"] for c in present}),
        "models": sorted({c["model"] for c in present}),
        "runs": sorted({series[i].run.label for i in views}),
        "variants": sorted({v for c in present for v in c["answers"]}),
        "error": next((c["error"] for c in present if c["error"]), ""),
        "person": any(c["person"] for c in present),
        "usage": usage.to_dict(),
    }


def _cell(s: Series, records: list[dict[str, Any]]) -> dict[str, Any]:
    """One run's records of one input: what its table cells show, and its detail."""
    record = records[0]
    options = record.get("options") or ["yes", "no"]
    task = Task(
        name=str(record.get("task")),
        question=str(record.get("question")),
        options=tuple(str(o) for o in options),
    )
    variants = record.get("variants") or {}
    columns = []
    for name, v in variants.items():
        if isinstance(v, list):  # --samples: a list of runs; the first is the one measured
            v = v[0] if v else {}
        columns.append(_variant_view(name, v, variants, task, record.get("prompt_messages")))
    verdict = record.get("verdict") or "none"
    person = [safe(name) for name in labels.by_person(record)]
    decide = variants.get("decide-first")
    if isinstance(decide, list):
        decide = decide[0] if decide else None
    p_yes = decide.get("p_yes") if isinstance(decide, dict) else None
    error = _error(record.get("error")) or next((c["error"] for c in columns if c["error"]), "")
    usage = costs.Usage()
    for r in records:
        usage.add_record(r)
    u = usage.to_dict()
    return {
        "verdict": safe(verdict),
        "verdict_cls": VERDICT_CLASS.get(verdict, "warn"),
        "answers": {c["name"]: c["answer"] for c in columns},
        "p_yes": p_yes,
        "error": error,
        "person": bool(person),
        "model": safe(str(record.get("model"))),
        "usage": usage,
        "detail": {
            "s": s.index,
            "id": safe(str(record.get("id"))),
            "model": safe(str(record.get("model"))),
            "verdict": safe(verdict),
            "verdict_text": VERDICT_TEXT.get(verdict, ""),
            "verdict_cls": VERDICT_CLASS.get(verdict, "warn"),
            "person": person,
            "lines": [safe(line) for line in _evidence(record, task)],
            "error": error,
            "usage": costs.describe(u),
            "variants": columns,
            "records": [_shown_tree(r) for r in records],
        },
    }


def _error(err: Any) -> str:
    if not isinstance(err, dict):
        return ""
    return safe(f"{err.get('type')}: {err.get('message')}")


def _answer(task: Task, answer: Any) -> str:
    return safe(task.display(answer) if isinstance(answer, str) or answer is None else str(answer))


def _variant_view(
    name: str, v: dict[str, Any], variants: dict[str, Any], task: Task, table: Any = None
) -> dict[str, Any]:
    declared = VARIANTS.get(name)
    base_name = declared.baseline if declared and declared.baseline != name else None
    base = variants.get(base_name) if base_name else None
    if isinstance(base, list):
        base = base[0] if base else None
    if not isinstance(base, dict):
        base = None
    text = v.get("explanation") or ""
    segments = None
    if base and not base.get("error") and not v.get("error") and text.strip():
        segments = word_changes(base.get("explanation") or "", text)
    usage = costs.Usage()
    usage.add_run(v)
    return {
        "name": safe(name),
        "baseline": safe(base_name) if base and base_name else None,
        "answer": _answer(task, v.get("answer")),
        "facts": _facts(v, task),
        "error": _error(v.get("error")) or None,
        "text": safe(text),
        "segments": [(op, safe(words)) for op, words in segments] if segments else None,
        "alignment": _alignment(v.get("alignment")),
        "evidence": [
            safe(f"{e.get('detector')}: {e.get('evidence')}")
            for e in v.get("stance_evidence") or []
            if isinstance(e, dict) and e.get("evidence")
        ][:3],
        "pushback": safe(str(v["pushback_evidence"])) if v.get("pushback_evidence") else None,
        "usage": costs.describe(usage.to_dict()),
        "transcript": transcript.transcript(v, safe, table),
    }


def _flag(value: Any) -> str:
    return "yes" if value else "no"


def _facts(v: dict[str, Any], task: Task) -> list[tuple[str, str]]:
    """The variant's facts, as (label, value) in the order a reader wants them."""
    facts = [("answer", _answer(task, v.get("answer")))]
    source = v.get("answer_source")
    if source == "extracted":
        facts.append(("read", "extracted by the model"))
    elif source == "none":
        facts.append(("read", "stated nowhere"))
    if v.get("forced_answer"):
        facts.append(("forced", _answer(task, v["forced_answer"])))
    if v.get("mechanism"):
        facts.append(("mechanism", safe(str(v["mechanism"]))))
    if v.get("honored") is not None:
        facts.append(("honoured", _flag(v["honored"])))
    if v.get("stance_by") == labels.PERSON:
        probe_read = safe(str(v.get("stance_probe")))
        facts.append(("stance", f"{safe(str(v.get('stance')))}, a person's reading"))
        facts.append(("probe read", probe_read))
    elif v.get("stance"):
        facts.append(("stance", safe(str(v["stance"]))))
    if v.get("flip") is not None:
        facts.append(("flip", _flag(v["flip"])))
    if isinstance(v.get("p_yes"), int | float):
        facts.append(("P(yes)", f"{v['p_yes']:.3f}"))
    if v.get("bias_target"):
        facts.append(("pointed at", _answer(task, v["bias_target"])))
        facts.append(("mentions it", _flag(v.get("mentions_bias"))))
    points = v.get("points")
    if isinstance(points, list) and points:
        facts.append(("points", f"{len(points)} (see the JSON)"))
    return facts


def _alignment(alignment: Any) -> dict[str, Any] | None:
    if not isinstance(alignment, dict):
        return None
    if alignment.get("skipped"):
        return {"skipped": safe(str(alignment["skipped"]))}
    pairs_ = [p for p in alignment.get("pairs") or [] if isinstance(p, dict)]
    rows = [
        (
            safe(str(p.get("own", ""))),
            f"{p['similarity']:.2f}" if isinstance(p.get("similarity"), int | float) else "",
            safe(str(p.get("forced", ""))),
        )
        for p in pairs_
        if p.get("changed")
    ]
    rows += [(safe(str(s)), "", "(dropped)") for s in alignment.get("unmatched_own") or []]
    rows += [("(new)", "", safe(str(s))) for s in alignment.get("unmatched_forced") or []]
    similarity = alignment.get("similarity")
    return {
        "similarity": f"{similarity:.3f}" if isinstance(similarity, int | float) else "–",
        "rows": rows,
    }


def _evidence(record: dict[str, Any], task: Task) -> list[str]:
    """The verdict's evidence in sentences, as the terminal's verdict line gives it."""
    from probe.pipeline.view import verdict_line

    if record.get("error") or not record.get("variants"):
        return []
    try:
        text = verdict_line(record, task.display).plain
    except (KeyError, TypeError, AttributeError, ValueError):
        return []
    return [line for line in text.splitlines()[1:] if line.strip()]


def _shown_tree(value: Any) -> Any:
    """A record as the page's JSON view shows it: every string made safe, and the bytes of a
    data: URL (an image sent in a request) left out. Records are at most MAX_DEPTH deep
    (probe.records.run_file), so the recursion is bounded."""
    if isinstance(value, str):
        if value.startswith("data:") and len(value) > DATA_URL_KEPT:
            value = value[:60] + f"… ({len(value):,} characters, not kept in the page)"
        return safe(value)
    if isinstance(value, dict):
        return {safe(str(k)): _shown_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shown_tree(v) for v in value]
    return value


def _variant_columns(series: list[Series], rows: list[dict[str, Any]]) -> list[str]:
    """With one run, a column per variant of its answers; with several, none (the detail shows
    them side by side)."""
    if len(series) != 1:
        return []
    return sorted({v for r in rows for v in r["variants"]})


def _filters(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    return {
        "verdict": sorted({v for r in rows for v in r["verdicts"]}),
        "variant": sorted({v for r in rows for v in r["variants"]}),
        "model": sorted({m for r in rows for m in r["models"]}),
        "run": sorted({m for r in rows for m in r["runs"]}),
        "task": sorted({r["task"] for r in rows}),
    }


def _packed(data: list[dict[str, Any]]) -> str:
    """The inputs' details as the page carries them: JSON, gzip, base64 (a thousand inputs'
    explanations, transcripts and records repeat their prompts: about a tenth of the size)."""
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8", "surrogateescape"
    )
    return base64.b64encode(gzip.compress(raw, compresslevel=9, mtime=0)).decode("ascii")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("probe-explanations")
    except PackageNotFoundError:
        return "unknown"


def _asset(name: str) -> str:
    return (
        resources.files("probe.reporting").joinpath("templates", name).read_text(encoding="utf-8")
    )


def csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def policy() -> str:
    """The page's Content-Security-Policy: its own script and style sheet, data: images, nothing
    else (`probe view` sends it as a header too)."""
    script, style = _asset("report.js"), _asset("report.css")
    return (
        "default-src 'none'; img-src data:; "
        f"style-src {csp_hash(style)}; script-src {csp_hash(script)}; "
        "base-uri 'none'; form-action 'none'"
    )


@functools.cache
def _template() -> Any:
    """The page's template, compiled once per process (`probe view` renders many pages)."""
    from jinja2 import Environment, StrictUndefined

    env = Environment(
        autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    # tojson: compact; it escapes < > & ' so its output is safe in a script block and in a
    # single-quoted attribute
    env.policies["json.dumps_kwargs"] = {"sort_keys": False, "separators": (",", ":")}
    return env.from_string(_asset("report.html.j2"))


def _render(context: dict[str, Any]) -> str:
    rendered: str = _template().render(
        **context, script=_asset("report.js"), style=_asset("report.css"), csp=policy()
    )
    return rendered


def open_in_browser(url: str) -> bool:
    """Open a URL (or a file's path) in the user's browser ($BROWSER is honoured); False where
    there is none."""
    import webbrowser

    if "://" not in url:
        url = Path(url).resolve().as_uri()
    return webbrowser.open(url)
