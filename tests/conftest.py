import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from probe.providers.local import OMP_WAIT_POLICY

# probe sets OMP_WAIT_POLICY before it first imports llama_cpp (probe/providers/local.py), and
# libgomp reads it once, when llama_cpp loads it. Test modules import llama_cpp at collection
# (tests/test_vision_parts.py), before any model is loaded: without this, every embedded-model
# test ran with llama.cpp's threads spinning between computations, at several times the CPU time
# a user's run takes. The llama_cpp.server processes the tests start inherit it too.
os.environ.setdefault("OMP_WAIT_POLICY", OMP_WAIT_POLICY)

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"


@pytest.fixture(autouse=True)
def hermetic(monkeypatch, tmp_path):
    """No user config, colour, key or model choice leaks in from the environment."""
    make_hermetic(monkeypatch, tmp_path / "cache")


def make_hermetic(monkeypatch, cache_dir):
    """The environment every test runs in, its response cache in `cache_dir`. A fixture shared
    by a module's tests runs before `hermetic`: it calls this itself (with
    pytest.MonkeyPatch.context()), or it runs with the user's own cache and keys."""
    for var in (
        "PROBE_MODEL",
        "PROBE_API_BASE",
        "PROBE_API_KEY",
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "PROBE_TRANSPORT",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("PROBE_CACHE_DIR", str(cache_dir))
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    monkeypatch.setenv("LITELLM_MODE", "PRODUCTION")


@pytest.fixture(params=["openai-sdk", "litellm"])
def transport(request, monkeypatch):
    """Both roads to an OpenAI-compatible server: the OpenAI SDK directly (the default for
    openai/NAME with --api-base) and LiteLLM (PROBE_TRANSPORT=litellm, and every other provider).
    Tests that take this fixture run once for each and must hold for both."""
    if request.param == "litellm":
        monkeypatch.setenv("PROBE_TRANSPORT", "litellm")
    return request.param


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def llama_cpp_server(tmp_path_factory):
    """`python -m llama_cpp.server` serving the embedded GGUF: a real OpenAI-compatible server
    that gives logprobs. Its chat endpoint closes a trailing assistant turn instead of continuing
    it. It answers one request at a time, so tests send it one at a time (--concurrency 1) with a
    generous timeout."""
    with start_llama_cpp_server(tmp_path_factory) as base:
        yield base


@pytest.fixture(scope="session")
def llama_cpp_server_without_logprobs(tmp_path_factory):
    """The same server started with `--logits_all false` (its default is true): a request that
    asks for logprobs fails with HTTP 500 ("logprobs is not supported for models created with
    logits_all=False"), as on a server that gives none; the rest is the same. Keeping every
    prompt position's logits, and sorting the whole vocabulary for each token of a reply with
    logprobs, is most of what the server with logprobs spends, so tests that do not read P(yes)
    use this one."""
    with start_llama_cpp_server(tmp_path_factory, logprobs=False) as base:
        yield base


@contextlib.contextmanager
def start_llama_cpp_server(tmp_path_factory, *, logprobs=True):
    """Start one `python -m llama_cpp.server` on a free port; yields its base URL. One thread,
    as probe runs the embedded model (probe/providers/local.py): for this 135M model two threads
    took longer per reply and more CPU."""
    from probe.providers.local import model_path

    port = _free_port()
    log = (tmp_path_factory.mktemp("llama_cpp_server") / "server.log").open("w+b")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model_path("local/smollm2")),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
            "--n_threads",
            "1",
            "--n_threads_batch",
            "1",
            "--seed",
            "0",
            "--logits_all",
            "true" if logprobs else "false",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/models", timeout=1)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log.seek(0)
                tail = log.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"llama_cpp.server did not start: {tail}") from None
            time.sleep(0.2)
    try:
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
