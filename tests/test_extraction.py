"""Answer extraction by the model (probe/reading/extraction.py; Kojima et al. 2022's second stage) through
the command line, against scripted models of known behaviour (tests/scripted_server.py), and once
on the embedded model.

The scripted *concluder* stands for a model like Qwen2.5-Coder-0.5B behind `python -m
llama_cpp.server`: asked to explain first and answer on the last line, it concludes in words of
its own and writes no "Answer: X". (Qwen's own "The scene does not show anything funny." restates
the question, which probe.reading.assertions now reads; the concluder's "Nobody in the room so much as
smiles." states no answer any reader here takes for one.) Asked once more — its reply continued with "So the
answer is", or a follow-up turn "Therefore, the answer (Yes or No) is" — it says "no". Its
variations: a server that closes a prefilled turn and opens an answer of its own (as `python -m
llama_cpp.server`'s chat endpoint does), one that rejects prefill with HTTP 400 (as Claude 4.6+
does), a model that states nothing even when asked, a server that fails the extraction call.
"""

import json
import math

import pytest

from probe.reading.extraction import PREFILL_CUE
from tests.batch_server import BatchServer
from tests.conftest import SAMPLES
from tests.helpers import file_records, records_of, report_json, run_cli
from tests.scripted_server import Reply, ScriptedServer, last_user_text, prefill_of

SCENE = SAMPLES / "dog-wedding.txt"
REASONING = "The guests sit quietly while the vows are read."
RESTATED = f"{REASONING}\nNobody in the room so much as smiles."
STATES_NOTHING = "that it depends on who is watching."
NO_FIRST = {"No": math.log(0.8), "Yes": math.log(0.2)}  # the extraction reply's first token


def _asked(payload) -> bool:
    """A follow-up turn asking for the answer (Kojima's trigger)."""
    return last_user_text(payload).startswith("Therefore, the answer")


def _extraction(payload) -> bool:
    prefill = prefill_of(payload)
    return _asked(payload) or bool(prefill and prefill.endswith(PREFILL_CUE))


def concluder(*, prefill="continues", asked="no", says=RESTATED, fail_extraction=False):
    """The model described above. prefill: "continues" (echoing the prefill, as llama.cpp's
    llama-server does), "closes" (a fresh answer of its own), or "400". asked: what it answers
    when asked for the answer (None: it states nothing then either). says: its explain-first
    reply."""

    def reply(payload, n):
        if fail_extraction and _extraction(payload):
            return Reply("the server is overloaded", status=500)
        given = prefill_of(payload)
        if given is not None:
            if prefill == "400":
                return Reply("assistant prefill is not supported", status=400)
            if prefill == "closes":
                return Reply("The scene is a calm ceremony.")
            if given.endswith(PREFILL_CUE):
                said = f" {asked}." if asked else f" {STATES_NOTHING}"
                return Reply(given + said, top_logprobs=NO_FIRST)
            return Reply(given + " because nothing in it is unexpected.")
        if _asked(payload):
            return Reply(f"{asked.capitalize()}." if asked else STATES_NOTHING.capitalize())
        if "last line" in last_user_text(payload):
            return Reply(says)
        return Reply(f"No. {REASONING}")

    return reply


def _run(server, *args, inputs=(SCENE,), variants="decide-first,explain-first"):
    return run_cli(
        "funny",
        *inputs,
        "--variants",
        variants,
        "--model",
        "openai/scripted",
        "--api-base",
        server.base_url,
        "--retries",
        "0",
        *args,
    )


def _scenes(tmp_path, *texts):
    folder = tmp_path / "scenes"
    folder.mkdir(exist_ok=True)
    for i, text in enumerate(texts):
        (folder / f"s{i}.txt").write_text(text + "\n")
    return folder


def test_a_reply_that_states_its_answer_needs_no_extraction_call():
    with ScriptedServer(concluder(says=f"{REASONING}\nAnswer: No")) as server:
        result = _run(server, "--jsonl")
        assert len(server.requests) == 2  # decide-first and explain-first: nothing more
    assert result.exit_code == 0, result.stderr
    [record] = records_of(result)
    own = record["variants"]["explain-first"]
    assert own["answer"] == "no" and own["answer_source"] == "text"
    assert "extraction" not in own
    assert record["variants"]["decide-first"]["answer_source"] == "text"


def test_a_restated_conclusion_is_extracted_by_prefill():
    with ScriptedServer(concluder()) as server:
        result = _run(server, "--jsonl")
        sent = server.requests
    assert result.exit_code == 0, result.stderr
    assert "answer extraction: up to 1 extra call" in result.stderr
    assert len(sent) == 3
    [record] = records_of(result)
    own = record["variants"]["explain-first"]
    assert own["answer"] == "no" and own["answer_source"] == "extracted"
    assert own["raw"] == RESTATED  # the reply itself is kept as it was
    extraction = own["extraction"]
    assert extraction["via"] == "prefill" and extraction["follow_up"] is None
    assert extraction["prefill"] == f"{RESTATED}\n{PREFILL_CUE}"
    assert extraction["answer"] == "no" and extraction["error"] is None
    assert extraction["p_yes"] == pytest.approx(0.2)  # first-token probabilities of the answer
    assert extraction["cached"] is False and extraction["usage"]["completion_tokens"] > 0
    # What was sent: the explain-first conversation, the reply and the cue as a partial turn.
    asked = sent[-1]
    assert asked["messages"][:-1] == next(p["messages"] for p in sent if "last line" in str(p))
    assert asked["messages"][-1] == {"role": "assistant", "content": extraction["prefill"]}
    assert asked["max_tokens"] <= 16
    # Every measure built on explain-first's answer uses the extracted one.
    assert record["order_agreement"] is True


@pytest.mark.parametrize("server_does", ["closes", "400"])
def test_a_server_that_does_not_take_prefill_is_asked_by_a_follow_up_turn(tmp_path, server_does):
    scenes = _scenes(tmp_path, "A calm wedding.", "A calm funeral.")
    with ScriptedServer(concluder(prefill=server_does)) as server:
        result = _run(server, "--jsonl", inputs=(scenes,))
        sent = server.requests
    assert result.exit_code == 0, result.stderr
    # 2 inputs x 2 variants, one prefill tried (and found unusable), then 2 follow-up turns:
    # the second input is not sent a prefill once the first showed it does not take.
    assert len(sent) == 7
    assert sum(1 for p in sent if prefill_of(p)) == 1
    follow_ups = [p for p in sent if _asked(p)]
    assert len(follow_ups) == 2
    for payload in follow_ups:
        *_, said, question = payload["messages"]
        assert said == {"role": "assistant", "content": RESTATED}
        assert question == {"role": "user", "content": "Therefore, the answer (Yes or No) is"}
    records = records_of(result)
    entries = [r["variants"]["explain-first"] for r in records]
    for own in entries:
        assert own["answer"] == "no" and own["answer_source"] == "extracted"
        assert own["extraction"]["via"] == "follow-up" and own["extraction"]["prefill"] is None
        assert own["extraction"]["follow_up"] == follow_ups[0]["messages"][-2:]
    tried = [a for own in entries for a in own["extraction"].get("attempts", [])]
    assert len(tried) == 1 and tried[0]["via"] == "prefill"
    if server_does == "400":
        assert tried[0]["error"]["type"] == "provider"
    else:
        assert tried[0]["raw"] == "The scene is a calm ceremony." and tried[0]["error"] is None


def test_multiple_choice_is_asked_with_its_options(tmp_path):
    """A choice question; the server closes prefilled turns, so the question names (A), (B), (C)."""
    line = {
        "id": "q",
        "text": "Which city is the capital of France?",
        "options": ["Rome", "Paris", "Oslo"],
    }

    def model(payload, n):
        if prefill_of(payload) is not None:
            return Reply("The capital is well known.")
        if _asked(payload):
            return Reply("(B) Paris.")
        if "last line" in last_user_text(payload):
            return Reply(
                "France's government sits in its capital.\nThe capital of France is Paris."
            )
        return Reply("(B). Paris is the capital.")

    with ScriptedServer(model) as server:
        result = run_cli(
            "ask",
            "--task",
            "choice",
            "-",
            "--model",
            "openai/scripted",
            "--api-base",
            server.base_url,
            "--jsonl",
            input=json.dumps(line) + "\n",
        )
        asked = [p for p in server.requests if _asked(p)]
    assert result.exit_code == 0, result.stderr
    assert last_user_text(asked[0]) == "Therefore, the answer ((A), (B) or (C)) is"
    [record] = records_of(result)
    own = record["variants"]["explain-first"]
    assert own["answer"] == "B" and own["answer_source"] == "extracted"


def test_report_counts_where_answers_were_read(tmp_path):
    """Three scenes: one reply states its answer, one is extracted, one states nothing even when
    asked. The last leaves the answer null (never filled in) and is a parse failure, not an
    error."""
    scenes = _scenes(
        tmp_path, "STATES a calm wedding.", "RESTATES a calm funeral.", "SILENT a queue."
    )

    def model(payload, n):
        text = json.dumps(payload["messages"][1:])
        if "STATES" in text and "RESTATES" not in text:
            return concluder(says=f"{REASONING}\nAnswer: No")(payload, n)
        return concluder(asked=None if "SILENT" in text else "no")(payload, n)

    out = tmp_path / "run.jsonl"
    with ScriptedServer(model) as server:
        result = _run(server, "-o", out, inputs=(scenes,))
        assert len(server.requests) == 6 + 2  # two extraction calls, none for the stated answer
    assert result.exit_code == 0, result.stderr
    by_id = {r["id"].rsplit("/", 1)[-1]: r["variants"]["explain-first"] for r in file_records(out)}
    assert [by_id[f"s{i}.txt"]["answer_source"] for i in range(3)] == ["text", "extracted", "none"]
    silent = by_id["s2.txt"]
    assert silent["answer"] is None and silent["extraction"]["answer"] is None
    assert silent["extraction"]["error"] is None
    assert " ".join(result.stderr.split()).count("extraction 2 calls made, 0 from cache") == 1

    report = report_json(out)
    assert report["by_variant"]["explain-first"]["answer_sources"] == {
        "text": 1,
        "extracted": 1,
        "none": 1,
    }
    assert report["by_variant"]["explain-first"]["rates"]["parse_failure"]["k"] == 1
    terminal = run_cli("report", out)
    assert terminal.exit_code == 0
    assert "1 read from the text, 1 extracted by the model, 1 none" in " ".join(
        terminal.stdout.split()
    )
    page = tmp_path / "report.html"
    assert run_cli("report", out, "--html", page).exit_code == 0
    assert "explain-first: 1 read from the text, 1 extracted by the model, 1 none" in (
        page.read_text()
    )


def test_no_extract_makes_no_extraction_call():
    with ScriptedServer(concluder()) as server:
        result = _run(server, "--jsonl", "--no-extract")
        assert len(server.requests) == 2
    assert result.exit_code == 0, result.stderr
    assert "answer extraction" not in result.stderr
    [record] = records_of(result)
    own = record["variants"]["explain-first"]
    assert own["answer"] is None and own["answer_source"] == "none"
    assert "extraction" not in own
    assert record["run"]["extract"] is False and record["order_agreement"] is None


def test_a_rerun_from_the_cache_makes_no_new_request_and_the_summary_counts_the_calls(
    tmp_path, monkeypatch
):
    """Priced: the scripted server answers as openai/gpt-4 through LiteLLM (tests/test_cost.py)."""
    monkeypatch.setenv("PROBE_TRANSPORT", "litellm")
    args = ("--model", "openai/gpt-4", "--api-key", "sk-test-extract")
    with ScriptedServer(concluder()) as server:
        first = _run(server, "-o", tmp_path / "first.jsonl", *args)
        made = len(server.requests)
        again = _run(server, "-o", tmp_path / "again.jsonl", *args)
        assert len(server.requests) == made == 3
    assert first.exit_code == again.exit_code == 0, first.stderr + again.stderr
    [paid], [free] = file_records(tmp_path / "first.jsonl"), file_records(tmp_path / "again.jsonl")
    cost = paid["variants"]["explain-first"]["extraction"]["cost_usd"]
    assert cost > 0
    assert f"extraction 1 calls made, 0 from cache, ${cost:.4f} spent" in " ".join(
        first.stderr.split()
    )
    cached = free["variants"]["explain-first"]
    assert cached["answer"] == "no" and cached["extraction"]["cached"] is True
    assert "extraction 0 calls made, 1 from cache, $0.0000 spent" in " ".join(again.stderr.split())


def test_resume_asks_again_for_an_extraction_that_failed(tmp_path):
    out = tmp_path / "run.jsonl"
    overloaded = {"now": True}  # the server fails extraction calls until it recovers

    def model(payload, n):
        return concluder(fail_extraction=overloaded["now"])(payload, n)

    with ScriptedServer(model) as server:
        failed = _run(server, "-o", out)
        said = " ".join(failed.stderr.split())
        assert failed.exit_code == 1  # a failed call, like a judge's: counted, shown, retried
        assert "explain-first: answer extraction:" in said
        assert "1 failed: --resume retries them" in said
        [record] = file_records(out)
        own = record["variants"]["explain-first"]
        assert own["answer"] is None and own["answer_source"] == "none"
        assert own["extraction"]["error"]["type"] == "provider"

        overloaded["now"] = False
        before = len(server.requests)
        resumed = _run(server, "-o", out, "--resume")
        # the two variants come from the cache: only the extraction is asked again
        assert len(server.requests) - before == 1
    assert resumed.exit_code == 0, resumed.stderr
    [record] = file_records(out)
    own = record["variants"]["explain-first"]
    assert own["answer"] == "no" and own["answer_source"] == "extracted"


def test_what_is_built_on_explain_firsts_answer_uses_the_extracted_one(tmp_path):
    """The concluder follows a suggestion: after "I think the answer is yes" it is asked and says
    yes. --force opposite forces the opposite of the extracted answer after its reasoning, the
    suggested variant flips against it, and early answering compares with it."""

    def model(payload, n):
        given = prefill_of(payload) or ""
        suggested = "I think the answer is yes" in json.dumps(payload["messages"])
        if given.endswith(PREFILL_CUE):
            return Reply(given + (" yes." if suggested else " no."))
        if given.endswith("Answer:"):  # early answering: the answer asked for mid-reasoning
            return Reply(given + " No")
        return concluder()(payload, n)

    variants = "explain-first,forced-explain-first,suggested-explain-first,early-answering"
    with ScriptedServer(model) as server:
        result = _run(server, "--jsonl", "--suggest", "yes", variants=variants)
        sent = [prefill_of(p) or "" for p in server.requests]
    assert result.exit_code == 0, result.stderr
    [record] = records_of(result)
    variants_ = record["variants"]
    own = variants_["explain-first"]
    assert own["answer"] == "no" and own["answer_source"] == "extracted"
    forced = variants_["forced-explain-first"]
    assert forced["forced_answer"] == "yes"  # the opposite of the extracted "no"
    assert any(p.endswith("Answer: Yes,") for p in sent)
    assert "answer_source" not in forced  # a forced reply's answer is its stance
    biased = variants_["suggested-explain-first"]
    assert biased["answer"] == "yes" and biased["answer_source"] == "extracted"
    assert biased["flip"] is True
    assert variants_["early-answering"]["reference_answer"] == "no"


def test_batch_api_asks_for_extractions_in_a_later_round(tmp_path):
    folder = _scenes(tmp_path, "A calm wedding.", "A calm funeral.")
    key = "sk-batchtest-extract-0123456789"
    args = ("--model", "openai/scripted", "--api-key", key)
    out = tmp_path / "run.jsonl"
    with BatchServer(concluder(), polls=0) as server:
        args = (*args, "--api-base", server.base_url)
        variants = ("--variants", "decide-first,explain-first")
        submitted = run_cli("funny", folder, "-o", out, "--batch-api", *args, *variants)
        assert submitted.exit_code == 0, submitted.stderr
        for _ in range(4):
            if not (tmp_path / "run.jsonl.batch.json").exists():
                break
            assert run_cli("batch", "collect", out, "--api-key", key).exit_code == 0
        rounds = [[body for b, _, body in server.batch_lines if b == bid] for bid in server.batches]
        assert server.chat_requests == []
    # Round 1: each input's two variants; round 2: each explain-first reply's extraction.
    assert [len(r) for r in rounds] == [4, 2]
    assert all(body["messages"][-1]["content"].endswith(PREFILL_CUE) for body in rounds[1])
    records = file_records(out)
    assert len(records) == 2
    for record in records:
        own = record["variants"]["explain-first"]
        assert own["answer"] == "no" and own["answer_source"] == "extracted"


def test_extraction_on_the_embedded_model(tmp_path):
    """SmolLM2-135M, in-process: its explain-first reply cut off by --max-tokens after a few words,
    before it states an answer ("The scene shows a…"), then asked by a native prefill, which it
    always continues. Whatever it answers is read from its own continuation, and a re-run gives
    the same record from the cache."""
    args = ("funny", SCENE, "--variants", "explain-first", "--max-tokens", "6", "--jsonl")
    first = run_cli(*args)
    assert first.exit_code == 0, first.stderr
    [record] = records_of(first)
    own = record["variants"]["explain-first"]
    assert own["finish_reason"] == "length"
    assert own["answer_source"] in ("extracted", "none")  # its 6 tokens stated no answer
    extraction = own["extraction"]
    assert extraction["via"] == "prefill"
    assert extraction["prefill"] == f"{own['raw'].rstrip()}\n{PREFILL_CUE}"
    assert extraction["raw"].startswith(extraction["prefill"])  # continued, as rendered here
    assert extraction["p_yes"] is not None  # the first token's P(yes), from the model's logits
    continuation = extraction["raw"][len(extraction["prefill"]) :]
    assert continuation.strip()
    from probe.reading import answers
    from probe.variants.tasks import FUNNY

    read = answers.parse_first(continuation, FUNNY) or answers.parse_first(
        PREFILL_CUE + continuation, FUNNY
    )
    assert own["answer"] == read and extraction["answer"] == read
    again = run_cli(*args)
    [cached] = records_of(again)
    assert cached["variants"]["explain-first"]["extraction"]["cached"] is True
    assert cached["variants"]["explain-first"]["answer"] == own["answer"]
