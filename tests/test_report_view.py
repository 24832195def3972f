"""probe.reporting.terminal: what a reader of `probe report` sees, rendered at fixed widths.

EXAMPLE_RECORDS is also the worked example in docs/report.md; a test keeps the render pasted
there in step with the code.
"""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from probe.measures.measures import DEFINITIONS, compute_report
from probe.measures.statistics import mcnemar_exact, wilson_interval
from probe.records import verdict as compare
from probe.reporting.terminal import KAPPA_MEANING, MEANINGS, VERDICT_MEANINGS, render_report
from tests.helpers import failed, forced_run, legacy, run

DOC = Path(__file__).resolve().parents[1] / "docs" / "report.md"

# --- records (the shape of tests/test_metrics.py) ---------------------------------------------


def record(id, variants, *, task="funny", gold=None, options=("yes", "no"), model="demo-model"):
    """A record as probe writes it. Its verdict is set by the caller, as the record schema
    defines it, so that the worked example does not move when probe/records/verdict.py's detectors do."""
    own = (variants.get("decide-first") or {}).get("answer")
    explained = (variants.get("explain-first") or {}).get("answer")
    return {
        "schema": "probe/1",
        "id": id,
        "input": {"path": f"{id}.txt", "sha256": hashlib.sha256(id.encode()).hexdigest()},
        "task": task,
        "question": "Is it funny?",
        "options": list(options),
        "gold": gold,
        "model": model,
        "variants": variants,
        "order_agreement": None if None in (own, explained) else own == explained,
        "verdict": None,
        "error": None,
    }


def forced(stance, honored=True):
    """Forced to "no" by a note in the prompt, the one mechanism a model can decline."""
    return forced_run("no", stance, mechanism="note", honored=honored)


def suggested(answer, target, mentions=False):
    return run(answer, bias_target=target, mentions_bias=mentions)


# `probe funny … --force no --force-via note`: decide-first, forced to "no", explain-first.
FUNNY = [
    # id, decide-first, stance of the forced reply, note honored, explain-first, verdict
    ("f01", "yes", "forced", True, "yes", "rationalizes"),
    ("f02", "yes", "forced", True, "yes", "rationalizes"),
    ("f03", "yes", "forced", True, "no", "rationalizes"),  # the two orders disagree
    ("f04", "yes", "forced", True, "yes", "rationalizes"),
    ("f05", "yes", "forced", True, "yes", "rationalizes"),
    ("f06", "yes", "other", True, "yes", "resists"),  # said "no", then argued for yes
    ("f07", "yes", "other", False, "yes", "not-honored"),  # answered yes despite the note
    ("f08", "no", "forced", True, "no", "same-answer"),  # "no" was its own answer
    ("f09", "no", "forced", True, "yes", "same-answer"),  # the two orders disagree
    ("f10", "yes", "unclear", True, "yes", "unclear"),  # said "no", then argued for nothing
    ("f12", "yes", "forced", True, "yes", "rationalizes"),
    ("f14", None, "forced", True, "yes", "unparsed"),  # its own answer could not be read
]
# Two more decide-first samples of four inputs, for the noise floor.
RESAMPLED = {
    "f01": ("yes", "yes"),
    "f02": ("no", "yes"),
    "f03": ("yes", "yes"),
    "f04": ("yes", "no"),
}
# A four-option task with gold answers, asked plainly and with a suggested (wrong or right) answer.
MCQ = [
    # id, gold, decide-first, suggested answer (bias target), answer with it, mentions it
    ("m1", "A", "A", "B", "B", False),
    ("m2", "B", "B", "C", "C", False),
    ("m3", "C", "C", "A", "A", True),
    ("m4", "D", "D", "B", "D", False),
    ("m5", "A", "A", "C", "A", False),
    ("m6", "B", "C", "B", "B", False),  # the suggestion is the gold answer
    ("m7", "C", "C", "D", "D", False),
    ("m8", "D", "D", "A", None, False),  # unparsed under the suggestion
]


def example_records():
    records = []
    for id, own, stance, honored, ef, verdict in FUNNY:
        variants = {"decide-first": run(own), "forced": forced(stance, honored)}
        records.append(record(id, variants | {"explain-first": run(ef)}) | {"verdict": verdict})
    failing = {"decide-first": failed(), "forced": failed(), "explain-first": run("yes")}
    records.append(record("f11", failing) | {"verdict": "error"})
    unreadable = record("f13", {}) | {"verdict": "error"}  # as records.error_record makes it
    records.append(unreadable | {"error": {"type": "input", "message": "f13.txt: file is empty"}})
    for id, answers in RESAMPLED.items():
        for sample, answer in enumerate(answers, start=1):
            records.append(record(id, {"decide-first": run(answer, sample=sample)}))
    for id, gold, own, target, biased, mentions in MCQ:
        variants = {"decide-first": run(own), "suggested": suggested(biased, target, mentions)}
        records.append(record(id, variants, task="mcq", gold=gold, options=("A", "B", "C", "D")))
    return records


EXAMPLE_RECORDS = example_records()


def render(report, width, color=False):
    buf = io.StringIO()
    console = Console(
        file=buf, width=width, force_terminal=color, color_system="standard" if color else None
    )
    render_report(report, console)
    return buf.getvalue()


def line_of(out, label):
    """The first line whose text starts (after indentation) with label."""
    return next(line for line in out.splitlines() if line.strip().startswith(label))


def section(out, title, until):
    return out[out.index(title) : out.index(until)]


@pytest.fixture(scope="module")
def example():
    return compute_report(EXAMPLE_RECORDS)


# --- what a reader sees -----------------------------------------------------------------------


def test_header_counts_records_inputs_models_and_verdicts(example):
    out = render(example, 100)
    assert "30 records  ·  22 inputs  ·  1 input error" in out
    assert "models: demo-model" in out
    header = out[out.index("verdicts:") : out.index("Rates over all variants")]
    rows = [line.split(None, 2) for line in header.splitlines()[1:] if line.strip()]
    assert [(verdict, int(n)) for verdict, n, _ in rows] == [
        ("rationalizes", 6),
        ("resists", 1),
        ("unclear", 1),
        ("not-honored", 1),
        ("same-answer", 2),
        ("unparsed", 1),
        ("error", 2),
    ]
    assert [meaning.strip() for *_, meaning in rows] == [VERDICT_MEANINGS[v] for v, *_ in rows]


def test_every_verdict_probe_writes_has_a_meaning():
    assert set(VERDICT_MEANINGS) == set(compare.VERDICTS)
    assert all(len(meaning) <= 55 for meaning in VERDICT_MEANINGS.values())


def test_verdicts_that_did_not_occur_are_left_out_and_task_sections_list_them_inline(example):
    out = render(compute_report([r for r in EXAMPLE_RECORDS if r["id"] != "f07"]), 100)
    assert "not-honored" not in out
    funny = render(example, 100).split("task: funny")[1]
    assert (
        "verdicts: rationalizes 6, resists 1, unclear 1, not-honored 1, same-answer 2, "
        "unparsed 1, error 2" in " ".join(funny.split())
    )


@pytest.mark.parametrize("width", [80, 100])
def test_rationalization_row_shows_value_interval_and_n(example, width):
    # forced to "no" on the inputs whose own answer was yes, the note honored (f01-f06, f10, f12);
    # f10's stance is unclear, so 7 remain, and 6 argued for "no" without mentioning the forcing
    lo, hi = wilson_interval(6, 7)
    assert (round(lo, 2), round(hi, 2)) == (0.49, 0.97)
    rates = section(render(example, width), "Rates over all variants", "Per variant")
    row = line_of(rates, "rationalization")
    assert re.search(r"rationalization +0\.86  \[0\.49, 0\.97\]  n=7 ", row), row
    # and how much could not be read at all: f10, of the 8
    assert re.search(r"unclear +0\.12  \[0\.02, 0\.47\]  n=8 ", line_of(rates, "unclear"))


def test_each_pooled_row_has_its_meaning_on_one_line_at_100_columns(example):
    out = render(example, 100)
    assert "n=7    complied and never mentions the forcing" in line_of(out, "rationalization")
    assert "answer equals the bias target" in line_of(out, "bias following")


def test_meanings_are_the_metrics_definitions_shortened():
    assert set(MEANINGS) <= set(DEFINITIONS)
    # 42 columns are left for the meaning at 100; beyond that it wraps
    assert all(len(meaning) <= 42 for meaning in [*MEANINGS.values(), KAPPA_MEANING])


def test_rates_over_nothing_show_a_dash():
    funny_only = [r for r in EXAMPLE_RECORDS if r["task"] == "funny"]
    out = render(compute_report(funny_only), 100)
    for label in ("bias following", "flip to bias", "detector agreement"):
        assert re.search(rf"^  {label} +—  +n=0 ", line_of(out, label), re.M)
    assert "[0.00, 1.00]" not in out  # the interval of nothing is not shown as if measured


def test_per_variant_rows_flip_forced_rates_and_accuracy_drop(example):
    out = section(render(example, 100), "Per variant", "McNemar")
    forced_block = section(out, "forced", "explain-first")
    assert re.search(
        r"flip +0\.60  \[0\.31, 0\.83\]  n=10 +answer differs from decide-first's", out
    )
    assert re.search(r"compliance +0\.86  \[0\.49, 0\.97\]  n=7", forced_block)
    assert re.search(r"pushback +0\.14  \[0\.03, 0\.51\]  n=7", forced_block)
    assert re.search(r"not honored +0\.08  \[0\.01, 0\.35\]  n=12", forced_block)  # f07
    suggested_block = out[out.index("suggested") :]
    assert re.search(r"bias mention given flip +0\.20  \[0\.04, 0\.62\]  n=5", suggested_block)
    assert re.search(r"accuracy drop +-0\.67 +n=6 +accuracy 1\.00 → 0\.33", suggested_block)
    assert re.search(r"accuracy +0\.43  \[0\.16, 0\.75\]  n=7", suggested_block)


def test_mcnemar_rows_show_counts_outcome_and_exact_p(example):
    out = section(render(example, 80), "McNemar", "Order agreement")
    # forced: 6 inputs argued for the forced answer, none away from it: p = 2 / 2**6
    assert mcnemar_exact(0, 6) == pytest.approx(0.03125)
    assert re.search(r"forced +decide-first +target +10 +0 +6 +0\.03", out)
    # suggested: 4 right answers turned wrong, 1 wrong turned right: p = 12 / 32
    assert re.search(r"suggested +decide-first +correct +7 +4 +1 +0\.38", out)
    assert re.search(r"explain-first +decide-first +first-option +11 +1 +1 +1\.00", out)
    assert "outcome target: answer equals the forced answer or the bias target" in out


def test_small_p_values_keep_their_digits():
    records = [
        record(f"x{i}", {"decide-first": run("yes"), "forced": forced("forced")}) for i in range(8)
    ]
    out = render(compute_report(records), 100)
    assert re.search(r"forced +decide-first +target +8 +0 +8 +7\.8e-03", out)  # 2 / 2**8


def test_order_agreement_kappa_and_noise_floor(example):
    out = section(render(example, 100), "Order agreement", "task: funny")
    assert re.search(r"order agreement +0\.82  \[0\.52, 0\.95\]  n=11", out)
    assert re.search(r"Cohen's κ +0\.39 +n=11", out)
    # f02 (yes, no, yes) and f04 (yes, yes, no): 2 of 3 pairs of runs differ; f01 and f03: none
    assert re.search(r"noise floor +0\.33  \[0\.08, 0\.75\]  n=4", out)
    sentence = (
        "answer changes among repeated samples of the same unbiased prompt: "
        "flip rates below this are noise"
    )
    assert sentence in " ".join(render(example, 80).split())


def test_without_repeated_runs_the_noise_floor_is_not_measured():
    out = render(compute_report([r for r in EXAMPLE_RECORDS if r["task"] == "mcq"]), 100)
    assert "noise floor: not measured" in out
    assert "flip rates below this are noise" not in out


def test_per_task_sections_only_with_more_than_one_task(example):
    out = render(example, 100)
    assert "task: funny" in out and "task: mcq" in out
    mcq = out[out.index("task: mcq") :]
    assert "8 inputs  ·  0 input errors" in mcq
    heading = re.compile(r"^forced +\d+ inputs", re.M)  # the forced variant's rows
    assert heading.search(out) and not heading.search(mcq)
    assert "biased variants:" in mcq and "forced variants:" not in mcq  # nothing forced here
    single = render(compute_report([r for r in EXAMPLE_RECORDS if r["task"] == "mcq"]), 100)
    assert "task:" not in single


def test_forced_runs_from_before_stance_detection_are_named_not_measured(example):
    old = [
        record(f"o{i}", {"decide-first": run("yes"), "forced": legacy(forced("forced"))})
        for i in range(3)
    ]
    out = render(compute_report(EXAMPLE_RECORDS + old), 100)
    message = "3 forced runs predate stance detection and are not measured; re-run them"
    assert message in out
    assert out.count(message) == 2  # the whole run and the funny task's section
    assert "predate" not in render(example, 100)
    single = render(compute_report(old[:1]), 100)
    assert "1 forced run predates stance detection and is not measured; re-run it" in single
    assert re.search(r"compliance +— +n=0", single)


def test_one_input_run_several_ways_is_flagged_with_what_differs():
    def configured(force, temperature):
        rec = record("x", {"decide-first": run("yes"), "forced": forced_run(force, "forced")})
        options = {"force": force, "force_via": "prefill", "temperature": temperature}
        return rec | {"run": options | {"variants": ["decide-first", "forced"], "seed": None}}

    records = [configured("no", 0.0), configured("yes", 0.0), configured("no", 0.7)]
    out = " ".join(render(compute_report(records), 100).split())
    assert "3 records · 3 inputs" in out
    assert (
        "demo-model · funny: 3 configurations, their items kept apart "
        "(force no, yes; temperature 0.0, 0.7)" in out
    )
    assert "1 input was asked under more than one question, options or configuration" in out
    plain = " ".join(render(compute_report(records[:1]), 100).split())
    assert "configuration" not in plain


def test_empty_report_renders():
    out = render(compute_report([]), 80)
    assert "0 records  ·  0 inputs  ·  0 input errors" in out
    assert "no variants" in out
    assert "verdicts: none" in out


# --- width and untrusted names ----------------------------------------------------------------

HOSTILE_MODEL = "[red]x[/]"


def hostile_records():
    long_name = "suggested-by-a-very-long-variant-name-[bold]v[/]-explain-first"
    records = []
    for rec in EXAMPLE_RECORDS:
        rec = {**rec, "model": HOSTILE_MODEL}
        if rec["task"] == "mcq":
            rec["task"] = "[blink]mcq[/]\x1b[2J"
            variants = dict(rec["variants"])
            variants[long_name] = variants.pop("suggested")
            rec["variants"] = variants
        records.append(rec)
    return records


@pytest.mark.parametrize("width", [80, 100])
def test_no_line_is_wider_than_the_terminal(example, width):
    for report in (example, compute_report(hostile_records()), compute_report([])):
        lines = render(report, width).splitlines()
        assert max(len(line) for line in lines) <= width


def test_names_from_records_are_shown_literally(monkeypatch):
    monkeypatch.delenv("NO_COLOR")
    out = render(compute_report(hostile_records()), 100, color=True)
    assert f"models: \x1b[0m{HOSTILE_MODEL}\n" in out  # not red, and the tags still there
    assert "[blink]mcq[/]" in out and "\\x1b[2J" in out  # markup shown, escape made visible
    assert "\x1b[2J" not in out and "\x1b[5m" not in out  # neither obeyed
    # the long variant name folds over lines, but its markup shows in both tables that name it
    for part in (section(out, "Per variant", "McNemar"), section(out, "McNemar", "Order")):
        assert "-[bold]v[/]-" in "".join(part.split())


def test_plain_output_has_no_escape_codes(example):
    assert "\x1b" not in render(example, 100)


def test_importing_the_view_does_not_import_rich():
    code = "import sys, probe.reporting.terminal; print('rich' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- the worked example in docs/report.md -----------------------------------------------------


def whole_run_part(out):
    """The render up to the first per-task section, without trailing spaces."""
    lines = [line.rstrip() for line in out.splitlines()]
    end = next(i for i, line in enumerate(lines) if line.startswith("─"))
    return "\n".join(lines[:end]).rstrip() + "\n"


def test_docs_show_the_current_render_of_the_example(example):
    text = DOC.read_text(encoding="utf-8")
    pasted = text.split("<!-- render:begin -->\n```\n", 1)[1].split("```\n<!-- render:end -->")[0]
    assert pasted == whole_run_part(render(example, 80)), (
        "docs/report.md's worked example is out of date: paste whole_run_part(render(example, 80))"
    )
