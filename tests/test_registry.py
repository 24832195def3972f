"""Which provider a model name opens, what it declares, and what a run learns about it."""

import dataclasses

import pytest

from probe import environment
from probe.errors import UsageError
from probe.providers import Capabilities, Discoveries, check_credentials, provider_kind
from probe.providers.discoveries import in_use


@pytest.mark.parametrize(
    ("model", "api_base", "kind"),
    [
        ("local/smollm2", None, "local"),
        ("local/smollm2", "http://127.0.0.1:9/v1", "local"),
        ("openai/m", "http://127.0.0.1:9/v1", "openai-sdk"),
        ("openai/gpt-4o-mini", None, "litellm"),
        ("anthropic/claude-sonnet-4-5", None, "litellm"),
        ("hosted_vllm/m", "http://127.0.0.1:9/v1", "litellm"),
    ],
)
def test_a_model_name_picks_its_kind(model, api_base, kind):
    assert provider_kind(model, api_base).name == kind
    assert (provider_kind(model).name == "local") == (kind == "local")


def test_transport_litellm_sends_an_openai_server_through_litellm(monkeypatch):
    monkeypatch.setenv("PROBE_TRANSPORT", "litellm")
    assert provider_kind("openai/m", "http://127.0.0.1:9/v1").name == "litellm"
    monkeypatch.setenv("PROBE_TRANSPORT", "carrier-pigeon")
    with pytest.raises(UsageError, match="PROBE_TRANSPORT"):
        provider_kind("openai/m", "http://127.0.0.1:9/v1")


def test_what_each_kind_declares():
    local = provider_kind("local/smollm2")
    sdk = provider_kind("openai/m", "http://127.0.0.1:9/v1")
    remote = provider_kind("anthropic/claude-sonnet-4-5")
    assert (local.paces_itself, sdk.paces_itself, remote.paces_itself) == (False, True, True)
    assert (local.needs_credentials, sdk.needs_credentials) == (False, False)
    assert remote.needs_credentials
    note = local.note_for("local/smollm2")
    assert note is not None and note.startswith("local/smollm2 is the embedded")
    assert sdk.note_for("openai/m") is None and remote.note_for("x/y") is None


def test_no_key_is_asked_of_the_embedded_model_or_a_server():
    check_credentials("local/smollm2", api_base=None, api_key=None)
    check_credentials("openai/m", api_base="http://127.0.0.1:9/v1", api_key=None)


def test_capabilities_do_not_change_and_discoveries_say_what_the_run_learned():
    caps = Capabilities(prefill="trailing", prefill_known=False, logprobs=True, vision=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        caps.prefill = None  # type: ignore[misc]
    learned = Discoveries(caps)
    assert (learned.prefill, learned.logprobs, learned.prefill_confirmed) == (
        "trailing",
        True,
        False,
    )
    learned.forget_prefill("a reply did not continue the prefill")
    learned.refuse_logprobs()
    assert (learned.prefill, learned.logprobs) == (None, False)
    assert (caps.prefill, caps.logprobs) == ("trailing", True)
    assert len(learned.notes) == 2


def test_native_prefill_cannot_be_forgotten():
    caps = Capabilities(prefill="native", prefill_known=True, logprobs=True, vision=False)
    learned = Discoveries(caps)
    learned.forget_prefill("HTTP 400 to a prefilled request")
    assert learned.prefill == "native"
    assert "kept: native" in learned.notes[0]


def test_a_provider_without_discoveries_is_taken_at_its_capabilities():
    class Bare:
        capabilities = Capabilities(prefill=None, prefill_known=True, logprobs=True, vision=False)

    assert in_use(Bare()) is Bare.capabilities


def test_the_environment_module_reads_the_cache_dir_and_secrets(monkeypatch, tmp_path):
    monkeypatch.setenv("PROBE_CACHE_DIR", str(tmp_path))
    assert environment.cache_dir() == tmp_path
    monkeypatch.delenv("PROBE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert environment.cache_dir() == tmp_path / "xdg" / "probe"
    monkeypatch.setenv("SOMEVENDOR_TOKEN", "tokenvalue123")
    monkeypatch.setenv("SHORT_KEY", "abc")
    secrets = environment.secret_values()
    assert "tokenvalue123" in secrets and "abc" not in secrets
