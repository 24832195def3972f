"""Transcripts in the record and `probe rerun` (issue 20, item 2): each variant entry keeps the
exact request it sent, the record keeps each message once and images by hash, and `probe rerun
RUN.jsonl --model OTHER -o NEW.jsonl` sends those very requests to another model.

The source run is the embedded model's (real, temperature 0); the other model is a scripted
server on 127.0.0.1 that keeps every request it receives, so the tests compare what went over the
wire with what the record says was sent."""

import base64
import hashlib
import json
import shutil

import pytest

from probe.inputs.load import load_input
from probe.records.record import request_messages, requests_of
from probe.variants.tasks import FUNNY
from probe.variants.variant import VariantOptions, decide_first, explain_first
from tests.conftest import SAMPLES, make_hermetic
from tests.helpers import file_records, report_json, run_cli
from tests.scripted_server import Reply, ScriptedServer, last_user_text, prefill_of

SCENE = SAMPLES / "dog-wedding.txt"
PHOTO = SAMPLES / "chelsea.jpg"
OTHER_PHOTO = SAMPLES / "coffee.jpg"
VARIANTS = "decide-first,forced,explain-first,forced-explain-first,early-answering"


@pytest.fixture(scope="module")
def source_run(tmp_path_factory):
    """The embedded model on one scene, with a variant of every kind of call: one call
    (decide-first, explain-first), a forced answer opposing the model's own (forced), the model's
    reasoning continued (forced-explain-first), several calls per input (early-answering)."""
    folder = tmp_path_factory.mktemp("rerun-source")
    out, cache = folder / "run.jsonl", folder / "cache"
    with pytest.MonkeyPatch.context() as mp:
        make_hermetic(mp, cache)
        result = run_cli("funny", SCENE, "--variants", VARIANTS, "--max-tokens", "40", "-o", out)
    assert result.exit_code == 0, result.stderr
    return out, cache


def _server(*extra):
    def args(server):
        return [
            "--model",
            "openai/scripted",
            "--api-base",
            server.base_url,
            "--api-key",
            "sk-test",
            "--retries",
            "0",
            *extra,
        ]

    return args


def contrary_model(payload, n):
    """Says No where asked to decide first (the embedded model said Yes), continues any prefill,
    and ends an explanation with its answer."""
    prefill = prefill_of(payload)
    if prefill:
        return Reply(prefill + " because nothing in it is out of the ordinary.")
    if "last line" in last_user_text(payload):
        return Reply("Nothing in it is out of the ordinary.\nAnswer: No")
    return Reply("No. Nothing in it is out of the ordinary.")


def _sent(record):
    """Every request a record's entries keep that a rerun sends again (not the edit calls or the
    forcing attempts fallen back from, not answer extraction: it reads the new reply)."""
    for entry in record["variants"].values():
        if entry.get("request"):
            yield entry["request"]
        for point in entry.get("points") or ():
            yield point["request"]


def _on_the_wire(record, request):
    """A request as an OpenAI-compatible server receives it: its messages, then the prefill as a
    trailing assistant message."""
    messages = request_messages(record, request)
    if request["prefill"] is not None:
        content = request["prefill"]
        if any(isinstance(m["content"], list) for m in messages):
            content = [{"type": "text", "text": content}]
        messages.append({"role": "assistant", "content": content})
    return messages


def _canonical(messages):
    return json.dumps(messages, sort_keys=True, ensure_ascii=False)


def test_each_entry_keeps_its_request_and_the_record_each_message_once(source_run):
    [record] = file_records(source_run[0])
    table = record["prompt_messages"]
    assert len({_canonical(m) for m in table}) == len(table)
    variants = record["variants"]
    inp = load_input(SCENE)
    # the messages rebuilt are the ones probe's prompts build
    own = decide_first(FUNNY, inp, VariantOptions()).messages
    assert request_messages(record, variants["decide-first"]["request"]) == own
    assert request_messages(record, variants["forced"]["request"]) == own
    explain = explain_first(FUNNY, inp, VariantOptions()).messages
    assert request_messages(record, variants["explain-first"]["request"]) == explain
    forced = variants["forced"]
    assert forced["request"]["prefill"] == forced["prefill"] == "No,"
    assert forced["request"]["want_p_yes"] is False
    assert variants["decide-first"]["request"] == {
        "messages": [0, 1],
        "prefill": None,
        "max_tokens": 40,
        "temperature": 0.0,
        "seed": 0,
        "want_p_yes": True,
    }
    continued = variants["forced-explain-first"]["request"]["prefill"]
    assert continued.startswith(variants["explain-first"]["explanation"])
    points = variants["early-answering"]["points"]
    assert len(points) >= 2 and all(p["request"]["max_tokens"] == 16 for p in points)
    for entry in variants.values():
        for request in requests_of(entry):
            assert all(isinstance(i, int) and 0 <= i < len(table) for i in request["messages"])


def test_rerun_sends_the_source_runs_requests_exactly(source_run, tmp_path):
    source_file, _ = source_run
    [source] = file_records(source_file)
    out = tmp_path / "other.jsonl"
    with ScriptedServer(contrary_model) as server:
        result = run_cli("rerun", source_file, *_server()(server), "-o", out)
    assert result.exit_code == 0, result.stderr
    expected = sorted(_canonical(_on_the_wire(source, r)) for r in _sent(source))
    received = sorted(_canonical(p["messages"]) for p in server.requests)
    assert received == expected
    for payload in server.requests:
        assert payload["temperature"] == 0.0 and payload.get("seed", 0) == 0
    [record] = file_records(out)
    assert record["model"] == "openai/scripted"
    assert (record["id"], record["task"], record["input"]) == (
        source["id"],
        source["task"],
        source["input"],
    )
    assert list(record["variants"]) == list(source["variants"])
    assert record["prompt_messages"] == source["prompt_messages"]
    assert record["rerun_of"] == {
        "path": str(source_file),
        "model": "local/smollm2",
        "key": source["key"],
    }
    assert record["run"] == source["run"] and record["key"] != source["key"]
    variants, before = record["variants"], source["variants"]
    # read from the new replies, never copied
    assert variants["decide-first"]["answer"] == "no"
    assert variants["explain-first"]["answer"] == "no"
    # the forced answer opposed the embedded model's own: the same words are forced
    forced = variants["forced"]
    assert forced["forced_answer"] == before["forced"]["forced_answer"]
    assert forced["request"] == before["forced"]["request"]
    assert forced["from_source"] == ["forced_answer"]
    assert variants["decide-first"]["from_source"] == []
    # explain-first's reasoning as the embedded model wrote it, continued by the other model
    assert set(variants["forced-explain-first"]["from_source"]) == {"forced_answer", "reasoning"}
    assert variants["early-answering"]["from_source"] == ["reasoning"]
    early, old = variants["early-answering"]["points"], before["early-answering"]["points"]
    assert [p["request"] for p in early] == [p["request"] for p in old]
    assert [p["kept"] for p in early] == [p["kept"] for p in old]


def test_a_rerun_on_the_same_model_makes_no_call_its_cache_has_not(
    source_run, tmp_path, monkeypatch
):
    """The response cache keys a call by what is sent: a rerun of the embedded model's run on the
    embedded model finds every request in the cache, so every one is byte for byte the same."""
    source_file, cache = source_run
    monkeypatch.setenv("PROBE_CACHE_DIR", str(cache))
    out = tmp_path / "again.jsonl"
    result = run_cli("rerun", source_file, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert "0 made" in result.stderr
    [source], [again] = file_records(source_file), file_records(out)
    for name, entry in again["variants"].items():
        assert entry["cached"] is True, name
        assert entry["answer"] == source["variants"][name]["answer"]
        assert entry["raw"] == source["variants"][name]["raw"]
    assert again["verdict"] == source["verdict"]


def _image_reply(payload, n):
    prefill = prefill_of(payload)
    if prefill:
        return Reply(prefill + " the cat looks calm.")
    if "last line" in last_user_text(payload):
        return Reply("A cat sits still.\nAnswer: No")
    return Reply("No. A cat sits still.")


def _image_urls(payload):
    return [
        p["image_url"]["url"]
        for m in payload["messages"]
        if isinstance(m["content"], list)
        for p in m["content"]
        if p["type"] == "image_url"
    ]


def test_an_image_is_kept_by_hash_and_sent_again_as_it_was(tmp_path):
    photo = tmp_path / "cat.jpg"
    shutil.copy(PHOTO, photo)
    run, other = tmp_path / "run.jsonl", tmp_path / "other.jsonl"
    with ScriptedServer(_image_reply) as first:
        result = run_cli("funny", photo, *_server("--vision")(first), "-o", run)
    assert result.exit_code == 0, result.stderr
    text = run.read_text()
    assert "base64" not in text and len(text) < 20_000
    [record] = file_records(run)
    [url] = set(u for p in first.requests for u in _image_urls(p))
    sent = base64.b64decode(url.partition(",")[2])
    refs = [
        p["image_url"]
        for m in record["prompt_messages"]
        if isinstance(m["content"], list)
        for p in m["content"]
        if p["type"] == "image_url"
    ]
    ref = refs[0]  # decide-first's user turn and explain-first's: the same image
    assert len(refs) == 2 and all(r == ref for r in refs)
    assert ref["sha256"] == hashlib.sha256(sent).hexdigest()
    assert ref["bytes"] == len(sent) and ref["media_type"] == "image/jpeg"
    assert len(ref["size"]) == 2
    with ScriptedServer(_image_reply) as second:
        result = run_cli("rerun", run, *_server("--vision")(second), "-o", other)
    assert result.exit_code == 0, result.stderr
    assert sorted(_canonical(p["messages"]) for p in second.requests) == sorted(
        _canonical(p["messages"]) for p in first.requests
    )
    assert "base64" not in other.read_text()
    [again] = file_records(other)
    assert again["prompt_messages"] == record["prompt_messages"]


def _two_inputs(tmp_path):
    photo, scene = tmp_path / "cat.jpg", tmp_path / "scene.txt"
    shutil.copy(PHOTO, photo)
    shutil.copy(SCENE, scene)
    run = tmp_path / "run.jsonl"
    with ScriptedServer(_image_reply) as server:
        result = run_cli("funny", photo, scene, *_server("--vision")(server), "-o", run)
    assert result.exit_code == 0, result.stderr
    return photo, scene, run


def _rerun_two(run, out):
    with ScriptedServer(_image_reply) as server:
        result = run_cli("rerun", run, *_server("--vision")(server), "-o", out)
    return result, server


def test_a_changed_image_is_refused_by_name_and_the_other_inputs_go_on(tmp_path):
    photo, scene, run = _two_inputs(tmp_path)
    shutil.copy(OTHER_PHOTO, photo)  # another photo under the same name
    out = tmp_path / "other.jsonl"
    result, server = _rerun_two(run, out)
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("probe: error")]
    assert len(errors) == 1 and str(photo) in errors[0] and "sha256" in errors[0], errors
    records = {r["id"]: r for r in file_records(out)}
    assert len(records) == 2  # one line per input
    assert str(photo) in records[str(photo)]["error"]["message"]
    assert records[str(photo)]["variants"] == {}
    assert records[str(scene)]["error"] is None
    assert all(v["error"] is None for v in records[str(scene)]["variants"].values())
    assert not any(_image_urls(p) for p in server.requests)  # nothing was sent for the photo
    assert len(server.requests) == 3  # the scene's three variants


def test_an_image_whose_hash_is_not_the_one_sent_is_refused(tmp_path):
    """The file is the one read, but the record says another image was sent: refused too."""
    photo, scene, run = _two_inputs(tmp_path)
    lines = []
    for record in file_records(run):
        for message in record["prompt_messages"]:
            for part in message["content"] if isinstance(message["content"], list) else ():
                if part["type"] == "image_url":
                    part["image_url"]["sha256"] = "0" * 64
        lines.append(json.dumps(record))
    run.write_text("\n".join(lines) + "\n")
    result, server = _rerun_two(run, tmp_path / "other.jsonl")
    assert result.exit_code == 1
    [error] = [line for line in result.stderr.splitlines() if line.startswith("probe: error")]
    assert str(photo) in error and "not the one the source run sent" in error
    assert len(server.requests) == 3


def test_report_sets_the_two_models_beside_each_other(source_run, tmp_path):
    source_file, _ = source_run
    out = tmp_path / "other.jsonl"
    with ScriptedServer(contrary_model) as server:
        assert run_cli("rerun", source_file, *_server()(server), "-o", out).exit_code == 0
    result = run_cli("report", source_file, out, "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["models"] == ["local/smollm2", "openai/scripted"]
    assert report["n_inputs"] == 2  # the same input, once per model
    # each model's own section is the report of its own file, not the pool
    for model, path in (("local/smollm2", source_file), ("openai/scripted", out)):
        alone = report_json(path)
        mine = report["by_model"][model]
        assert (mine["n_inputs"], mine["verdicts"], mine["rates"]) == (
            alone["n_inputs"],
            alone["verdicts"],
            alone["rates"],
        )
    # and the input compared between them, outcome by outcome, from what each model said
    (source,), (other,) = file_records(source_file), file_records(out)
    tests = {t["outcome"]: t for t in report["between_models"]}
    assert {(t["a"], t["b"], t["n"]) for t in tests.values()} == {
        ("local/smollm2", "openai/scripted", 1)
    }

    def agree(record):
        v = record["variants"]
        return v["decide-first"]["answer"] == v["explain-first"]["answer"]

    assert (tests["orders agree"]["k_a"], tests["orders agree"]["k_b"]) == (
        agree(source),
        agree(other),
    )
    shown = run_cli("report", source_file, out)
    assert shown.exit_code == 0, shown.stderr
    text = shown.stdout
    assert text.index("Models side by side") < text.index("Between models, input by input")
    assert text.index("model: openai/scripted") < text.index("all models pooled")
    assert "orders agree" in text
    page = tmp_path / "report.html"
    result = run_cli("report", source_file, out, "--html", page)
    assert result.exit_code == 0, result.stderr
    html = page.read_text()
    assert "local/smollm2" in html and "openai/scripted" in html


def test_a_record_without_requests_is_an_error_naming_it(tmp_path):
    old = tmp_path / "old.jsonl"
    old.write_text(
        json.dumps(
            {
                "schema": "probe/1",
                "id": "scene-1",
                "input": {"path": None, "sha256": "x", "kind": "text", "text": "A dog."},
                "task": "funny",
                "question": FUNNY.question,
                "options": ["yes", "no"],
                "variants": {},
                "model": "local/smollm2",
                "error": None,
            }
        )
        + "\n"
    )
    out = tmp_path / "other.jsonl"
    with ScriptedServer(contrary_model) as server:
        result = run_cli("rerun", old, *_server()(server), "-o", out)
    assert result.exit_code == 1
    [record] = file_records(out)
    assert "scene-1" in record["error"]["message"] and "no requests" in record["error"]["message"]
    assert not server.requests
