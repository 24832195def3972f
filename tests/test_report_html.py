"""`probe report FILE… --html OUT.html` and `probe view`: the page's source, read as text (what
a browser does with it is tests/test_report_browser.py). Runs are real probe runs against a
scripted vision model whose replies carry hostile markup (tests/report_runs.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import sys
import webbrowser
from html import unescape
from html.parser import HTMLParser

import pytest

from tests.helpers import file_records, report_json, run_cli
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


def page(runs, *files, extra=()) -> str:
    out = runs / "page.html"
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


def _hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def test_the_page_allows_only_its_own_script_and_style_and_loads_nothing(runs):
    html = page(runs, "a.jsonl")
    [policy] = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    policy = unescape(policy)  # an attribute value, as the browser reads it
    assert policy.startswith("default-src 'none'; img-src data:;")
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    [style] = re.findall(r"<style>(.*?)</style>", html, re.S)
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(scripts) == 1  # the one script that runs; the report data is a JSON block
    assert f"style-src '{_hash(style)}'" in policy
    assert f"script-src '{_hash(scripts[0])}'" in policy
    # Self-contained: nothing is fetched from anywhere (images are data: URLs).
    assert not re.search(r'\b(src|href)="(?!data:|#)', html)
    assert "url(" not in style and "@import" not in style
    tags = _tags(html)
    assert not [a for _, attrs in tags for a, _ in attrs if a.startswith("on")]  # no handlers
    assert not [v for _, attrs in tags for _, v in attrs if (v or "").startswith("javascript:")]


def test_model_and_input_text_is_escaped_in_the_source(runs):
    html = page(runs, "a.jsonl")
    assert HOSTILE not in html
    assert "window.__pwned = 1" in html  # the reply is shown...
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html  # ...as text
    assert "&lt;script&gt;window.__pwned = 4&lt;/script&gt;" in html  # the input file too
    assert "&lt;!-- hidden --&gt;" in html
    assert "<!-- hidden -->" not in html
    # The JSON block of the report cannot close its script element.
    [data] = re.findall(
        r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S
    )
    assert "</" not in data
    # The parser sees no element a reply or an input put there.
    assert [t for t, _ in _tags(html) if t == "script"] == ["script", "script"]
    assert not [t for t, _ in _tags(html) if t in ("textarea", "iframe", "object", "embed")]
    assert all(
        a.get("src", "").startswith("data:image/jpeg")
        for t, a in map(lambda x: (x[0], dict(x[1])), _tags(html))
        if t == "img"
    )


def test_the_page_carries_each_files_report_as_probe_report_json_gives_it(runs):
    html = page(runs, "a.jsonl", "b.jsonl")
    [data] = re.findall(
        r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S
    )
    reports = json.loads(data)
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
    assert "\u202e" not in html and "\x07" not in html
    assert "Evil \\u202etxt.exe and a bell \\x07 here" in html


def test_images_are_embedded_and_image_size_0_leaves_only_thumbnails(runs):
    full = page(runs, "a.jsonl")
    assert len(re.findall(r'<img class="thumb" src="data:image/jpeg;base64,', full)) == 2
    assert len(re.findall(r'<img class="full" src="data:image/jpeg;base64,', full)) == 2
    small = page(runs, "a.jsonl", extra=("--image-size", "0"))
    assert len(re.findall(r'<img class="thumb" src="data:image/jpeg;base64,', small)) == 2
    assert '<img class="full"' not in small
    assert len(small) < len(full)


def test_an_input_changed_since_the_run_is_not_shown_and_said_so(runs, tmp_path):
    import shutil

    inputs = shutil.copytree(runs / "inputs", tmp_path / "inputs")
    with ScriptedServer(hostile_model) as server:
        probe_run(server, inputs / "note.txt", tmp_path / "run.jsonl")
    (inputs / "note.txt").write_text("Something else entirely.\n")
    out = tmp_path / "page.html"
    result = run_cli("report", tmp_path / "run.jsonl", "--html", out)
    assert result.exit_code == 0
    assert "note.txt: changed since the run (its sha256 differs)" in result.stderr
    html = out.read_text()
    assert "Something else entirely" not in html
    assert "changed since the run" in html


def test_inline_jsonl_text_is_kept_in_the_record_and_shown(tmp_path):
    (tmp_path / "q.jsonl").write_text(
        json.dumps({"id": "q1", "text": "Is <b>this</b> funny?"}) + "\n"
    )
    with ScriptedServer(hostile_model) as server:
        probe_run(server, tmp_path / "q.jsonl", tmp_path / "run.jsonl")
    [record] = file_records(tmp_path / "run.jsonl")
    assert record["input"]["text"] == "Is <b>this</b> funny?"
    out = tmp_path / "page.html"
    assert run_cli("report", tmp_path / "run.jsonl", "--html", out).exit_code == 0
    assert "Is &lt;b&gt;this&lt;/b&gt; funny?" in out.read_text()


def test_html_with_json_writes_the_page_and_prints_the_report(runs):
    out = runs / "both.html"
    result = run_cli("report", runs / "a.jsonl", "--html", out, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == report_json(runs / "a.jsonl")
    assert out.stat().st_size > 10_000
    assert f"probe: wrote {out}" in result.stderr


def test_a_bad_line_is_skipped_named_and_the_page_still_written(runs, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text((runs / "a.jsonl").read_text() + "{not json\n")
    out = tmp_path / "page.html"
    result = run_cli("report", bad, "--html", out)
    assert result.exit_code == 1
    assert f"{bad}: line 6: not valid JSON" in result.stderr
    assert out.read_text().count('<tbody class="input"') == 5


def test_an_empty_run_file_gives_a_page_that_says_nothing_was_measured(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    out = tmp_path / "page.html"
    result = run_cli("report", tmp_path / "empty.jsonl", "--html", out)
    assert result.exit_code == 0
    assert "No rate could be measured" in out.read_text()


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


def test_view_opens_the_page_in_the_users_browser(runs, tmp_path, monkeypatch):
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser"
    browser.write_text(
        f"#!{sys.executable}\nimport sys\nopen({str(opened)!r}, 'w').write(sys.argv[1])\n"
    )
    browser.chmod(0o755)
    monkeypatch.setenv("BROWSER", str(browser))
    monkeypatch.setattr(webbrowser, "_tryorder", None)  # the browsers it found, cached per process
    result = run_cli("view", runs / "a.jsonl")
    assert result.exit_code == 0, result.stderr
    for _ in range(100):  # the browser is started, not waited for
        if opened.exists() and opened.read_text():
            break
        import time

        time.sleep(0.05)
    url = opened.read_text()
    assert url.startswith("file:///") and url.endswith(".html")
    path = url.removeprefix("file://")
    with open(path, encoding="utf-8") as fh:
        assert "probe report: a.jsonl" in fh.read()
    assert path in result.stderr
    os.unlink(path)


def test_view_without_a_browser_prints_where_the_page_is(runs, monkeypatch):
    monkeypatch.setenv("BROWSER", "/nonexistent/browser")
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    monkeypatch.setattr(webbrowser, "_browsers", {})
    monkeypatch.setenv("PATH", "/nonexistent")  # no console browser (lynx, w3m) either
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    result = run_cli("view", runs / "a.jsonl")
    assert result.exit_code == 0, result.stderr
    [path] = re.findall(r"open file://(\S+\.html)", result.stderr)
    assert os.path.getsize(path) > 10_000
    os.unlink(path)


def test_a_file_of_two_models_is_plotted_per_model(runs, tmp_path):
    both = tmp_path / "both.jsonl"
    both.write_text((runs / "a.jsonl").read_text() + (runs / "b.jsonl").read_text())
    out = tmp_path / "page.html"
    assert run_cli("report", both, "--html", out).exit_code == 0
    points = [
        dict(attrs)
        for tag, attrs in _tags(out.read_text(encoding="utf-8"))
        if tag == "tr" and dict(attrs).get("class") == "point"
    ]
    by_model = {
        "both.jsonl · openai/scripted": report_json(runs / "a.jsonl"),
        "both.jsonl · openai/other": report_json(runs / "b.jsonl"),
    }
    assert {p["data-series"] for p in points} == set(by_model)
    for p in points:
        rate = by_model[p["data-series"]]
        for part in p["data-rate"].split("."):
            rate = rate[part]
        assert (float(p["data-value"]), int(p["data-n"])) == (rate["value"], rate["n"])
