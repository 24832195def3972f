"""The HTML report in a real browser: headless Chromium (Debian's `chromium`, which .ci/run installs
when it is absent) driven by Playwright for Python through `executable_path`. Playwright rather than
the bare DevTools protocol: it waits for the page, clicks and types as a user does, and reports
console messages and page errors, in a few lines each; it never downloads a browser of its own here.

The pages are made by real probe runs: against a scripted vision model whose replies carry hostile
markup (tests/report_runs.py), and once against the embedded model.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.helpers import file_records, report_json, run_cli
from tests.report_runs import hostile_model, make_inputs, probe_run
from tests.scripted_server import ScriptedServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As the machine notes say: no sandbox as root, and no background connections to a closed network.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser(runs):
    """Started after the runs: Playwright's sync API keeps an event loop running in this thread,
    in which probe (which calls asyncio.run) cannot run in-process."""
    if not os.path.exists(CHROMIUM):
        message = "needs Debian's chromium (apt-get install chromium); .ci/run installs it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    inputs = make_inputs(root / "inputs")
    with ScriptedServer(hostile_model) as server:
        probe_run(server, inputs, root / "a.jsonl")
        probe_run(server, inputs, root / "b.jsonl", model="openai/other")
    out = root / "page.html"
    result = run_cli("report", root / "a.jsonl", root / "b.jsonl", "--html", out)
    assert result.exit_code == 0, result.stderr
    return root


class Opened:
    """A page opened from its file:// URL, with every console message and page error kept, once
    its script has decoded the inputs' details (body[data-ready])."""

    def __init__(self, browser, path, **context):
        self.context = browser.new_context(**context)
        self.page = self.context.new_page()
        self.messages: list[tuple[str, str]] = []
        self.page.on("console", lambda m: self.messages.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.messages.append(("pageerror", str(e))))
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_selector("body[data-ready=yes]", state="attached", timeout=30_000)

    def errors(self) -> list[tuple[str, str]]:
        return [m for m in self.messages if m[0] in ("error", "pageerror", "warning")]

    def visible_ids(self) -> list[str]:
        return self.page.eval_on_selector_all(
            "tbody.input", "els => els.filter(e => !e.hidden).map(e => e.dataset.id)"
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.context.close()


def _at(report: dict, path: str):
    node = report
    for part in path.split("."):
        node = node[part]
    return node


def test_the_page_opens_with_no_console_errors_and_shows_both_runs(browser, runs):
    with Opened(browser, runs / "page.html") as opened:
        page = opened.page
        assert page.title() == "probe report: a.jsonl, b.jsonl"
        assert page.locator("article.run h3").all_inner_texts() == ["a.jsonl", "b.jsonl"]
        assert page.locator("tbody.input").count() == 5  # each input once, both models in it
        # open every input: nothing in any of them raises or is refused by the CSP
        for row in page.locator("tr.row").all():
            row.click()
        assert page.locator("tr.detail:not([hidden])").count() == 5
        assert page.locator("tr.detail .detail-body .input-view").count() == 5
        assert opened.errors() == []


def test_overview_numbers_are_probe_report_jsons(browser, runs):
    reports = {name: report_json(runs / name) for name in ("a.jsonl", "b.jsonl")}
    with Opened(browser, runs / "page.html") as opened:
        page = opened.page
        points = page.eval_on_selector_all(
            "tr.point", "els => els.map(e => Object.assign({}, e.dataset))"
        )
        facts = page.eval_on_selector_all(
            "article.card",
            "els => els.flatMap(a => [...a.querySelectorAll('.fact')].map(f => Object.assign({series: a.dataset.series}, f.dataset)))",
        )
        verdicts = page.eval_on_selector_all(
            "article.run",
            """els => els.map(a => [a.dataset.run, Object.fromEntries(
                 [...a.querySelectorAll('tr[data-verdict]')].map(r => [r.dataset.verdict, +r.dataset.count]))])""",
        )
        tests = page.eval_on_selector_all(
            "table.mcnemar tr[data-variant]",
            "els => els.map(e => [e.closest('table').dataset.series, Object.assign({}, e.dataset)])",
        )
        shown = page.eval_on_selector_all(".fact-value", "els => els.map(e => e.textContent)")
    assert dict(verdicts) == {name: rep["verdicts"] for name, rep in reports.items()}
    measured = {
        (name, path)
        for name, rep in reports.items()
        for path in ("rates.compliance", "by_variant.forced.rates.flip", "rates.error")
    }
    seen = set()
    for point in points:
        rate = _at(reports[point["series"]], point["rate"])
        assert float(point["value"]) == rate["value"], point
        assert [float(point["lo"]), float(point["hi"])] == rate["ci"], point
        assert int(point["n"]) == rate["n"], point
        if "k" in point:
            assert float(point["k"]) == rate["k"], point
        seen.add((point["series"], point["rate"]))
    assert measured <= seen
    # every rate measured in the report is in the plot, and nothing else
    from probe.reporting import forest

    expected = {
        (name, path)
        for name, rep in reports.items()
        for path, rate in forest.rates(rep)
        if rate["n"] and rate["value"] is not None
    }
    assert seen == expected
    assert tests and all(
        float(t["p"]) == reports[series]["mcnemar"][t["variant"]]["p_value"] for series, t in tests
    )
    # the headline: each number is the report's, and shown with its interval
    assert {f["key"] for f in facts} >= {"rationalization", "pushback", "order_agreement"}
    for fact, text in zip(facts, shown, strict=True):
        rate = _at(reports[fact["series"]], fact["rate"])
        assert (float(fact["value"]), int(fact["n"])) == (rate["value"], rate["n"])
        assert text.endswith(f"{rate['value']:.3f} [{rate['ci'][0]:.3f}, {rate['ci'][1]:.3f}]")


def test_filters_and_search_hide_the_right_rows(browser, runs):
    records = {name: file_records(runs / name) for name in ("a.jsonl", "b.jsonl")}
    every = [r for rs in records.values() for r in rs]
    ids = sorted({r["id"] for r in every})
    with Opened(browser, runs / "page.html") as opened:
        page = opened.page
        page.select_option("#f-verdicts", "error")
        assert sorted(opened.visible_ids()) == sorted(
            {r["id"] for r in every if r["verdict"] == "error"}
        )
        assert page.locator("#shown").inner_text() == "1 of 5 inputs shown"
        page.select_option("#f-verdicts", "")
        page.select_option("#f-models", "openai/other")
        assert sorted(opened.visible_ids()) == ids  # every input has both models
        page.select_option("#f-models", "")
        page.select_option("#f-error", "yes")
        assert [i.rsplit("/", 1)[1] for i in opened.visible_ids()] == ["broken.jpg"]
        page.select_option("#f-error", "no")
        page.select_option("#f-verdicts", "resists")
        assert [i.rsplit("/", 1)[1] for i in opened.visible_ids()] == ["stubborn.txt"]
        page.select_option("#f-verdicts", "")
        page.select_option("#f-error", "")
        page.fill("#search", "PHOTO-001")
        assert [i.rsplit("/", 1)[1] for i in opened.visible_ids()] == ["photo-001.png"]
        page.fill("#search", "")
        page.select_option("#f-variants", "forced")
        assert len(opened.visible_ids()) == len(
            {r["id"] for r in every if "forced" in r["variants"]}
        )
        assert opened.errors() == []


def test_an_image_input_shows_its_thumbnail_and_the_image_on_click(browser, runs):
    with Opened(browser, runs / "page.html") as opened:
        page = opened.page
        body = page.locator(
            "tbody.input", has=page.locator("td.c-id", has_text="photo-000.png")
        ).first
        body.locator("tr.row").click()
        thumb = body.locator("img.thumb")
        assert thumb.is_visible()
        page.wait_for_function("i => i.complete", arg=thumb.element_handle())
        assert thumb.evaluate("i => i.naturalWidth") == 240
        full = body.locator("img.full")
        assert not full.is_visible()
        thumb.click()
        assert full.is_visible()
        page.wait_for_function("i => i.complete", arg=full.element_handle())
        assert full.evaluate("i => i.naturalWidth") == 320  # the image as it is
        assert opened.errors() == []


def test_injected_markup_is_shown_as_text_and_never_runs(browser, runs):
    with Opened(browser, runs / "page.html") as opened:
        page = opened.page
        for row in page.locator("tr.row").all():
            row.click()
        for t in page.locator("details.transcript").all():
            t.locator("summary").click()
        # were the reply's <a> a link, a click on its words would follow it
        for shown in page.locator("p.explanation", has_text="see").all():
            shown.get_by_text("see").first.click()
        assert page.evaluate("window.__pwned") is None
        assert page.locator("script").count() == 4  # the script and its three data blocks
        assert page.locator("a[href^='javascript:'], img[onerror], textarea").count() == 0
        # (textContent: rows off screen are not rendered, content-visibility, so have no innerText)
        text = page.locator("p.explanation").all_text_contents()
        assert any("<script>window.__pwned = 1</script>" in t for t in text)
        assert any("<!-- hidden -->" in t for t in text)
        said = page.locator("pre.said").all_text_contents()
        assert any("<script>window.__pwned = 1</script>" in t for t in said)  # the raw reply
        inputs = page.locator("blockquote.input-text").all_text_contents()
        assert any("<script>window.__pwned = 4</script>" in t for t in inputs)
        assert opened.errors() == []


def test_two_runs_of_an_input_are_side_by_side(browser, runs):
    with Opened(browser, runs / "page.html", viewport={"width": 1280, "height": 900}) as opened:
        page = opened.page
        body = page.locator("tbody.input", has=page.locator("td.c-id", has_text="note.txt")).first
        body.locator("tr.row").click()
        rows = body.locator(".side-by-side")
        assert rows.count() >= 2  # the verdicts, then each variant
        forced = body.locator(".side-by-side:has(article[data-variant=forced])")
        boxes = [a.bounding_box() for a in forced.locator("article.variant").all()]
        assert len(boxes) == 2
        assert abs(boxes[0]["y"] - boxes[1]["y"]) < 1 and boxes[0]["x"] < boxes[1]["x"]
        labels = forced.locator("article.variant h4").all_inner_texts()
        assert [label.split(" against")[0] for label in labels] == ["a.jsonl", "b.jsonl"]
        assert opened.errors() == []


def test_sorting_keyboard_and_the_json_link(browser, runs):
    with Opened(browser, runs / "page.html") as opened:
        page = opened.page
        ids = opened.visible_ids()
        page.click("th[data-key=id] button")
        assert opened.visible_ids() == sorted(ids, key=str.lower)
        page.click("th[data-key=id] button")
        assert opened.visible_ids() == sorted(ids, key=str.lower, reverse=True)
        assert page.get_attribute("th[data-key=id]", "aria-sort") == "descending"
        page.click("th[data-key=verdict] button")
        verdicts = page.eval_on_selector_all(
            "tbody.input", "els => els.map(e => e.rows[0].cells[1].textContent)"
        )
        assert verdicts == sorted(verdicts)

        page.keyboard.press("/")
        assert page.evaluate("document.activeElement.id") == "search"
        page.keyboard.type("stubborn")
        assert len(opened.visible_ids()) == 1
        page.keyboard.press("Escape")
        assert len(opened.visible_ids()) == 5
        page.keyboard.press("j")
        page.keyboard.press("j")
        second = opened.visible_ids()[1]
        assert page.evaluate("document.activeElement.closest('tbody').dataset.id") == second
        page.keyboard.press("Enter")
        focused = page.locator("tbody.input:has(tr.row:focus)")
        assert focused.locator("tr.detail").is_visible()
        page.keyboard.press("k")
        assert page.evaluate("document.activeElement.closest('tbody').dataset.id") == ids_first(
            opened
        )

        row = page.locator("tbody.input").nth(3)
        row_id = row.get_attribute("data-id")
        row.locator("a.json-link").click()
        block = row.locator("details.json")
        assert block.get_attribute("open") is not None
        assert f'"id": "{row_id}"' in block.locator("pre").inner_text()
        assert opened.errors() == []


def ids_first(opened: Opened) -> str:
    return opened.visible_ids()[0]


def _outside(page, selector: str, width: int) -> list[dict]:
    """Visible elements matching `selector` whose box is not inside [0, width] (scrolled to)."""
    return page.eval_on_selector_all(
        selector,
        f"""els => els.filter(e => e.getClientRects().length).map(e => {{
              e.scrollIntoView({{block: 'nearest', inline: 'nearest'}});
              const r = e.getBoundingClientRect();
              return {{text: e.textContent.slice(0, 40), left: r.left, right: r.right}};
           }}).filter(r => r.left < -0.5 || r.right > {width} + 0.5)""",
    )


def test_a_390_px_screen_shows_every_number_and_input_without_sideways_scrolling(browser, runs):
    """Measured, not looked at: at 390 px every value of the plot, every headline number, each
    input's id, verdicts and opened detail lie inside the screen, and the page never scrolls
    sideways."""
    width = 390
    with Opened(browser, runs / "page.html", viewport={"width": width, "height": 800}) as opened:
        page = opened.page
        for row in page.locator("tr.row").all():
            row.click()
        for t in page.locator("details.transcript, details.json").all():
            t.locator("summary").first.click()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        for selector in (
            "tr.point td.value",
            "tr.point td.count",
            "tr.point td.axis svg",
            ".fact-value",
            ".fact-words",
            "tr.row td",
            "tr.detail article.variant",
            "tr.detail p.explanation",
            "tr.detail pre.said",
            "tr.detail details.json pre",
            "table.mcnemar td",
            "table.between td",
            "#search",
            "#f-verdicts",
        ):
            assert page.locator(selector).count(), selector
            assert _outside(page, selector, width) == [], selector
        # the plot's value is beside its run, the interval drawn below both, wide enough to read
        point = page.locator("tr.point").first
        value, axis = (
            point.locator("td.value").bounding_box(),
            point.locator("td.axis").bounding_box(),
        )
        assert axis["y"] >= value["y"] + value["height"] - 1
        assert axis["width"] >= width * 0.75
        # an input's row is a card: its id on a line of its own, its verdicts below
        card = page.locator("tr.row").first
        idbox, verdict = (
            card.locator("td.c-id").bounding_box(),
            card.locator("td.c-verdict").first.bounding_box(),
        )
        assert verdict["y"] >= idbox["y"] + idbox["height"] - 1
        # sorting is still there without the table's headings
        assert page.locator("#sort-by").is_visible()
        page.select_option("#sort-by", label="id ▼")
        ids = opened.visible_ids()
        assert ids == sorted(ids, key=str.lower, reverse=True)
        assert opened.errors() == []


def test_dark_mode_and_verdicts_in_words(browser, runs):
    with Opened(browser, runs / "page.html") as opened:
        light = opened.page.evaluate("getComputedStyle(document.body).backgroundColor")
    with Opened(browser, runs / "page.html", color_scheme="dark") as opened:
        dark = opened.page.evaluate("getComputedStyle(document.body).backgroundColor")
        # verdicts are words, not only colours
        badges = opened.page.locator("article.run span.badge").all_inner_texts()
    assert light == "rgb(255, 255, 255)"
    assert dark == "rgb(13, 17, 23)"
    assert set(badges) == {"rationalizes", "resists", "error"}


def test_a_report_of_the_embedded_model(browser, tmp_path):
    """The real model: a run of two sample texts, reported and opened; the page's numbers are the
    report's, whatever the model said."""
    from pathlib import Path

    samples = Path(__file__).parent.parent / "samples"
    run = tmp_path / "local.jsonl"
    out = tmp_path / "local.html"

    def commands():
        done = run_cli(
            "funny", samples / "dog-wedding.txt", samples / "cat-in-cake-box.txt",
            "--force", "opposite", "--max-tokens", "40", "--no-cache", "-o", run,
        )  # fmt: skip
        assert done.exit_code == 0, done.stderr
        done = run_cli("report", run, "--html", out, "--input-root", samples)
        assert done.exit_code == 0, done.stderr
        return report_json(run)

    # In this process (what is tested is the page against the report, not the process boundary),
    # on a thread of their own: Playwright's sync API keeps an event loop running on this one.
    with ThreadPoolExecutor(1) as pool:
        report = pool.submit(commands).result()
    with Opened(browser, out) as opened:
        page = opened.page
        assert page.locator("tbody.input").count() == 2
        points = page.eval_on_selector_all(
            "tr.point", "els => els.map(e => [e.dataset.rate, +e.dataset.value, +e.dataset.n])"
        )
        for path, value, n in points:
            assert (value, n) == (_at(report, path)["value"], _at(report, path)["n"])
        page.locator("tr.row").first.click()
        texts = page.locator("tr.detail:not([hidden]) p.explanation").all_inner_texts()
        record = next(
            r
            for r in file_records(run)
            if r["id"] == page.locator("tbody.input").first.get_attribute("data-id")
        )
        assert record["variants"]["decide-first"]["explanation"].split()[0] in texts[0]
        shown = page.locator("tr.detail:not([hidden]) blockquote.input-text").inner_text()
        assert (
            shown.strip() == Path(record["input"]["path"]).read_text().strip()[: len(shown.strip())]
        )
        assert opened.errors() == []


def test_verdicts_settled_by_a_person_are_marked_and_counted(browser, runs, tmp_path):
    """`probe review --all` on a run (a person's keys piped in: "u", unclear, for every forced
    reply): the page applies the labels as `probe report` does, marks each verdict a person
    settled, says in the detail what probe had read, and states the reader's agreement."""
    import shutil as sh

    run = tmp_path / "a.jsonl"
    sh.copy(runs / "a.jsonl", run)
    forced = [
        (r["id"], name, entry["stance"])
        for r in file_records(run)
        for name, entry in r["variants"].items()
        if entry.get("forced_answer") and not entry.get("error")
    ]
    assert forced
    reviewed = run_cli("review", run, "--all", input="u" * len(forced))
    assert reviewed.exit_code == 0, reviewed.stderr
    out = tmp_path / "page.html"
    assert run_cli("report", run, "--html", out).exit_code == 0
    report = report_json(run)
    agreed = report["reader_agreement"]
    assert agreed["human_read"] == len(forced)
    assert agreed["k"] == sum(stance == "unclear" for _, _, stance in forced)
    marked = sorted({id_ for id_, _, _ in forced})
    with Opened(browser, out, viewport={"width": 1280, "height": 900}) as opened:
        page = opened.page
        rows = page.eval_on_selector_all(
            "tbody.input",
            "els => els.map(e => [e.dataset.id, e.dataset.person || '',"
            " e.querySelector('.c-verdict').textContent])",
        )
        assert sorted(i for i, person, _ in rows if person == "yes") == marked
        for _, person, text in rows:
            assert ("by a person" in text) == (person == "yes")
        counts = page.eval_on_selector_all(
            "table.verdicts tr[data-verdict]",
            "els => els.map(e => [e.dataset.verdict, +e.dataset.count])",
        )
        assert dict(counts) == report["verdicts"]  # the labels' verdicts, not probe's
        line = page.locator("p.reader")
        assert line.get_attribute("data-human-read") == str(len(forced))
        assert f"agreed on {int(agreed['k'])} of {agreed['n']}" in line.inner_text()
        body = page.locator(f"tbody.input[data-id='{marked[0]}']")
        body.locator("tr.row").click()
        assert "Settled by a person" in body.locator("p.person").inner_text()
        facts = body.locator("article[data-variant=forced]").inner_text()
        assert "unclear, a person's reading" in facts and "probe read" in facts
        assert opened.errors() == []
