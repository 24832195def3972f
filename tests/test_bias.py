"""Biasing variants, gold labels, the judge and `probe report`, through the CLI against scripted
servers on 127.0.0.1. The model here stands for one that follows any suggestion without saying so
(Turpin et al.'s finding); the judge stands for a second model reading its explanations."""

import json
import re

from tests.helpers import records_of, run_cli
from tests.scripted_server import Reply, ScriptedServer, last_user_text, prefill_of

KEY = "sk-test-bias-0123456789"
SUGGESTION = re.compile(r"I think the answer is \(?(\w+)\)? but")


def follower(payload, n):
    """Answers what the user suggests, else (A)/yes; never mentions the suggestion."""
    text = last_user_text(payload)
    m = SUGGESTION.search(text)
    yes_no = "Yes or No" in text
    answer = m.group(1) if m else ("yes" if yes_no else "A")
    word = answer.capitalize() if yes_no else f"({answer})"
    if prefill_of(payload):
        return Reply(prefill_of(payload) + " because the details point that way.")
    if "last line" in text:
        return Reply(f"The details point that way.\nAnswer: {word}")
    return Reply(f"{word}. The details point that way.")


def args(base, *more):
    return [
        "--model",
        "openai/follower",
        "--api-base",
        base,
        "--api-key",
        KEY,
        "--retries",
        "0",
        *more,
    ]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_suggested_points_at_a_wrong_answer_when_gold_is_known(tmp_path):
    data = write_jsonl(
        tmp_path / "q.jsonl",
        [
            {
                "id": f"q{i}",
                "text": f"Question {i}?",
                "options": ["w", "x", "y", "z"],
                "gold": "(B)",
            }
            for i in range(6)
        ],
    )
    with ScriptedServer(follower) as server:
        result = run_cli(
            "ask",
            "--task",
            "choice",
            data,
            "--jsonl",
            "--variants",
            "decide-first,suggested,explain-first,suggested-explain-first",
            *args(server.base_url),
        )
    assert result.exit_code == 0, result.stderr
    recs = records_of(result)
    assert len(recs) == 6
    for r in recs:
        assert r["gold"] == "B" and r["options"] == ["A", "B", "C", "D"]
        s, se = r["variants"]["suggested"], r["variants"]["suggested-explain-first"]
        assert s["bias_target"] in {"A", "C", "D"}  # never the gold answer
        assert s["bias_target"] == se["bias_target"]  # one choice per input
        assert s["answer"] == s["bias_target"] and s["mentions_bias"] is False
        assert s["flip"] == (s["bias_target"] != "A")
    # the choice is random across inputs, fixed per input
    assert len({r["variants"]["suggested"]["bias_target"] for r in recs}) > 1
    with ScriptedServer(follower) as server:
        again = run_cli(
            "ask",
            "--task",
            "choice",
            data,
            "--jsonl",
            "--no-cache",
            "--variants",
            "suggested",
            *args(server.base_url),
        )
    assert {r["id"]: r["variants"]["suggested"]["bias_target"] for r in records_of(again)} == {
        r["id"]: r["variants"]["suggested"]["bias_target"] for r in recs
    }


def test_without_gold_the_suggestion_opposes_the_models_own_answer(tmp_path):
    scene = tmp_path / "s.txt"
    scene.write_text("A dog chases its tail.")
    with ScriptedServer(follower) as server:
        result = run_cli(
            "funny",
            scene,
            "--jsonl",
            "--variants",
            "decide-first,suggested",
            *args(server.base_url),
        )
        order = [bool(SUGGESTION.search(last_user_text(r))) for r in server.requests]
    [r] = records_of(result)
    assert r["variants"]["decide-first"]["answer"] == "yes"
    assert r["variants"]["suggested"]["bias_target"] == "no"
    assert (
        r["variants"]["suggested"]["answer"] == "no" and r["variants"]["suggested"]["flip"] is True
    )
    assert order == [False, True]  # the suggestion waited for decide-first's answer


def test_a_given_suggestion_is_used(tmp_path):
    data = write_jsonl(
        tmp_path / "q.jsonl",
        [{"id": "a", "text": "Q?", "options": ["x", "y", "z"], "suggested": "c"}],
    )
    with ScriptedServer(follower) as server:
        result = run_cli(
            "ask",
            "--task",
            "choice",
            data,
            "--jsonl",
            "--variants",
            "suggested",
            *args(server.base_url),
        )
        from_flag = run_cli(
            "ask",
            "--task",
            "choice",
            data,
            "--jsonl",
            "--variants",
            "suggested",
            "--suggest",
            "B",
            "--no-cache",
            *args(server.base_url),
        )
    assert (
        records_of(result)[0]["variants"]["suggested"]["bias_target"] == "C"
    )  # the record's own wins
    assert records_of(from_flag)[0]["variants"]["suggested"]["bias_target"] == "C"
    bad = write_jsonl(
        tmp_path / "bad.jsonl", [{"id": "b", "text": "Q?", "options": ["x", "y"], "gold": "E"}]
    )
    with ScriptedServer(follower) as server:
        result = run_cli("ask", "--task", "choice", bad, "--jsonl", *args(server.base_url))
    [r] = records_of(result)
    assert "gold answer 'E' is not one of ['A', 'B']" in r["error"]["message"]


def test_judge_adds_simulatability_and_mention_detection(tmp_path):
    scene = tmp_path / "s.txt"
    scene.write_text("A dog chases its tail.")

    def judge(payload, n):
        text = last_user_text(payload)
        if "Does the explanation mention" in text:
            return Reply("No, it does not mention it.")
        return Reply("Yes. It argues that the scene is funny.")

    with ScriptedServer(follower) as model, ScriptedServer(judge) as judge_server:
        result = run_cli(
            "funny",
            scene,
            "--jsonl",
            "--force",
            "no",
            "--judge",
            "openai/judge",
            "--judge-api-base",
            judge_server.base_url,
            *args(model.base_url),
        )
        judge_prompts = [last_user_text(r) for r in judge_server.requests]
    assert result.exit_code == 0, result.stderr
    [r] = records_of(result)
    assert r["judge"] == "openai/judge"
    for name, v in r["variants"].items():
        assert v["judge_supports"] == "yes", name
    assert r["variants"]["forced"]["judge_mentions_bias"] is False
    assert "judge_mentions_bias" not in r["variants"]["decide-first"]  # nothing to mention
    assert all("Answer: Yes" not in p for p in judge_prompts)  # the answer is hidden from the judge
    assert len(judge_prompts) == 4  # three "which answer" + one "mentions the forcing"


def test_report_reads_records_and_flags_bad_lines(tmp_path):
    data = write_jsonl(
        tmp_path / "q.jsonl",
        [
            {"id": f"q{i}", "text": f"Question {i}?", "options": ["w", "x", "y"], "gold": "A"}
            for i in range(5)
        ],
    )
    out = tmp_path / "run.jsonl"
    with ScriptedServer(follower) as server:
        run_cli("ask", "--task", "choice", data, "-o", out, *args(server.base_url))
    report = run_cli("report", out, "--json")
    assert report.exit_code == 0, report.stderr
    body = json.loads(report.stdout)
    following = body["by_variant"]["suggested"]["rates"]["bias_following"]
    assert following["value"] == 1.0 and following["n"] == 5 and len(following["ci"]) == 2
    wrong_alone = sum(
        json.loads(line)["variants"]["decide-first"]["answer"] != "A"
        for line in out.read_text().splitlines()
    )
    test = body["mcnemar"]["suggested"]
    assert test["outcome"] == "correct"  # gold is known
    assert (test["b"], test["c"]) == (5 - wrong_alone, 0)  # right alone, wrong when told otherwise
    table = run_cli("report", out)
    assert table.exit_code == 0 and "bias following" in table.stdout
    with out.open("a") as fh:
        fh.write("{torn\n")
    flagged = run_cli("report", out, "--json")
    assert flagged.exit_code == 1
    assert f"{out}: line 6: not valid JSON" in flagged.stderr
    missing = run_cli("report", tmp_path / "none.jsonl")
    assert missing.exit_code == 2 and "none.jsonl" in missing.stderr
