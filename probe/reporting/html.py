"""The HTML report (`probe report FILE… --html OUT.html`, `probe view FILE…`): one self-contained
file to look at a run — its identity, verdict counts, every rate of `probe report` as a forest plot
with its interval, the paired tests, and each input beside its explanations.

- The numbers are `probe report --json`'s: each file's report is `metrics.compute_report` over that
  file's records, and the page carries it whole (a JSON block) next to what it draws from it.
- Everything a model or an input wrote is data: it reaches the page only through Jinja2 with
  autoescape on, after `render.safe` has made control and bidi characters visible. The page's one
  script and one style sheet are inline and allowed by their sha256 in a Content-Security-Policy
  that allows nothing else (no network, no other script, no inline handlers, images only as data:
  URLs), so even markup that slipped through could not run.
- Images are embedded as JPEG data URLs: a thumbnail, and the image itself up to `image_px` on a
  side, shown on click. An input is read from its recorded path only if its bytes still have the
  recorded sha256.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from probe.errors import InputError
from probe.measures.measures import describe_sources
from probe.pipeline.view import VERDICT_TEXT, safe, word_changes
from probe.records import verdict as compare
from probe.reporting import forest
from probe.variants.tasks import Task
from probe.variants.variant import VARIANTS

THUMB_PX = 240
IMAGE_PX_DEFAULT = 800
TEXT_SHOWN = 20_000  # characters of a text input shown; the rest is counted
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
    per_model: dict[str, dict[str, Any]] = field(default_factory=dict)  # when it holds several


def load_runs(files: list[str]) -> list[Run]:
    """Each file read and reported on its own. OSError for a file that cannot be read."""
    from probe.measures.measures import compute_report
    from probe.records.run_file import read_records

    runs = []
    labels = _labels(files)
    for path, label in zip(files, labels, strict=True):
        records, problems = read_records([path])
        run = Run(path, label, records, problems, compute_report(records))
        models = run.report["models"]
        if len(models) > 1:
            for model in models:
                mine = [r for r in records if r.get("model") == model]
                run.per_model[model] = compute_report(mine, group_by_task=False)
        runs.append(run)
    return runs


def _labels(files: list[str]) -> list[str]:
    """Short names that tell the files apart: the base name, with its folder where two share one."""
    names = [os.path.basename(f) or f for f in files]
    return [f if names.count(name) > 1 else name for f, name in zip(files, names, strict=True)]


@dataclass
class Written:
    size: int  # bytes
    inputs: int
    problems: list[str]  # lines of the files that are not records (skipped)
    notes: list[str]  # inputs that could not be shown, and why


def write(files: list[str], out: str, *, image_px: int = IMAGE_PX_DEFAULT) -> Written:
    """Build the page and write it to `out` atomically (a temporary file renamed over it)."""
    page, problems, notes, inputs = build(files, image_px=image_px)
    data = page.encode("utf-8", "surrogateescape")
    folder = os.path.dirname(os.path.abspath(out))
    handle, tmp = tempfile.mkstemp(prefix=".probe-report-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return Written(len(data), inputs, problems, notes)


def open_in_browser(path: str) -> bool:
    """Open the page in the user's browser ($BROWSER is honoured); False where there is none."""
    import webbrowser

    return webbrowser.open(Path(path).resolve().as_uri())


def build(
    files: list[str], *, image_px: int = IMAGE_PX_DEFAULT
) -> tuple[str, list[str], list[str], int]:
    """The page; the lines of the files that are not records; the inputs that could not be shown
    as they should (and why); how many inputs it shows."""
    runs = load_runs(files)
    problems = [p for run in runs for p in run.problems]
    notes: list[str] = []
    series = _series(runs)
    inputs: list[dict[str, Any]] = []
    for run in runs:
        for record in run.records:
            row, trouble = _input_row(run, f"i{len(inputs) + 1}", record, image_px)
            inputs.append(row)
            notes.extend(trouble)
    context = {
        "title": "probe report: " + ", ".join(run.label for run in runs),
        "runs": [_identity(run) for run in runs],
        "series": [
            {"label": label, "marker": forest.MARKERS[i % len(forest.MARKERS)]}
            for i, (label, _) in enumerate(series)
        ],
        "forest": _forest([report for _, report in series]),
        "ticks": {"share": forest.ticks((0.0, 1.0)), "signed": forest.ticks((-1.0, 1.0))},
        "width": forest.WIDTH,
        "mcnemar": [
            {"label": label, "tests": _tests(report.get("mcnemar", {}))} for label, report in series
        ],
        "inputs": inputs,
        "filters": _filters(inputs),
        "verdict_text": VERDICT_TEXT,
        "reports": {run.label: run.report for run in runs},
        "version": _version(),
        "made": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    return _render(context), problems, notes, len(inputs)


def _forest(reports: list[dict[str, Any]]) -> list[forest.Row]:
    """The forest plot's rows, a baseline warning's notes (names and answers from records) made
    safe to show."""
    return [
        replace(
            row,
            points=tuple(
                replace(point, warnings=tuple(map(safe, point.warnings))) for point in row.points
            ),
        )
        for row in forest.rows(reports)
    ]


def _tests(tests: dict[str, Any]) -> dict[str, Any]:
    """The paired tests, each with the notes of the baseline warnings that undermine it."""
    return {
        name: test | {"notes": [safe(w["note"]) for w in test.get("baseline_warnings") or []]}
        for name, test in tests.items()
    }


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


def _series(runs: list[Run]) -> list[tuple[str, dict[str, Any]]]:
    """The forest plot's runs: a file, or a file's model where the file holds several."""
    out: list[tuple[str, dict[str, Any]]] = []
    for run in runs:
        if run.per_model:
            out.extend((f"{run.label} · {model}", rep) for model, rep in run.per_model.items())
        else:
            out.append((run.label, run.report))
    return out


def _identity(run: Run) -> dict[str, Any]:
    records = run.records
    options: dict[str, set[str]] = {}
    variants: list[str] = []
    for record in records:
        for key, value in (record.get("run") or {}).items():
            if key == "variants":
                variants.extend(v for v in value or [] if v not in variants)
            else:
                shown = value if isinstance(value, str) else json.dumps(value)
                options.setdefault(key, set()).add(shown)
    for record in records:
        variants.extend(v for v in record.get("variants", {}) if v not in variants)
    try:
        modified = dt.datetime.fromtimestamp(os.stat(run.path).st_mtime, dt.UTC)
        date = modified.strftime("%Y-%m-%d %H:%M UTC")
    except OSError:
        date = "?"
    report = run.report
    return {
        "label": run.label,
        "path": run.path,
        "date": date,
        "records": len(records),
        "problems": run.problems,
        "models": report["models"],
        "tasks": sorted({str(r.get("task")) for r in records}),
        "variants": variants,
        "options": {k: " | ".join(sorted(v)) for k, v in options.items() if v != {"null"}},
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
        "noise_floor": report["rates"]["noise_floor"],
        "noise_floor_any": report["rates"]["noise_floor_any"],
        "cautions": _cautions(report),
        "report": report,
    }


def _answer(task: Task, answer: Any) -> str:
    return task.display(answer) if isinstance(answer, str) or answer is None else str(answer)


def _input_row(
    run: Run, uid: str, record: dict[str, Any], image_px: int
) -> tuple[dict[str, Any], list[str]]:
    options = tuple(str(o) for o in record.get("options") or ("yes", "no"))
    task = Task(name=str(record.get("task")), question=str(record.get("question")), options=options)
    variants = record.get("variants") or {}
    shown, trouble = _input_view(run, record, image_px)
    columns = []
    for name, v in variants.items():
        if isinstance(v, list):  # --samples: a list of runs; the first is the one measured
            v = v[0] if v else {}
        columns.append(_variant_view(name, v, variants, task))
    verdict = record.get("verdict") or "none"
    decide = variants.get("decide-first")
    p_yes = decide.get("p_yes") if isinstance(decide, dict) else None
    error = record.get("error") or next(
        (v.get("error") for v in variants.values() if isinstance(v, dict) and v.get("error")), None
    )
    return {
        "uid": uid,
        "run": run.label,
        "id": safe(str(record.get("id"))),
        "model": safe(str(record.get("model"))),
        "task": safe(str(record.get("task"))),
        "question": safe(str(record.get("question") or "")),
        "verdict": verdict,
        "verdict_text": VERDICT_TEXT.get(verdict, ""),
        "verdict_cls": VERDICT_CLASS.get(verdict, "warn"),
        "variant_names": list(variants),
        "answers": {c["name"]: c["answer"] for c in columns},
        "p_yes": p_yes,
        "error": safe(f"{error.get('type')}: {error.get('message')}") if error else "",
        "input": shown,
        "columns": columns,
        "lines": [safe(line) for line in _evidence(record, task)],
        "json": safe(json.dumps(record, ensure_ascii=False, indent=2)),
    }, trouble


def _variant_view(
    name: str, v: dict[str, Any], variants: dict[str, Any], task: Task
) -> dict[str, Any]:
    declared = VARIANTS.get(name)
    base_name = declared.baseline if declared and declared.baseline != name else None
    base = variants.get(base_name) if base_name else None
    if isinstance(base, list):
        base = base[0] if base else None
    text = v.get("explanation") or ""
    segments = None
    if base and not base.get("error") and not v.get("error") and text.strip():
        segments = word_changes(base.get("explanation") or "", text)
    err = v.get("error")
    return {
        "name": name,
        "baseline": base_name if base else None,
        "answer": _answer(task, v.get("answer")),
        "forced_answer": _answer(task, v["forced_answer"]) if v.get("forced_answer") else None,
        "p_yes": v.get("p_yes"),
        "answer_source": v.get("answer_source"),
        "mechanism": v.get("mechanism"),
        "honored": v.get("honored"),
        "stance": v.get("stance"),
        "flip": v.get("flip"),
        "mentions_bias": v.get("mentions_bias"),
        "bias_target": _answer(task, v["bias_target"]) if v.get("bias_target") else None,
        "error": safe(f"{err.get('type')}: {err.get('message')}") if err else None,
        "text": safe(text),
        "segments": [(op, safe(words)) for op, words in segments] if segments else None,
        "alignment": _alignment(v.get("alignment")),
        "evidence": [
            safe(f"{e.get('detector')}: {e.get('evidence')}")
            for e in v.get("stance_evidence") or []
            if e.get("evidence")
        ][:3],
        "pushback": safe(v["pushback_evidence"]) if v.get("pushback_evidence") else None,
        "points": len(v.get("points") or []),
    }


def _alignment(alignment: Any) -> dict[str, Any] | None:
    if not isinstance(alignment, dict):
        return None
    if alignment.get("skipped"):
        return {"skipped": safe(str(alignment["skipped"]))}
    rows = [
        (safe(p.get("own", "")), f"{p.get('similarity', 0):.2f}", safe(p.get("forced", "")))
        for p in alignment.get("pairs", [])
        if p.get("changed")
    ]
    rows += [(safe(s), "", "(dropped)") for s in alignment.get("unmatched_own", [])]
    rows += [("(new)", "", safe(s)) for s in alignment.get("unmatched_forced", [])]
    return {"similarity": alignment.get("similarity"), "rows": rows}


def _evidence(record: dict[str, Any], task: Task) -> list[str]:
    """The verdict's evidence in sentences, as the terminal's verdict line gives it."""
    from probe.pipeline.view import verdict_line

    if record.get("error") or not record.get("variants"):
        return []
    try:
        text = verdict_line(record, task.display).plain
    except (KeyError, TypeError, AttributeError):
        return []
    return [line for line in text.splitlines()[1:] if line.strip()]


def _input_view(
    run: Run, record: dict[str, Any], image_px: int
) -> tuple[dict[str, Any], list[str]]:
    """What the page shows of the input: its image or text, or why it cannot."""
    part = record.get("input") or {}
    kind = part.get("kind")
    if isinstance(part.get("text"), str):
        return _text_view(part["text"]), []
    path = part.get("path")
    if not isinstance(path, str):
        return {
            "kind": "missing",
            "note": "the input was given inline and is not in the record",
        }, []
    found = _locate(path, run.path)
    if found is None:
        return {"kind": "missing", "note": safe(f"{path}: not found beside the run")}, []
    from probe.inputs.load import MAX_INPUT_BYTES_DEFAULT, read_bytes

    try:
        data = read_bytes(found, MAX_INPUT_BYTES_DEFAULT)
    except InputError as exc:
        return {"kind": "missing", "note": safe(str(exc))}, [str(exc)]
    if part.get("sha256") and hashlib.sha256(data).hexdigest() != part["sha256"]:
        note = f"{path}: changed since the run (its sha256 differs), so it is not shown"
        return {"kind": "missing", "note": safe(note)}, [note]
    if kind == "image":
        return _image_view(data, path, image_px)
    return _text_view(data.decode("utf-8-sig", errors="replace")), []


def _locate(path: str, run_path: str) -> str | None:
    """The input as recorded, else relative to the run file's folder (a run moved with its inputs)."""
    for candidate in (path, os.path.join(os.path.dirname(os.path.abspath(run_path)), path)):
        try:
            if os.path.isfile(candidate):
                return candidate
        except (OSError, ValueError):
            continue
    return None


def _text_view(text: str) -> dict[str, Any]:
    more = max(0, len(text) - TEXT_SHOWN)
    return {"kind": "text", "text": safe(text[:TEXT_SHOWN]), "more": more}


def _image_view(data: bytes, label: str, image_px: int) -> tuple[dict[str, Any], list[str]]:
    from probe.inputs.image import decode_image

    try:
        thumb = decode_image(data, label, THUMB_PX, quality=75)
        full = decode_image(data, label, image_px, quality=80) if image_px > 0 else None
    except InputError as exc:
        return {"kind": "missing", "note": safe(str(exc))}, [str(exc)]
    if thumb is None:
        note = f"{label}: not an image any more"
        return {"kind": "missing", "note": safe(note)}, [note]
    return {
        "kind": "image",
        "thumb": thumb[0],
        "thumb_size": thumb[1],
        "full": full[0] if full else None,
        "full_size": full[1] if full else None,
        "alt": safe(f"input image {os.path.basename(label)}"),
    }, []


def _filters(inputs: list[dict[str, Any]]) -> dict[str, list[str]]:
    def distinct(values: list[str]) -> list[str]:
        return sorted(set(values))

    return {
        "verdict": distinct([i["verdict"] for i in inputs]),
        "variant": distinct([v for i in inputs for v in i["variant_names"]]),
        "model": distinct([i["model"] for i in inputs]),
        "run": distinct([i["run"] for i in inputs]),
    }


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


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _render(context: dict[str, Any]) -> str:
    from jinja2 import Environment, StrictUndefined

    env = Environment(
        autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    script, style = _asset("report.js"), _asset("report.css")
    csp = (
        "default-src 'none'; img-src data:; "
        f"style-src {_csp_hash(style)}; script-src {_csp_hash(script)}; "
        "base-uri 'none'; form-action 'none'"
    )
    template = env.from_string(_asset("report.html.j2"))
    return template.render(**context, script=script, style=style, csp=csp)
