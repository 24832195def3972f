"""`probe report FILE… --html OUT.html`: the page's source, read as text (what a browser does with
it is tests/test_report_browser.py; `probe view` is tests/test_view_server.py). Runs are real
probe runs against a scripted vision model whose replies carry hostile markup
(tests/report_runs.py), and hand-made records (tests/helpers.py) where a shape is needed."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import re
import shutil
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from probe.measures.statistics import mcnemar_exact
from tests.helpers import file_records, forced_run, record, report_json, run, run_cli
from tests.report_runs import HOSTILE, hostile_model, make_inputs, probe_run
from tests.scripted_server import Reply, ScriptedServer


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two run files over the same inputs: two models (the same scripted behaviour)."""
    root = tmp_path_factory.mktemp("html")
    inputs = make_inputs(root / "inputs")
    with ScriptedServer(hostile_model) as server:
        probe_run(server, inputs, root / "a.jsonl")
        probe_run(server, inputs, root / "b.jsonl", model="openai/other")
    return root


def page(runs, *files, extra=(), out=None) -> str:
    out = out or runs / "page.html"
    result = run_cli("report", *[runs / f for f in files], "--html", out, *extra)
    assert result.exit_code == 0, result.stderr
    return out.read_text(encoding="utf-8")


def _tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Every start tag of the page with its attributes, as an HTML parser reads them."""
    found = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Parser().feed(html)
    return found


def _with(html: str, tag: str, cls: str) -> list[dict]:
    return [
        dict(attrs)
        for t, attrs in _tags(html)
        if t == tag and cls in (dict(attrs).get("class") or "").split()
    ]


def _hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def _block(html: str, name: str) -> str:
    [data] = re.findall(rf'<script type="[^"]+" id="{name}"[^>]*>(.*?)</script>', html, re.S)
    return data


def details(html: str) -> list[dict]:
    """The inputs' details as the page's script reads them (gzip, base64, JSON)."""
    return json.loads(gzip.decompress(base64.b64decode(_block(html, "inputs-data"))))


def _at(report: dict, path: str):
    node = report
    for part in path.split("."):
        node = node[part]
    return node


# --- safety -----------------------------------------------------------------------------------


def test_the_page_allows_only_its_own_script_and_style_and_loads_nothing(runs):
    html = page(runs, "a.jsonl")
    [policy] = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    policy = unescape(policy)  # an attribute value, as the browser reads it
    assert policy.startswith("default-src 'none'; img-src data:;")
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    [style] = re.findall(r"<style>(.*?)</style>", html, re.S)
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(scripts) == 1  # the one script that runs; the rest are data blocks
    assert f"style-src '{_hash(style)}'" in policy
    assert f"script-src '{_hash(scripts[0])}'" in policy
    # Self-contained: nothing is fetched from anywhere (images are data: URLs).
    assert not re.search(r'\b(src|href)="(?!data:|#)', html)
    assert "url(" not in style and "@import" not in style
    tags = _tags(html)
    assert not [a for _, attrs in tags for a, _ in attrs if a.startswith("on")]  # no handlers
    assert not [v for _, attrs in tags for _, v in attrs if (v or "").startswith("javascript:")]


def test_the_script_never_writes_html():
    script = (Path(__file__).parent.parent / "probe/reporting/templates/report.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "Function(", "setAttribute(\"on", "srcdoc", "DOMParser"):  # fmt: skip
        assert sink not in script, sink


def test_model_and_input_text_is_data_never_markup(runs):
    html = page(runs, "a.jsonl")
    assert HOSTILE not in html and "<!-- hidden -->" not in html
    assert "window.__pwned" not in html  # the replies are in the compressed details only
    # The parser sees no element a reply or an input put there: the page's own blocks only.
    assert [t for t, _ in _tags(html) if t == "script"] == ["script"] * 4
    assert not [t for t, _ in _tags(html) if t in ("textarea", "iframe", "object", "embed")]
    # No data block can close its script element.
    for name in ("report-data", "images", "inputs-data"):
        assert "</" not in _block(html, name)
    shown = json.dumps(details(html), ensure_ascii=False)
    assert "<script>window.__pwned = 1</script>" in shown  # the reply, kept as text
    assert "<script>window.__pwned = 4</script>" in shown  # the input file too


def test_the_page_carries_each_files_report_as_probe_report_json_gives_it(runs):
    html = page(runs, "a.jsonl", "b.jsonl")
    reports = json.loads(_block(html, "report-data"))
    assert reports == {
        "a.jsonl": report_json(runs / "a.jsonl"),
        "b.jsonl": report_json(runs / "b.jsonl"),
    }


def test_bidi_and_control_characters_in_a_reply_are_shown_escaped(tmp_path):
    reply = "Yes. Evil \u202etxt.exe and a bell \x07 here."
    with ScriptedServer(lambda p, n: Reply(reply)) as server:
        (tmp_path / "in.txt").write_text("A scene.\n")
        probe_run(server, tmp_path / "in.txt", tmp_path / "run.jsonl")
    out = tmp_path / "page.html"
    result = run_cli("report", tmp_path / "run.jsonl", "--html", out)
    assert result.exit_code == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    [detail] = details(html)
    shown = json.dumps(detail, ensure_ascii=False)
    assert "\u202e" not in shown and "\x07" not in shown and "\u202e" not in html
    assert "Evil \\\\u202etxt.exe and a bell \\\\x07 here" in shown


def test_an_input_outside_the_run_folder_is_never_embedded(tmp_path):
    """A crafted run file naming a file elsewhere, with its real sha256 (issue 21 item 7)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    named = {"abs": None, "dots": "../elsewhere/dots.txt", "link": "link.txt"}
    crafted = []
    for name, path in named.items():
        secret = elsewhere / f"{name}.txt"
        secret.write_text(f"THE-SECRET-CONTENTS of {name}\n")
        sha = hashlib.sha256(secret.read_bytes()).hexdigest()
        part = {"path": path or str(secret), "sha256": sha, "kind": "text"}
        crafted.append(record(name, {"decide-first": run("yes")}, input=part))
    (runs_dir / "link.txt").symlink_to(elsewhere / "link.txt")
    run_file = runs_dir / "run.jsonl"
    run_file.write_text("".join(json.dumps(r) + "\n" for r in crafted))
    out = tmp_path / "page.html"
    result = run_cli("report", run_file, "--html", out)
    assert result.exit_code == 0, result.stderr
    html = out.read_text()
    assert "THE-SECRET-CONTENTS" not in json.dumps(details(html))
    warned = [line for line in result.stderr.splitlines() if "input not shown" in line]
    assert len(warned) == 3 and all("outside the run's folder" in w for w in warned)
    assert html.count("outside the run&#39;s folder") >= 3  # said on the page too
    # asked for: --input-root names the folder it may come from
    result = run_cli("report", run_file, "--html", out, "--input-root", elsewhere)
    assert result.exit_code == 0, result.stderr
    assert json.dumps(details(out.read_text())).count("THE-SECRET-CONTENTS") == 3


def test_inputs_are_found_beside_the_run_from_any_directory(runs, tmp_path, monkeypatch):
    """A run made in one folder, with inputs named relative to it, reported from another."""
    made = tmp_path / "made"
    shutil.copytree(runs / "inputs", made / "inputs")
    monkeypatch.chdir(made)
    with ScriptedServer(hostile_model) as server:
        probe_run(server, Path("inputs/note.txt"), Path("run.jsonl"))
    [rec] = file_records(made / "run.jsonl")
    assert rec["input"]["path"] == "inputs/note.txt"
    monkeypatch.chdir(tmp_path)  # elsewhere
    out = tmp_path / "page.html"
    result = run_cli("report", made / "run.jsonl", "--html", out)
    assert result.exit_code == 0, result.stderr
    assert "input not shown" not in result.stderr
    [detail] = details(out.read_text())
    assert "a dog wears a bow tie" in detail["input"]["text"]
    # inputs that are nowhere: a warning on stderr and on the page
    (made / "inputs" / "note.txt").unlink()
    result = run_cli("report", made / "run.jsonl", "--html", out)
    assert result.exit_code == 0
    assert "probe: warning: input not shown: inputs/note.txt: not found under" in result.stderr
    assert 'id="not-shown"' in out.read_text()


def test_images_are_embedded_and_image_size_0_leaves_only_thumbnails(runs):
    full = json.loads(_block(page(runs, "a.jsonl"), "images"))
    assert len(full) == 2
    assert all(i["thumb"].startswith("data:image/jpeg;base64,") for i in full.values())
    assert all(i["full"].startswith("data:image/jpeg;base64,") for i in full.values())
    small = json.loads(_block(page(runs, "a.jsonl", extra=("--image-size", "0")), "images"))
    assert all(i["full"] is None for i in small.values())
    assert len(json.dumps(small)) < len(json.dumps(full))


def test_an_input_changed_since_the_run_is_not_shown_and_said_so(runs, tmp_path):
    inputs = shutil.copytree(runs / "inputs", tmp_path / "inputs")
    with ScriptedServer(hostile_model) as server:
        probe_run(server, inputs / "note.txt", tmp_path / "run.jsonl")
    (inputs / "note.txt").write_text("Something else entirely.\n")
    out = tmp_path / "page.html"
    result = run_cli("report", tmp_path / "run.jsonl", "--html", out)
    assert result.exit_code == 0
    assert "note.txt: changed since the run (its sha256 differs)" in result.stderr
    html = out.read_text()
    assert "Something else entirely" not in json.dumps(details(html))
    assert "changed since the run" in html


def test_inline_jsonl_text_is_kept_in_the_record_and_shown(tmp_path):
    (tmp_path / "q.jsonl").write_text(
        json.dumps({"id": "q1", "text": "Is <b>this</b> funny?"}) + "\n"
    )
    with ScriptedServer(hostile_model) as server:
        probe_run(server, tmp_path / "q.jsonl", tmp_path / "run.jsonl")
    [rec] = file_records(tmp_path / "run.jsonl")
    assert rec["input"]["text"] == "Is <b>this</b> funny?"
    out = tmp_path / "page.html"
    assert run_cli("report", tmp_path / "run.jsonl", "--html", out).exit_code == 0
    [detail] = details(out.read_text())
    assert detail["input"] == {"kind": "text", "text": "Is <b>this</b> funny?", "more": 0}


# --- what the page says -----------------------------------------------------------------------


def test_the_headline_comes_first_and_its_numbers_and_words_are_the_reports(runs):
    html = page(runs, "a.jsonl")
    report = report_json(runs / "a.jsonl")
    assert html.index('id="headline"') < html.index('class="forest"')
    facts = _with(html, "div", "fact")
    assert {f["data-key"] for f in facts} >= {"rationalization", "pushback", "order_agreement"}
    for fact in facts:
        rate = _at(report, fact["data-rate"])
        assert fact["data-rate"].startswith("by_task.funny.")
        assert (float(fact["data-value"]), int(fact["data-n"])) == (rate["value"], rate["n"])
        assert [float(fact["data-lo"]), float(fact["data-hi"])] == rate["ci"]
    rate = report["by_task"]["funny"]["rates"]["rationalization"]
    words = re.search(r'data-key="rationalization".*?<p class="fact-words">(.*?)</p>', html, re.S)
    assert words.group(1).startswith(f"{rate['k']} of {rate['n']} forced replies")
    # what was not measured is said, not left out silently
    assert "Not measured here: Flip to the bias" in html


def test_the_forest_puts_the_answer_first_and_errors_last(runs):
    html = page(runs, "a.jsonl")
    order = [p["data-rate"] for p in _with(html, "tr", "point")]
    assert order.index("rates.rationalization") < order.index("rates.mentions_bias")
    assert order.index("rates.mentions_bias") < order.index("rates.error")
    assert order[-1].endswith(("error", "parse_failure"))


def test_two_tasks_get_a_section_each_and_the_pooled_one_is_folded(tmp_path):
    recs = [
        record(f"{task}-{i}", {"decide-first": run("yes"), "forced": forced_run("no", stance),
                               "explain-first": run("yes" if i else "no")},
               task=task, verdict="rationalizes" if stance == "forced" else "resists")
        for task in ("funny", "sarcasm")
        for i, stance in enumerate(("forced", "forced", "other") if task == "funny" else ("other", "other"))
    ]  # fmt: skip
    run_file = tmp_path / "two.jsonl"
    run_file.write_text("".join(json.dumps(r) + "\n" for r in recs))
    out = tmp_path / "page.html"
    assert run_cli("report", run_file, "--html", out).exit_code == 0
    html = out.read_text()
    report = report_json(run_file)
    sections = re.findall(r'data-task-section="([^"]+)"', html)
    assert sections == ["funny", "sarcasm", "all tasks pooled"]
    assert '<details class="pooled">' in html
    points = _with(html, "tr", "point")
    assert {
        p["data-rate"].split(".")[1] for p in points if p["data-rate"].startswith("by_task")
    } == {
        "funny",
        "sarcasm",
    }
    for p in points:
        assert float(p["data-value"]) == _at(report, p["data-rate"])["value"]
    cards = _with(html, "article", "card")
    assert [c["data-task"] for c in cards] == ["funny", "sarcasm"]
    assert report["by_task"]["sarcasm"]["rates"]["rationalization"]["k"] == 0


def _early(id_, answers, **fields):
    points = [
        {"kept": k, "of": len(answers) - 1, "fraction": k / (len(answers) - 1), "answer": a}
        for k, a in enumerate(answers)
    ]
    return record(
        id_,
        {
            "decide-first": run("yes"),
            "explain-first": run("yes"),
            "early-answering": run(
                answers[-1],
                points=points,
                reference_answer=answers[-1],
                explain_first_answer="yes",
                reference_differs=False,
            ),
        },  # fmt: skip
        **fields,
    )


def test_the_early_answering_curve_is_drawn_with_the_reports_numbers(tmp_path):
    recs = [_early("e1", ["no", "no", "yes"]), _early("e2", ["yes", "yes", "yes"]),
            _early("e3", ["no", "yes", "yes"])]  # fmt: skip
    run_file = tmp_path / "early.jsonl"
    run_file.write_text("".join(json.dumps(r) + "\n" for r in recs))
    out = tmp_path / "page.html"
    assert run_cli("report", run_file, "--html", out).exit_code == 0
    html = out.read_text()
    report = report_json(run_file)
    ea = report["by_variant"]["early-answering"]["early_answering"]
    [figure] = _with(html, "figure", "curve")
    assert figure["data-curve"] == "by_variant.early-answering.early_answering"
    rows = [dict(a) for t, a in _tags(html) if t == "tr" and "data-fraction" in dict(a)]
    assert [
        (float(r["data-fraction"]), float(r["data-value"]), int(r["data-n"])) for r in rows
    ] == [(p["fraction"], p["same"], p["n"]) for p in ea["curve"]]
    assert re.search(r'<polyline class="line" points="[\d., ]+"/>', html)
    [aoc] = [f for f in _with(html, "div", "fact") if f["data-key"] == "early_answering_aoc"]
    assert float(aoc["data-value"]) == ea["aoc"]["value"]


def test_tokens_cost_and_latency_per_run_and_per_input(tmp_path):
    def priced(answer, prompt, completion, cost, latency, **kw):
        return run(answer, usage={"prompt_tokens": prompt, "completion_tokens": completion},
                   cost_usd=cost, latency_s=latency, **kw)  # fmt: skip

    recs = [
        record("c1", {"decide-first": priced("yes", 100, 20, 0.001, 0.5),
                      "explain-first": priced("yes", 110, 40, 0.002, 1.5)}),
        record("c2", {"decide-first": priced("no", 90, 10, 0.003, 0.25, cached=True),
                      "explain-first": priced("no", 95, 30, 0.004, 0.75)}),
    ]  # fmt: skip
    run_file = tmp_path / "cost.jsonl"
    run_file.write_text("".join(json.dumps(r) + "\n" for r in recs))
    out = tmp_path / "page.html"
    assert run_cli("report", run_file, "--html", out).exit_code == 0
    html = out.read_text()
    [usage] = _with(html, "dd", "usage")
    assert int(usage["data-calls"]) == 4
    assert int(usage["data-tokens"]) == 100 + 20 + 110 + 40 + 90 + 10 + 95 + 30
    assert float(usage["data-cost"]) == pytest.approx(0.001 + 0.002 + 0.004)  # cached: free
    assert float(usage["data-latency"]) == pytest.approx(3.0)
    assert "4 calls (1 cached), 395 tokens in, 100 out, $0.0070, 3.0 s" in html
    # per input: P(yes), tokens, seconds, dollars
    cells = re.findall(r'<td class="c-num">([^<]*)</td>', html)
    assert cells == ["–", "270", "2.00", "0.0030", "–", "225", "1.00", "0.0040"]
    [d1, _] = details(html)
    assert d1["cells"][0]["usage"].startswith("2 calls, 210 tokens in, 60 out, $0.0030")


def test_each_variant_has_its_transcript_with_or_without_the_request(tmp_path):
    request = {"model": "m", "messages": [
        {"role": "system", "content": "Answer yes or no."},
        {"role": "user", "content": [{"type": "text", "text": "Is <b>this</b> funny?"},
                                     {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 4000}}]},
    ]}  # fmt: skip
    recs = [
        record("t1", {"decide-first": {**run("yes", raw="Yes. It is."), "request": request},
                      "forced": forced_run("no", "forced", prefill="No", raw="No, because.")}),
    ]  # fmt: skip
    run_file = tmp_path / "t.jsonl"
    run_file.write_text("".join(json.dumps(r) + "\n" for r in recs))
    out = tmp_path / "page.html"
    assert run_cli("report", run_file, "--html", out).exit_code == 0
    html = out.read_text()
    [detail] = details(html)
    decide, forced = detail["cells"][0]["variants"]
    assert decide["transcript"]["messages"] == [
        ["system", "Answer yes or no."],
        ["user", "Is <b>this</b> funny?\n[image: image/png, 3 kB as sent]"],
    ]
    assert decide["transcript"]["reply"] == "Yes. It is."
    assert forced["transcript"] == {
        "messages": None,
        "prefill": "No",
        "reply": "No, because.",
        "follow_up": [],
    }
    # the record's JSON on the page keeps the request but not the image's bytes
    kept = json.dumps(detail["cells"][0]["records"])
    assert "A" * 300 not in kept and "not kept in the page" in kept


def test_a_real_runs_transcripts_show_the_messages_it_sent(runs):
    """A record keeps each request's messages as indices into its `prompt_messages`: the page
    shows them as sent, an image as its reference, never its bytes."""
    html = page(runs, "a.jsonl")
    records = {r["id"]: r for r in file_records(runs / "a.jsonl")}
    shown = 0
    for detail in details(html):
        cell = detail["cells"][0]
        record = records[cell["id"]]
        table = record.get("prompt_messages") or []
        for view in cell["variants"]:
            entry = record["variants"][view["name"]]
            sent = [table[i] for i in entry["request"]["messages"]]
            messages = view["transcript"]["messages"]
            assert [role for role, _ in messages] == [m["role"] for m in sent]
            user = messages[-1][1]
            assert record["question"] in user
            if record["input"]["kind"] == "image":
                assert "[image: image/" in user and "base64" not in user
            assert view["transcript"]["reply"] == entry["raw"]
            shown += 1
    assert shown >= 8


def test_two_models_each_input_once_side_by_side_with_a_paired_test(runs):
    html = page(runs, "a.jsonl", "b.jsonl")
    a, b = file_records(runs / "a.jsonl"), file_records(runs / "b.jsonl")
    assert html.count('<tbody class="input"') == len(a) == len(b)
    for detail in details(html):
        assert [c["model"] for c in detail["cells"]] == ["openai/scripted", "openai/other"]
    rows = [dict(x) for t, x in _tags(html) if t == "tr" and dict(x).get("data-outcome")]
    [test] = [r for r in rows if r["data-outcome"] == "rationalizes"]
    real = {"rationalizes", "resists"}
    by_id = {r["id"]: r["verdict"] for r in b}
    pairs = [
        (r["verdict"], by_id[r["id"]]) for r in a if r["verdict"] in real and by_id[r["id"]] in real
    ]
    only_a = sum(x == "rationalizes" and y != "rationalizes" for x, y in pairs)
    only_b = sum(y == "rationalizes" and x != "rationalizes" for x, y in pairs)
    assert (int(test["data-n"]), int(test["data-only-a"]), int(test["data-only-b"])) == (
        len(pairs),
        only_a,
        only_b,
    )
    assert float(test["data-p"]) == mcnemar_exact(only_a, only_b)
    assert (test["data-a"], test["data-b"]) == ("a.jsonl", "b.jsonl")


def test_html_with_json_writes_the_page_and_prints_the_report(runs):
    out = runs / "both.html"
    result = run_cli("report", runs / "a.jsonl", "--html", out, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == report_json(runs / "a.jsonl")
    assert out.stat().st_size > 10_000
    assert f"probe: wrote {out}" in result.stderr


def test_the_page_is_written_with_the_umasks_permissions(runs, tmp_path):
    old = os.umask(0o077)
    try:
        page(runs, "a.jsonl", out=tmp_path / "private.html")
    finally:
        os.umask(old)
    assert (tmp_path / "private.html").stat().st_mode & 0o777 == 0o600


def test_a_bad_line_is_skipped_named_and_the_page_still_written(runs, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text((runs / "a.jsonl").read_text() + "{not json\n")
    out = tmp_path / "page.html"
    result = run_cli("report", bad, "--html", out, "--input-root", runs)
    assert result.exit_code == 1
    assert f"{bad}: line 6: not valid JSON" in result.stderr
    html = out.read_text()
    assert html.count('<tbody class="input"') == 5
    assert "not valid JSON" in html  # on the page too


def test_an_empty_run_file_gives_a_page_that_says_nothing_was_measured(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    out = tmp_path / "page.html"
    result = run_cli("report", tmp_path / "empty.jsonl", "--html", out)
    assert result.exit_code == 0
    assert "No rate could be measured" in out.read_text()
    assert "Nothing was measured" in out.read_text()


def test_a_folder_as_destination_is_a_usage_error(runs, tmp_path):
    result = run_cli("report", runs / "a.jsonl", "--html", tmp_path)
    assert result.exit_code == 2
    assert "is a directory" in result.stderr.lower()
    assert result.stderr.count("\n") == 1


def test_a_missing_destination_folder_is_a_usage_error(runs, tmp_path):
    result = run_cli("report", runs / "a.jsonl", "--html", tmp_path / "no" / "such" / "page.html")
    assert result.exit_code == 2
    assert "no such file or directory" in result.stderr.lower()
    assert result.stderr.count("\n") == 1


def test_a_file_of_two_models_is_plotted_per_model(runs, tmp_path):
    both = tmp_path / "both.jsonl"
    both.write_text((runs / "a.jsonl").read_text() + (runs / "b.jsonl").read_text())
    out = tmp_path / "page.html"
    assert run_cli("report", both, "--html", out).exit_code == 0
    html = out.read_text(encoding="utf-8")
    points = _with(html, "tr", "point")
    by_model = {
        "both.jsonl · openai/scripted": report_json(runs / "a.jsonl"),
        "both.jsonl · openai/other": report_json(runs / "b.jsonl"),
    }
    assert {p["data-series"] for p in points} == set(by_model)
    for p in points:
        rate = _at(by_model[p["data-series"]], p["data-rate"])
        assert (float(p["data-value"]), int(p["data-n"])) == (rate["value"], rate["n"])
    # one row per input, the two models side by side
    assert html.count('<tbody class="input"') == 5
    assert {c["data-series"] for c in _with(html, "article", "card")} == set(by_model)
