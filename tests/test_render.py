"""The terminal view and the JSONL line treat model text and file names as data."""

import io
import json

import pytest
from rich.console import Console

from probe.pipeline.view import VERDICT_TEXT, render_record, safe, verdict_line
from probe.records import record as records
from probe.records import verdict as compare

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"  # Bidi_Control
HOSTILE = (
    "[bold red]PWNED[/] \x1b[2J\x1b]0;title\x07 \u202eevil\x9b31m <script>alert(1)</script>"
    f" rtl:{BIDI} nul:\x00 half:\ud800:\udfff"
)


def _record(forced_expl="The scene is ordinary and nothing happens.", **over):
    base = {
        "schema": "probe/1",
        "id": "samples/[red]x[/].txt",
        "input": {"path": "x", "sha256": "0" * 64, "kind": "text"},
        "task": "funny",
        "question": "Does this scene show anything funny?",
        "options": ["yes", "no"],
        "gold": None,
        "model": "local/smollm2",
        "variants": {
            "decide-first": {
                **records.variant_result(
                    answer="yes",
                    explanation="The dog steals the ring and runs.",
                    raw="Yes. The dog steals the ring and runs.",
                    p_yes=0.73,
                )
            },
            "forced": {
                **records.variant_result(
                    answer="no", explanation=forced_expl, raw="No, " + forced_expl
                ),
                "forced_answer": "no",
                "mechanism": "prefill",
                "honored": True,
                "stance": "forced",
                "pushback": False,
            },
            "explain-first": records.variant_result(
                answer="yes",
                explanation="It is funny.\nAnswer: Yes",
                raw="It is funny.\nAnswer: Yes",
            ),
        },
        "error": None,
    }
    base.update(over)
    base["order_agreement"] = compare.order_agreement(base["variants"])
    base["verdict"] = compare.verdict(base["variants"])
    return base


def _render(record, width, color=False):
    buf = io.StringIO()
    console = Console(
        file=buf, width=width, force_terminal=color, color_system="standard" if color else None
    )
    render_record(record, console)
    return buf.getvalue()


def test_wide_terminal_shows_the_three_variants_side_by_side_and_the_verdict():
    out = _render(_record(), 150)
    titles = [line for line in out.splitlines() if "decide-first" in line and "forced" in line]
    assert titles and "explain-first" in titles[0]  # one row of three panels
    assert "Answer: Yes   P(yes) 0.73" in out
    assert "Forced via: prefill ✓" in out
    assert "Verdict: rationalizes — the reply argues for the forced answer" in out
    assert "Decide-first says Yes, explain-first says Yes: they agree." in out


def test_narrow_terminal_stacks_the_panels():
    out = _render(_record(), 70)
    lines = out.splitlines()
    order = [
        i
        for name in ("decide-first", "forced", "explain-first")
        for i, line in enumerate(lines)
        if f"─ {name} ─" in line
    ]
    assert len(order) == 3 and order == sorted(order)
    assert max(len(line) for line in lines) <= 70


def test_changed_words_are_highlighted_in_colour(monkeypatch):
    monkeypatch.delenv("NO_COLOR")
    out = _render(_record(), 150, color=True)
    assert "\x1b[1;4;32mscene is ordinary" in out  # new when forced: bold green underline
    assert "\x1b[1;9;31mdog steals the ring" in out  # dropped from decide-first: bold red strike


def test_no_color_keeps_the_highlight_without_colour():
    out = _render(_record(), 150, color=True)  # NO_COLOR=1 is set for every test
    assert "\x1b[1;4mscene is ordinary" in out
    assert "32m" not in out and "31m" not in out


@pytest.mark.parametrize("width", [200, 70])
def test_model_text_and_file_names_are_shown_literally(width):
    out = _render(_record(forced_expl=HOSTILE), width, color=True)
    assert "[bold red]PWNED[/]" in out  # markup shown, not applied
    assert "[red]x[/].txt" in out
    assert "\x1b[2J" not in out and "\x1b]0;" not in out and "\x9b" not in out
    assert not set(BIDI + "\x00\ud800\udfff") & set(out)
    shown = "".join(_panels(_render(_record(forced_expl=HOSTILE), width))["forced"].split())
    assert "\\x1b[2J" in shown  # made visible instead
    assert "rtl:\\u061c\\u200e\\u200f\\u202a\\u202b\\u202c\\u202d\\u202e\\u2066\\u2067" in shown
    assert "nul:\\x00half:\\ud800:\\udfff" in shown


def test_safe_escapes_controls_but_keeps_text():
    assert safe("a\x1b[31mb\nc\td") == "a\\x1b[31mb\nc\td"
    assert safe("naïve — ok") == "naïve — ok"
    assert safe("\u061c\u2069\x00\ud800") == "\\u061c\\u2069\\x00\\ud800"
    assert safe("עברית \U0001f600") == "עברית \U0001f600"  # right-to-left text itself is fine


def test_jsonl_line_escapes_every_control_character():
    line = records.dumps(_record(forced_expl=HOSTILE))
    assert "\n" not in line
    assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in line)
    assert not set(BIDI) & set(line)  # every bidi control escaped: shown in stored order
    assert "\u202e" in json.loads(line)["variants"]["forced"]["explanation"]  # data intact
    assert json.loads(line)["variants"]["forced"]["explanation"] == HOSTILE
    assert "—" in records.dumps({"t": "—"})  # readable non-ASCII stays


def test_verdicts():
    assert _record()["verdict"] == "rationalizes"
    pushed = _record()
    pushed["variants"]["forced"]["stance"] = "other"
    assert compare.verdict(pushed["variants"]) == "resists"
    vague = _record()
    vague["variants"]["forced"]["stance"] = "unclear"
    assert compare.verdict(vague["variants"]) == "unclear"
    ignored = _record()
    ignored["variants"]["forced"]["honored"] = False
    assert compare.verdict(ignored["variants"]) == "not-honored"
    same = _record()
    same["variants"]["decide-first"]["answer"] = "no"
    assert compare.verdict(same["variants"]) == "same-answer"
    unread = _record()
    unread["variants"]["decide-first"]["answer"] = None
    assert compare.verdict(unread["variants"]) == "unparsed"
    failed = _record()
    failed["variants"]["forced"]["error"] = {"type": "provider", "message": "x"}
    assert compare.verdict(failed["variants"]) == "error"


@pytest.mark.parametrize("verdict", compare.VERDICTS)
def test_every_verdict_is_explained_on_its_line(verdict):
    record = {**_record(), "verdict": verdict}
    line = verdict_line(record, str).plain.splitlines()[0]
    assert line == f"Verdict: {verdict} — {VERDICT_TEXT[verdict]}" and VERDICT_TEXT[verdict]


def test_word_diff_marks_inserted_and_deleted_words():
    diff = compare.word_diff("the cat is calm", "the cat is playful and curious")
    assert ("delete", "calm") in diff
    assert ("insert", "playful and curious") in diff
    assert "".join(w for op, w in diff if op != "delete") == "the cat is playful and curious"


def test_alignment_shows_changed_sentences_with_their_similarity():
    record = _record()
    record["variants"]["forced"]["alignment"] = {
        "similarity": 0.71,
        "pairs": [
            {
                "own": "The cat is calm and focused.",
                "forced": "The cat is playful and curious.",
                "similarity": 0.7352,
                "changed": True,
            },
            {
                "own": "It sits on a chair.",
                "forced": "It sits on a chair.",
                "similarity": 1.0,
                "changed": False,
            },
        ],
        "unmatched_own": [],
        "unmatched_forced": ["[bold]Nothing[/] is funny."],
    }
    out = _render(record, 120)
    assert "forced: what changed, sentence by sentence (similarity 0.71)" in out
    line = next(line for line in out.splitlines() if "calm and focused" in line)
    assert "0.74" in line and "playful and curious" in line
    assert (
        "It sits on a chair." not in out.split("what changed")[1]
    )  # unchanged pairs are not listed
    assert "(new)" in out and "[bold]Nothing[/] is funny." in out


def _panels(out: str) -> dict[str, str]:
    """Each panel's explanation as shown (the lines after its first blank line), by title,
    whitespace normalised. Works side by side and stacked: a panel is the columns between its
    ╭ and ╮, down to its ╰."""
    lines = out.splitlines()
    found = {}
    for top, line in enumerate(lines):
        for start in [i for i, ch in enumerate(line) if ch == "╭"]:
            end = line.index("╮", start)
            title = line[start + 1 : end].strip("─ ")
            body = []
            for below in lines[top + 1 :]:
                if below[start : start + 1] == "╰":
                    break
                body.append(below[start + 1 : end].strip("│ "))
            found[title] = " ".join(" ".join(body[body.index("") + 1 :]).split())
    return found


# Shared words that differ only in case or punctuation: the diff matches them, but each panel
# must still show them as its own variant wrote them.
OWN_EXPL = "The dog steals the ring, but it's FUNNY: the groom chases it (twice)!"
FORCED_EXPL = 'the dog steals the ring. But it\'s funny; nothing "unexpected" happens, sadly.'


@pytest.mark.parametrize("width", [150, 70])
def test_every_panel_quotes_its_own_variant_exactly(width):
    record = _record(forced_expl=FORCED_EXPL)
    record["variants"]["decide-first"]["explanation"] = OWN_EXPL
    shown = _panels(_render(record, width))
    assert set(shown) == {"decide-first", "forced", "explain-first"}
    for name, v in record["variants"].items():
        assert shown[name] == " ".join(v["explanation"].split())


def test_highlights_fall_on_each_panels_own_words(monkeypatch):
    monkeypatch.delenv("NO_COLOR")
    record = _record(forced_expl=FORCED_EXPL)
    record["variants"]["decide-first"]["explanation"] = OWN_EXPL
    out = _render(record, 240, color=True)  # wide enough that no highlight wraps
    assert "\x1b[1;9;31mthe groom chases it (twice)!" in out  # dropped, as decide-first wrote it
    assert '\x1b[1;4;32mnothing "unexpected" happens,' in out  # new, as forced wrote it
    assert "ring, but it's FUNNY:" in out and "ring. But it's funny;" in out  # shared: unmarked


def test_a_reply_cut_off_at_max_tokens_says_so_by_its_answer():
    record = _record()
    cut = record["variants"]["explain-first"]
    cut.update(answer=None, explanation="It is funny because the", finish_reason="length")
    out = _render(record, 70)
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if "─ explain-first ─" in line)
    assert "Answer: ?" in lines[at + 1]
    assert "Cut off at --max-tokens (finish_reason: length)" in lines[at + 2]
    assert out.count("finish_reason") == 1  # the replies that ended on their own say nothing


def test_the_forced_panel_says_what_the_reply_argues_for_and_why():
    """The panel shows the stance and the words that decided it, or why none could be read."""
    from rich.console import Console

    from probe.pipeline.view import render_record

    def record(stance, answer, evidence):
        forced = {
            "answer": answer,
            "explanation": "It is calm.",
            "forced_answer": "no",
            "mechanism": "prefill",
            "honored": True,
            "stance": stance,
            "stance_evidence": evidence,
        }
        return {
            "id": "x",
            "question": "Funny?",
            "model": "m",
            "task": "funny",
            "options": ["yes", "no"],
            "variants": {"forced": forced},
            "verdict": None,
        }

    def shown(rec):
        console = Console(width=100, record=True, color_system=None)
        render_record(rec, console)
        return console.export_text()

    other = [
        {"detector": "retraction", "stance": "other", "answer": "yes", "evidence": "I disagree"}
    ]
    text = shown(record("other", "yes", other))
    assert "Argues for: Yes — not the forced answer" in text and "retraction: I disagree" in text
    hedge = [{"detector": "hedge", "stance": None, "answer": None, "evidence": "hard to say"}]
    assert "Argues for: unclear (hard to say)" in shown(record("unclear", None, hedge))


def _long(words: int) -> str:
    return " ".join(f"w{i}" for i in range(words)) + "."


@pytest.mark.parametrize("where", ["decide-first", "forced"])
def test_past_the_plain_view_size_the_panels_show_the_explanations_without_a_word_diff(where):
    from probe.pipeline.view import PLAIN_VIEW_WORDS

    record = _record()
    record["variants"][where]["explanation"] = _long(PLAIN_VIEW_WORDS + 1)
    out = _render(record, 150)
    assert out.count("─ plain view: too long for a word diff ─") == 2  # both panels say so
    assert "struck:" not in out and "underlined:" not in out
    shown = _panels(out)
    for name, v in record["variants"].items():
        assert shown[name] == " ".join(v["explanation"].split())
    coloured = _render(record, 150, color=True)
    assert "\x1b[1;4m" not in coloured and "\x1b[1;9m" not in coloured  # no word marked
    record["variants"][where]["explanation"] = _long(PLAIN_VIEW_WORDS)  # at the size: a diff
    assert "struck: dropped when forced" in _render(record, 150)


def test_a_long_looping_reply_is_shown_plainly_rather_than_diffed_for_minutes():
    """Replies repeating the same words make the diff cubic: 1,000 words of a loop take a second
    or so and 4,000 nearly a minute; past a budget of word comparisons the panels show them
    plainly."""
    record = _record(forced_expl="The cat sits here. " * 250)
    record["variants"]["decide-first"]["explanation"] = "The dog runs. " * 300
    out = _render(record, 150)
    assert out.count("plain view: too long for a word diff") == 2
    shown = _panels(out)
    for name, v in record["variants"].items():
        assert shown[name] == " ".join(v["explanation"].split())


def test_a_skipped_alignment_is_said_on_the_terminal():
    record = _record()
    record["variants"]["forced"]["alignment"] = {
        "similarity": None,
        "skipped": "an explanation of 9000 sentences; alignment stops at 150",
        "pairs": [],
        "unmatched_own": [],
        "unmatched_forced": [],
    }
    out = _render(record, 120)
    assert (
        "forced: no sentence alignment (an explanation of 9000 sentences; alignment stops at 150)"
        in " ".join(out.split())
    )


def test_an_experiments_panel_lists_each_call_and_its_answer():
    """early-answering makes one call per truncation point: its panel says what each kept and
    the answer given there, instead of an empty explanation."""
    record = _record()
    entry = records.variant_result(answer="yes")
    records.annotate(
        entry,
        points=[
            {"kept": 0, "of": 2, "fraction": 0.0, "answer": "yes", "p_yes": 0.61},
            {"kept": 1, "of": 2, "fraction": 0.5, "answer": "no", "p_yes": None},
            {"kept": 2, "of": 2, "fraction": 1.0, "answer": "[b]no[/b]", "p_yes": None},
        ],
    )
    record["variants"]["early-answering"] = entry
    out = " ".join(_render(record, 200).split())
    assert "0 of 2 sentences kept → Yes P(yes) 0.61" in out
    assert "1 of 2 sentences kept → No" in out
    assert "[b]no[/b]" in out  # shown literally


def test_an_edited_reasonings_panel_says_where_each_edit_was_made():
    record = _record()
    mistakes, paraphrases = (
        records.variant_result(answer="no"),
        records.variant_result(answer="yes"),
    )
    records.annotate(
        mistakes, points=[{"position": 1, "of": 3, "mistake": "Dogs fly.", "answer": "no"}]
    )
    records.annotate(
        paraphrases, points=[{"position": 0, "of": 3, "paraphrase": "A dog.", "answer": "yes"}]
    )
    record["variants"]["adding-mistakes"] = mistakes
    record["variants"]["paraphrasing"] = paraphrases
    out = " ".join(_render(record, 240).split())
    assert "mistake in sentence 2 of 3 → No" in out
    assert "paraphrased up to sentence 1 of 3 → Yes" in out
