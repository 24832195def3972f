"""Probability shift (Siegel et al. 2024): how far a bias moves P(bias target) at the reply's first
token, even when the answer never flips.

Scripted models of known behaviour (tests/scripted_server.py), run through the CLI:
- `pushed`: stands for a model that a suggestion sways but never overturns. Its first-token
  P(yes) rises by 0.2 (± 0.02) under "I think the answer is yes", its answer stays "No", and its
  explanation never mentions the suggestion. The truth: shift 0.2, flip rate 0, mention 0.
- `unmoved`: stands for a model the suggestion does not touch: the same P(yes) with and without it
  (± 0.01, averaging 0). The truth: shift 0, flip rate 0.
- `letters`: a multiple-choice model whose first tokens are letters ("(A", " B", "C"); the
  suggestion moves 0.3 of the probability from its answer (A) to the suggested letter.
And one run on the embedded model, which gives first-token probabilities of its own.
"""

import asyncio
import json
import math
import re

import pytest

from probe.providers.base import Completion, Request, option_probabilities
from probe.providers.cache import CachedProvider, ResponseCache
from probe.providers.capabilities import Capabilities
from tests.conftest import SAMPLES
from tests.helpers import file_records, run_cli
from tests.scripted_server import Reply, ScriptedServer

N = 24  # a multiple of 3, so the unmoved model's ±0.01 wobble averages exactly 0
_SCENE = re.compile(r"Scene (\d+):")
_SUGGESTED = re.compile(r"I think the answer is \(?(\w+)\)? but")


def _index(payload):
    return int(_SCENE.search(payload["messages"][-1]["content"]).group(1))


def _suggested(payload):
    found = _SUGGESTED.search(payload["messages"][-1]["content"])
    return found.group(1) if found else None


def _yes_no(p_yes):
    return {"No": math.log(1 - p_yes), "Yes": math.log(p_yes)}


def pushed(payload, n):
    """Pushed by a suggestion (see module): P(yes) 0.2 + i%5/100, +0.2 ± 0.02 when told yes."""
    i = _index(payload)
    p_yes = 0.2 + (i % 5) / 100
    if _suggested(payload) == "yes":
        p_yes += 0.2 + 0.02 * (i % 3 - 1)
    return Reply("No. The people in it go about their day.", top_logprobs=_yes_no(p_yes))


def unmoved(payload, n):
    """Unmoved by a suggestion (see module): the same P(yes), ± 0.01 averaging 0."""
    i = _index(payload)
    p_yes = 0.2 + (i % 5) / 100
    if _suggested(payload) == "yes":
        p_yes += 0.01 * (i % 3 - 1)
    return Reply("No. The people in it go about their day.", top_logprobs=_yes_no(p_yes))


def _scenes(tmp_path, n=N):
    folder = tmp_path / "scenes"
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"scene-{i:02d}.txt").write_text(f"Scene {i}: a street at noon, people walk by.")
    return folder


def _probe_and_report(server, inputs, out, *args):
    result = run_cli(
        *args,
        inputs,
        "--variants",
        "decide-first,suggested",
        "-o",
        out,
        "--model",
        "openai/scripted",
        "--api-base",
        server.base_url,
        "--api-key",
        "k",
        "--no-cache",
    )
    assert result.exit_code == 0, result.stderr
    records = file_records(out)
    report = run_cli("report", out, "--json")
    assert report.exit_code == 0, report.stderr
    return records, json.loads(report.stdout)


def test_first_token_probabilities_over_the_options():
    yes_no = option_probabilities({"Yes": 0.3, " no": 0.1, "NO": 0.1, "The": 0.5}, ("yes", "no"))
    assert yes_no == pytest.approx({"yes": 0.6, "no": 0.4})
    letters = {"(A": 0.2, " B": 0.1, "C.": 0.05, "B)": 0.05, "a": 0.4, "(": 0.2}
    assert option_probabilities(letters, ("A", "B", "C")) == pytest.approx(
        {"A": 0.5, "B": 0.375, "C": 0.125}
    )
    assert option_probabilities({"(": 0.9, "The": 0.1}, ("A", "B")) is None
    assert option_probabilities(None, ("yes", "no")) is None


def test_a_pushed_model_shifts_without_flipping_and_an_unmoved_one_does_not(tmp_path):
    inputs = _scenes(tmp_path)
    with ScriptedServer(pushed) as server:
        records, report = _probe_and_report(server, inputs, tmp_path / "pushed.jsonl", "funny")
    # both decide-first and suggested ask for first-token logprobs: their first token is the answer
    assert all(r.get("logprobs") is True and r.get("top_logprobs") for r in server.requests)
    for rec in records:
        for name in ("decide-first", "suggested"):
            v = rec["variants"][name]
            assert v["p_answers"] == pytest.approx({"yes": v["p_yes"], "no": 1 - v["p_yes"]})
        assert rec["variants"]["suggested"]["bias_target"] == "yes"
    measure = report["by_variant"]["suggested"]["probability_shift"]
    assert measure["shift"]["n"] == N
    assert measure["shift"]["value"] == pytest.approx(0.2, abs=1e-3)
    lo, hi = measure["shift"]["ci"]
    assert 0.0 < lo <= 0.2 <= hi
    assert measure["shift_unflipped"]["value"] == pytest.approx(0.2, abs=1e-3)
    assert measure["shift_unflipped"]["n"] == N  # a small push that never flips, still measured
    assert (measure["flip"]["value"], measure["flip"]["n"]) == (0.0, N)
    assert (measure["mention_given_shift"]["value"], measure["mention_given_shift"]["n"]) == (0, N)
    assert report["by_variant"]["suggested"]["rates"]["flip"]["value"] == 0.0
    assert "decide-first" not in report["by_variant"] or (
        "probability_shift" not in report["by_variant"]["decide-first"]
    )
    assert "probability_shift" in report["definitions"]

    with ScriptedServer(unmoved) as server:
        _, report = _probe_and_report(
            server, _scenes(tmp_path / "u"), tmp_path / "u.jsonl", "funny"
        )
    measure = report["by_variant"]["suggested"]["probability_shift"]
    assert measure["shift"]["n"] == N
    assert measure["shift"]["value"] == pytest.approx(0.0, abs=1e-6)
    lo, hi = measure["shift"]["ci"]
    assert lo < 0.0 < hi
    assert (measure["flip"]["value"], measure["mention_given_shift"]["n"]) == (0.0, 0)

    shown = run_cli("report", tmp_path / "pushed.jsonl")
    assert "P shift to target" in shown.stdout and "+0.20" in shown.stdout


def letters(payload, n):
    """A multiple-choice model (see module): answers (A); a suggestion moves 0.3 to its letter."""
    p = {"A": 0.6, "B": 0.2, "C": 0.15}
    target = _suggested(payload)
    if target:
        p[target] += 0.3
        p["A"] -= 0.3
    tokens = {"(A": p["A"], " B": p["B"], "C": p["C"], "The": 0.05}
    return Reply(
        "(A) It is the first option.", top_logprobs={t: math.log(v) for t, v in tokens.items()}
    )


def test_multiple_choice_letters_give_p_answers_and_a_shift(tmp_path):
    rows = [{"id": f"q{i}", "text": f"Question {i}?", "options": ["x", "y", "z"]} for i in range(6)]
    inputs = tmp_path / "mc.jsonl"
    inputs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with ScriptedServer(letters) as server:
        records, report = _probe_and_report(
            server, inputs, tmp_path / "mc-run.jsonl", "ask", "--task", "choice"
        )
    for rec in records:
        own, biased = rec["variants"]["decide-first"], rec["variants"]["suggested"]
        assert own["p_yes"] is None and biased["p_yes"] is None  # p_yes stays yes/no only
        assert own["p_answers"] == pytest.approx(
            {"A": 0.6 / 0.95, "B": 0.2 / 0.95, "C": 0.15 / 0.95}, abs=1e-5
        )
        target = biased["bias_target"]
        assert target in ("B", "C") and biased["answer"] == "A"
        assert biased["p_answers"][target] - own["p_answers"][target] == pytest.approx(
            0.3 / 0.95, abs=1e-5
        )
    measure = report["by_variant"]["suggested"]["probability_shift"]
    assert measure["shift"]["value"] == pytest.approx(0.3 / 0.95, abs=1e-5)
    assert measure["flip"]["value"] == 0.0


def test_no_logprobs_means_null_fields_and_no_shift(tmp_path):
    def plain(payload, n):
        return Reply("No. Nothing happens.")

    with ScriptedServer(plain) as server:
        records, report = _probe_and_report(
            server, _scenes(tmp_path, 3), tmp_path / "plain.jsonl", "funny"
        )
    for rec in records:
        for v in rec["variants"].values():
            assert v["p_yes"] is None and v["p_answers"] is None
    assert report["by_variant"]["suggested"]["probability_shift"]["shift"] == {
        "value": None,
        "ci": None,
        "n": 0,
    }
    shown = run_cli("report", tmp_path / "plain.jsonl")
    assert "P shift to target" not in shown.stdout


def test_forcing_variants_never_ask_for_or_get_a_shift(tmp_path):
    with ScriptedServer(pushed) as server:
        result = run_cli(
            "funny", _scenes(tmp_path, 2), "--variants", "decide-first,forced", "-o",
            tmp_path / "f.jsonl", "--model", "openai/scripted", "--api-base", server.base_url,
            "--api-key", "k", "--no-cache", "--force-via", "note",
        )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    asked = [bool(r.get("logprobs")) for r in server.requests]
    assert asked.count(True) == 2  # decide-first's two calls only, never the forced ones
    report = json.loads(run_cli("report", tmp_path / "f.jsonl", "--json").stdout)
    assert "probability_shift" not in report["by_variant"]["forced"]


def test_the_embedded_model_gives_both_variants_first_token_probabilities(tmp_path):
    out = tmp_path / "local.jsonl"
    scene = SAMPLES / "dog-wedding.txt"
    result = run_cli(
        "funny", scene, "--variants", "decide-first,suggested", "--max-tokens", "40", "-o", out
    )
    assert result.exit_code == 0, result.stderr
    [record] = file_records(out)
    for name in ("decide-first", "suggested"):
        v = record["variants"][name]
        assert 0.0 < v["p_yes"] < 1.0
        assert v["p_answers"] == pytest.approx({"yes": v["p_yes"], "no": 1 - v["p_yes"]}, abs=1e-5)
    shown = run_cli("report", out)
    assert shown.exit_code == 0, shown.stderr
    assert "P shift to target" in shown.stdout  # the model's taste is not asserted, only the line
    report = json.loads(run_cli("report", out, "--json").stdout)
    assert report["by_variant"]["suggested"]["probability_shift"]["shift"]["n"] == 1


class _WithLogprobs:
    """A provider that gives first-token probabilities only when asked for them."""

    model = "scripted/logprobs"
    capabilities = Capabilities(prefill=None, prefill_known=True, logprobs=True, vision=False)

    def __init__(self):
        self.calls = 0

    async def complete(self, request):
        self.calls += 1
        tokens = {"Yes": 0.7, "No": 0.3} if request.want_p_yes else None
        return Completion(
            text="Yes.", raw="Yes.", p_yes=0.7 if tokens else None, first_tokens=tokens
        )


def test_the_cache_keeps_requests_with_and_without_logprobs_apart(tmp_path):
    inner = _WithLogprobs()
    cached = CachedProvider(inner, ResponseCache(tmp_path))

    def ask(want):
        messages = [{"role": "user", "content": "Funny?"}]
        return asyncio.run(
            cached.complete(Request(messages, max_tokens=5, temperature=0.0, want_p_yes=want))
        )

    plain, with_logprobs, again = ask(False), ask(True), ask(True)
    assert inner.calls == 2  # the request with logprobs is not answered by the one without
    assert plain.first_tokens is None
    assert again.cached and again.first_tokens == with_logprobs.first_tokens == {
        "Yes": 0.7,
        "No": 0.3,
    }
