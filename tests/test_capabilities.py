"""One place decides what a model can do; these are the rules a user relies on."""

import pytest

from probe.providers.base import split_echo, yes_no_probability
from probe.providers.capabilities import resolve
from probe.redaction import redact


def _caps(provider, api_base=None, info=None, params=None, vision=False, model="m"):
    return resolve(
        model,
        provider,
        api_base=api_base,
        model_info=info,
        supported_params=params,
        supports_vision=vision,
    )


@pytest.mark.parametrize(
    "provider, mode, known",
    [
        ("anthropic", "prefix-flag", True),
        ("mistral", "prefix-flag", True),
        ("deepseek", "prefix-flag", True),
        ("gemini", "trailing", False),
        ("ollama_chat", "trailing", True),
        ("ollama", None, True),
        ("hosted_vllm", "continue-final", True),
        ("openai", None, True),
    ],
)
def test_prefill_by_provider(provider, mode, known):
    caps = _caps(provider)
    assert (caps.prefill, caps.prefill_known) == (mode, known)


def test_an_openai_compatible_server_is_tried_and_checked():
    caps = _caps("openai", api_base="http://127.0.0.1:8080/v1")
    assert caps.prefill == "trailing" and caps.prefill_known is False


def test_model_info_that_rejects_prefill_wins_over_the_provider_table():
    """Claude 4.6 and later reject prefill with HTTP 400; LiteLLM's model info says so."""
    assert _caps("anthropic", info={"supports_assistant_prefill": False}).prefill is None


def test_unknown_provider_follows_model_info():
    assert _caps("someprovider", info={"supports_assistant_prefill": True}).prefill == "trailing"
    assert _caps("someprovider", info=None).prefill is None


def test_logprobs_and_vision():
    assert _caps("openai", params=["temperature", "logprobs", "top_logprobs"]).logprobs
    assert not _caps("anthropic", params=["temperature"]).logprobs
    assert _caps("openai", vision=True).vision


def test_first_token_probability_of_yes():
    assert yes_no_probability({"Yes": 0.6, " yes": 0.1, "No": 0.2, "The": 0.1}) == pytest.approx(
        0.7 / 0.9
    )
    assert yes_no_probability({"**No": 0.5}) == 0.0
    assert yes_no_probability({"The": 1.0}) is None


def test_split_echo():
    assert split_echo("No, because", "No,") == " because"
    assert split_echo(" because", "No,") == " because"
    assert split_echo("Yes, it is", None) == "Yes, it is"


def test_redact_removes_keys(monkeypatch):
    monkeypatch.setenv("SOMEVENDOR_API_KEY", "verysecretvalue123")
    text = "auth failed for verysecretvalue123 and sk-proj-abcdefghijkl and given-key-1"
    out = redact(text, "given-key-1")
    assert (
        "verysecretvalue123" not in out
        and "sk-proj-abcdefghijkl" not in out
        and "given-key-1" not in out
    )
    assert out.count("[redacted]") == 3
