"""The stance of a forced reply, through the real CLI against scripted OpenAI-compatible servers.

Each scripted server stands for a model of known behaviour (said in its docstring); the records
must say what that model's words say — never the answer probe forced on it.
"""

import json
import re

from probe.reading.answers import statements
from probe.reading.judge import JUDGE_SYSTEM
from probe.variants.tasks import FUNNY
from tests.conftest import SAMPLES
from tests.helpers import records_of, run_cli
from tests.scripted_server import Reply, ScriptedServer, last_user_text, prefill_of

SCENE = SAMPLES / "dog-wedding.txt"


def _is_judge(payload):
    return payload["messages"][0]["content"] == JUDGE_SYSTEM


def _judged_text(payload):
    return re.search(r'"""\n(.*?)\n"""', last_user_text(payload), re.S).group(1)


def scripted(continuation, judge_says="Yes"):
    """A model that says Yes, explains first the same way, continues a forced prefill (echoing it,
    as llama-server does) with `continuation`, and as a judge of its own explanations says the
    explanation argues for `judge_says` (and never sees a hint mentioned)."""

    def reply(payload, n):
        if _is_judge(payload):
            return Reply(judge_says if "argue for" in last_user_text(payload) else "No.")
        prefill = prefill_of(payload)
        if prefill:
            return Reply(prefill + continuation)
        if "last line" in last_user_text(payload):
            return Reply("A dog steals the ring at the altar.\nAnswer: Yes")
        return Reply("Yes. A dog steals the ring at the altar.")

    return reply


def fact_only_model(judge_says):
    """Its forced reply argues only through facts of the scene ("the groom sprints after the
    dog"): no answer word, none of the question's terms."""
    return scripted(
        " the dog trots down the aisle with the ring and the groom sprints after it.", judge_says
    )


def run(server, *more):
    return run_cli(
        "funny",
        SCENE,
        "--model",
        "openai/scripted",
        "--api-base",
        server.base_url,
        "--no-cache",
        "--jsonl",
        *more,
    )


def probe(server, *more):
    result = run(server, *more)
    assert result.exit_code == 0, result.stderr
    [record] = records_of(result)
    return record, result


def test_a_reply_of_facts_alone_is_unclear_without_a_judge():
    with ScriptedServer(fact_only_model("Yes")) as server:
        record, _ = probe(server, "--force", "no")
    forced = record["variants"]["forced"]
    assert record["verdict"] == "unclear"
    assert (forced["stance"], forced["answer"], forced["compliance"]) == ("unclear", None, None)
    assert forced["forced_answer"] == "no"
    detectors = [e["detector"] for e in forced["stance_evidence"]]
    assert detectors == ["statement", "retraction", "hedge", "clause", "justification"]
    assert all(e["stance"] is None for e in forced["stance_evidence"])


def test_judge_self_reads_the_stance_the_words_do_not_state():
    """The model, judging its own explanation (answer removed), says it argues yes: against the
    forced no, so the model resisted. The judge decides only because no lexical detector could."""
    with ScriptedServer(fact_only_model("Yes")) as server:
        record, _ = probe(server, "--force", "no", "--judge", "self")
        judged = [_judged_text(p) for p in server.requests if _is_judge(p)]
    forced = record["variants"]["forced"]
    assert record["judge"] == "openai/scripted"
    assert record["run"]["judge"] == "self"
    assert (forced["stance"], forced["answer"], forced["pushback"]) == ("other", "yes", True)
    assert record["verdict"] == "resists"
    [judge] = [e for e in forced["stance_evidence"] if e["detector"] == "judge"]
    assert (judge["stance"], judge["answer"]) == ("other", "yes")
    assert forced["stance_conflict"] is False
    assert forced["flip"] is False  # decide-first said yes too: the model held its answer
    # what the judge was shown never states an answer (the forced "No," is gone)
    assert judged and all(statements(text, FUNNY, negated=True) == [] for text in judged)
    assert all(not text.lower().startswith("no") for text in judged)


def test_the_reply_words_outrank_a_judge_and_the_disagreement_is_recorded():
    """Here the forced reply says plainly that the scene is not funny; a judge that reads its
    explanation as arguing yes does not overrule the model's own words, but the record says the
    detectors disagree."""

    says_not_funny = scripted(" it is not funny at all, just a calm ceremony.", judge_says="Yes")

    with ScriptedServer(says_not_funny) as server:
        record, _ = probe(server, "--force", "no", "--judge", "self")
    forced = record["variants"]["forced"]
    assert (forced["stance"], forced["answer"]) == ("forced", "no")
    assert forced["stance_conflict"] is True
    assert record["verdict"] == "rationalizes"


def test_an_explicit_prefill_the_server_ignores_is_not_honored():
    """Stands for a server that closes the assistant turn instead of continuing it (as
    `python -m llama_cpp.server` does): its reply is a fresh answer of its own."""

    def ignores_prefill(payload, n):
        if prefill_of(payload):
            return Reply("Yes, the dog steals the ring, which is funny.")
        if "last line" in last_user_text(payload):
            return Reply("A dog steals the ring.\nAnswer: Yes")
        return Reply("Yes. A dog steals the ring.")

    with ScriptedServer(ignores_prefill) as server:
        record, _ = probe(server, "--force", "no", "--force-via", "prefill")
    forced = record["variants"]["forced"]
    assert (forced["mechanism"], forced["honored"]) == ("prefill", False)
    assert record["verdict"] == "not-honored"


def test_samples_at_temperature_zero_warn_that_the_draws_are_the_same():
    with ScriptedServer(fact_only_model("Yes")) as server:
        at_zero = run(server, "--samples", "2")
        warmer = run(server, "--samples", "2", "--temperature", "0.7")
    assert at_zero.exit_code == 0, at_zero.stderr
    assert "--samples 2 at --temperature 0" in at_zero.stderr
    assert len(records_of(at_zero)) == 2
    assert warmer.exit_code == 0 and "warning" not in warmer.stderr


def test_records_are_json_with_every_stance_field():
    with ScriptedServer(fact_only_model("Yes")) as server:
        record, result = probe(server, "--force", "no")
    forced = record["variants"]["forced"]
    for key in ("stance", "stance_evidence", "stance_conflict", "compliance", "finish_reason"):
        assert key in forced, key
    json.dumps(record)
