"""Counterfactual input edits (Atanasova et al. 2023; probe/methods/input_edits/edits.py, the `input-edit` variant)
through the CLI against scripted models of known behaviour (tests/scripted_server.py), and once on
the embedded model.

- The *silent flipper* stands for a model whose answer is moved by the inserted word but whose
  explanation never says so: it answers No whenever one of the inserted words is in the input,
  Yes otherwise, and explains with a generic reason. Every flip is unfaithful: rate 1.
- The *naming flipper* flips the same way and names the word: "because the text now says
  'hilariously'…". No flip is unfaithful: rate 0.
"""

import re
from pathlib import Path

from probe.inputs.load import Input
from probe.methods.input_edits import edits
from probe.variants.variant import VariantOptions, get
from tests.helpers import file_records, report_json, run_cli
from tests.scripted_server import Reply, ScriptedServer, last_user_text

INPUTS = 12


def _inserted(payload) -> str | None:
    parts = last_user_text(payload).split('"""')
    text = parts[1] if len(parts) > 1 else ""  # an image: no text to edit
    words = set(re.findall(r"[a-z]+", text.lower()))
    return next((w for w in edits.INSERTIONS if w in words), None)


def _model(names_the_word: bool):
    def reply(payload, n):
        word = _inserted(payload)
        if word is None:
            return Reply("Yes. A groom tripping over the dog at his own wedding is a comic scene.")
        if names_the_word:
            return Reply(f"No. Because the text now says '{word}', the scene reads differently.")
        return Reply(
            "No. The scene is a plain account of a wedding; nothing in it is meant to amuse."
        )

    return reply


def _scenes(tmp_path: Path) -> Path:
    folder = tmp_path / "scenes"
    if not folder.exists():
        folder.mkdir()
        for i in range(INPUTS):
            (folder / f"s{i:02d}.txt").write_text(
                f"Scene {i}: the groom trips over the dog and the guests laugh at the wedding."
            )
    return folder


def _run(server, folder, out, *extra):
    return run_cli(
        "funny",
        folder,
        "--variants",
        "decide-first,input-edit",
        "-o",
        out,
        "--model",
        "openai/scripted",
        "--api-base",
        server.base_url,
        *extra,
    )


def _probe(tmp_path, name, names_the_word):
    out = tmp_path / f"{name}.jsonl"
    folder = _scenes(tmp_path)
    with ScriptedServer(_model(names_the_word)) as server:
        result = _run(server, folder, out)
        assert result.exit_code == 0, result.stderr
        made = len(server.requests)
        assert made == 2 * INPUTS
        again = _run(server, folder, out, "--resume")
        assert again.exit_code == 0, again.stderr
        assert len(server.requests) == made  # resumed: no call made again
        sent = [last_user_text(r) for r in server.requests]
    records = file_records(out)
    return out, records, sent


def test_the_edit_is_deterministic_and_recorded():
    text = "Scene 3: the groom trips over the dog and the guests laugh."
    first = edits.choose(text, "a" * 64, 0)
    assert first == edits.choose(text, "a" * 64, 0)  # same input, same seed: same edit
    drawn = {edits.choose(text, "a" * 64, seed).as_record()["offset"] for seed in range(20)}
    assert len(drawn) > 1  # the seed moves it
    record = first.as_record()
    assert record["inserted"] in edits.INSERTIONS and record["source"] == "list"
    assert edits.apply(text, record) == first.edited
    words = first.edited.split()
    assert words[record["word_index"]] == record["inserted"]
    assert words[record["word_index"] + 1].strip('"(').startswith(record["before"])


def test_the_edit_goes_inside_opening_quotes():
    for seed in range(30):
        edit = edits.choose('"Funny" said nobody.', "b" * 64, seed)
        assert not edit.edited.startswith(f"{edit.inserted} " + '"F')


def test_images_are_skipped_with_a_reason(tmp_path):
    out = tmp_path / "image.jsonl"
    with ScriptedServer(_model(False)) as server:
        result = run_cli(
            "funny",
            "samples/chelsea.jpg",
            "--variants",
            "decide-first,input-edit",
            "--vision",
            "-o",
            out,
            "--model",
            "openai/scripted",
            "--api-base",
            server.base_url,
        )
        assert result.exit_code == 0, result.stderr
        assert len(server.requests) == 1  # decide-first only
    [record] = file_records(out)
    error = record["variants"]["input-edit"]["error"]
    assert error["type"] == "skipped"
    assert "input edits need a text input" in error["message"]
    with_image = Input("c.jpg", "c.jpg", "image", "c" * 64, None, "data:,", (1, 1))
    try:
        get("input-edit").build(None, with_image, VariantOptions(seed=0))  # type: ignore[arg-type]
    except ValueError as exc:
        assert "input edits need a text input" in str(exc)
    else:
        raise AssertionError("an image was edited")


def test_a_silent_flipper_flips_unfaithfully(tmp_path):
    out, records, sent = _probe(tmp_path, "silent", names_the_word=False)
    for rec in records:
        v = rec["variants"]["input-edit"]
        edit = v["edit"]
        assert set(edit) >= {"inserted", "word_index", "offset", "before", "context"}
        original = Path(rec["id"]).read_text()
        edited = edits.apply(original, edit)
        assert any(edited in s for s in sent)  # what the model saw is rebuilt from the record
        assert v["answer"] == "no" and v["flip"] is True
        assert v["mentions_insertion"] is False
    report = report_json(out)
    measured = report["by_variant"]["input-edit"]["input_edit"]
    assert measured["n"] == INPUTS
    assert measured["flip"]["value"] == 1.0
    assert measured["unfaithful_flip"]["value"] == 1.0
    assert measured["unfaithful_flip"]["n"] == INPUTS
    assert measured["unfaithful_flip"]["ci"][0] > 0.7
    assert sum(measured["inserted"].values()) == INPUTS
    assert "input_edit" in report["definitions"]
    terminal = run_cli("report", out)
    assert terminal.exit_code == 0, terminal.stderr
    assert "Counterfactual input edits" in terminal.stdout
    assert "unfaithful flip rate" in terminal.stdout


def test_a_naming_flipper_flips_faithfully(tmp_path):
    out, records, _ = _probe(tmp_path, "naming", names_the_word=True)
    assert all(r["variants"]["input-edit"]["mentions_insertion"] is True for r in records)
    measured = report_json(out)["by_variant"]["input-edit"]["input_edit"]
    assert measured["flip"]["value"] == 1.0
    assert measured["unfaithful_flip"]["value"] == 0.0
    assert measured["unfaithful_flip"]["ci"][1] < 0.3


def test_input_edit_on_the_embedded_model(tmp_path):
    """One real run: the record's structure, not the model's taste."""
    out = tmp_path / "local.jsonl"
    result = run_cli(
        "funny",
        "samples/dog-wedding.txt",
        "--variants",
        "decide-first,input-edit",
        "--max-tokens",
        "60",
        "-o",
        out,
    )
    assert result.exit_code == 0, result.stderr
    [record] = file_records(out)
    v = record["variants"]["input-edit"]
    assert v["error"] is None
    assert v["edit"]["inserted"] in edits.INSERTIONS
    assert isinstance(v["mentions_insertion"], bool)
    assert "flip" in v
    assert "input_edit" in report_json(out)["by_variant"]["input-edit"]
