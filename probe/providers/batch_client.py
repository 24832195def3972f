"""A provider's batch API through LiteLLM: upload a JSONL file of chat requests
(`litellm.create_file`), start a batch on it (`create_batch`), ask how it is doing
(`retrieve_batch`), download its results (`file_content`) and read each result line. The
synchronous functions, each in a thread: LiteLLM keeps the clients it makes, and an async one
would outlive the event loop it was made in.

LiteLLM 1.106.2 creates batches for openai, azure, vertex_ai, bedrock, mistral, xai and the
OpenAI-compatible hosted_vllm / litellm_proxy; it only retrieves Anthropic's Message Batches (no
create path). probe sends the OpenAI wire format, so it opens the providers whose files and
batches LiteLLM serves as OpenAI's (`BATCH_PROVIDERS`): OpenAI itself and any server speaking its
Batch API at --api-base.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from probe.errors import ProviderError, UsageError
from probe.providers.pricing import price_map_entry
from probe.providers.replies import completion_of
from probe.redaction import redact, url_secrets

BATCH_PROVIDERS = ("openai", "hosted_vllm", "litellm_proxy")
ENDPOINT = "/v1/chat/completions"
WINDOW = "24h"  # the only completion window OpenAI's Batch API offers
RUNNING = ("validating", "in_progress", "finalizing", "cancelling")
MAX_LINES = 50_000  # requests per batch (OpenAI's limit)
MAX_BYTES = 190_000_000  # of one batch file (OpenAI's limit: 200 MB)


def check_provider(provider: str, model: str) -> None:
    if provider not in BATCH_PROVIDERS:
        raise UsageError(
            f"--batch-api: {model} is a {provider} model; probe submits batches in OpenAI's "
            f"format, to {', '.join(BATCH_PROVIDERS)} (any server with OpenAI's Batch API at "
            "--api-base). Run it without --batch-api"
        )


@dataclass(frozen=True)
class BatchStatus:
    """What a provider says of one batch."""

    id: str
    status: str  # validating, in_progress, finalizing, completed, failed, expired, cancelling, cancelled
    total: int
    completed: int
    failed: int
    output_file_id: str | None
    error_file_id: str | None
    errors: str | None  # why the batch as a whole failed, if it did

    @property
    def running(self) -> bool:
        return self.status in RUNNING


@dataclass(frozen=True)
class LineResult:
    """One line of a batch's output or error file: a reply body, or why there is none."""

    custom_id: str
    body: dict[str, Any] | None
    error: str | None


class BatchClient:
    """One provider's files and batches (the model's provider, endpoint and key)."""

    def __init__(self, provider: str, api_base: str | None, api_key: str | None) -> None:
        from probe.providers.litellm_road import import_litellm

        self.litellm = import_litellm()
        self.provider = provider
        self.api_base = api_base
        self.api_key = api_key
        self._secrets = (api_key, *url_secrets(api_base))

    def _where(self) -> dict[str, Any]:
        where: dict[str, Any] = {"custom_llm_provider": self.provider, "max_retries": 2}
        if self.api_base:
            where["api_base"] = self.api_base
        if self.api_key:
            where["api_key"] = self.api_key
        return where

    async def upload(self, lines: list[dict[str, Any]]) -> str:
        """Upload a batch file of requests; its file id."""
        data = b"".join(
            (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8", "surrogatepass")
            for line in lines
        )
        try:
            uploaded = await asyncio.to_thread(
                self.litellm.create_file,
                file=("probe-batch.jsonl", data, "application/jsonl"),
                purpose="batch",
                **self._where(),
            )
        except Exception as exc:
            raise ProviderError(self._failed("uploading a batch file", exc)) from None
        return str(uploaded.id)

    async def create(self, file_id: str, metadata: dict[str, str]) -> str:
        """Start a batch on an uploaded file; its id."""
        try:
            batch = await asyncio.to_thread(
                self.litellm.create_batch,
                completion_window=WINDOW,
                endpoint=ENDPOINT,
                input_file_id=file_id,
                metadata=metadata,
                **self._where(),
            )
        except Exception as exc:
            raise ProviderError(self._failed("starting a batch", exc)) from None
        return str(batch.id)

    async def find(self, file_id: str) -> str | None:
        """The batch started on an uploaded file, among the latest 100; None if there is none."""
        try:
            page = await asyncio.to_thread(self.litellm.list_batches, limit=100, **self._where())
        except Exception as exc:
            raise ProviderError(self._failed("listing batches", exc)) from None
        for batch in getattr(page, "data", None) or []:
            if getattr(batch, "input_file_id", None) == file_id:
                return str(batch.id)
        return None

    async def retrieve(self, batch_id: str) -> BatchStatus:
        try:
            batch = await asyncio.to_thread(
                self.litellm.retrieve_batch, batch_id=batch_id, **self._where()
            )
        except Exception as exc:
            raise ProviderError(self._failed(f"asking about batch {batch_id}", exc)) from None
        counts = getattr(batch, "request_counts", None)
        errors = getattr(batch, "errors", None)
        data = getattr(errors, "data", None) or []
        return BatchStatus(
            id=batch_id,
            status=str(batch.status),
            total=int(getattr(counts, "total", 0) or 0),
            completed=int(getattr(counts, "completed", 0) or 0),
            failed=int(getattr(counts, "failed", 0) or 0),
            output_file_id=getattr(batch, "output_file_id", None),
            error_file_id=getattr(batch, "error_file_id", None),
            errors="; ".join(str(getattr(e, "message", e)) for e in data) or None,
        )

    async def results(self, file_id: str) -> list[LineResult]:
        """The lines of an output or error file."""
        try:
            content = await asyncio.to_thread(
                self.litellm.file_content, file_id=file_id, **self._where()
            )
        except Exception as exc:
            raise ProviderError(self._failed(f"downloading file {file_id}", exc)) from None
        raw = getattr(content, "content", content)
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        return [read_line(line) for line in text.splitlines() if line.strip()]

    def _failed(self, doing: str, exc: Exception) -> str:
        message = f"{doing} at {self.provider}: {type(exc).__name__}: {exc}"
        return redact(message, *[s for s in self._secrets if s])


def read_line(line: str) -> LineResult:
    """One result line: {custom_id, response: {status_code, body}, error}."""
    try:
        data = json.loads(line)
    except ValueError:
        return LineResult("", None, "a result line that is not JSON")
    if not isinstance(data, dict):
        return LineResult("", None, "a result line that is not a JSON object")
    custom_id = str(data.get("custom_id") or "")
    response = data.get("response") or {}
    error = data.get("error")
    status = response.get("status_code") if isinstance(response, dict) else None
    body = response.get("body") if isinstance(response, dict) else None
    if error or status != 200 or not isinstance(body, dict):
        if not error and isinstance(body, dict):
            error = body.get("error")
        if isinstance(error, dict):
            error = f"{error.get('code') or error.get('type') or 'error'}: {error.get('message')}"
        return LineResult(custom_id, None, f"HTTP {status}: {error}" if status else str(error))
    return LineResult(custom_id, body, None)


def completion_from(body: dict[str, Any], prefill: str | None, priced: str | None) -> Any:
    """A result body as the Completion the road would have made of the same reply. `priced`:
    the model's name in LiteLLM's price map, priced at its batch rates (None: not priced)."""
    from openai.types.chat import ChatCompletion

    response = ChatCompletion.model_validate(body)
    return completion_of(response, prefill, 0.0, lambda r: batch_cost(r, priced))


def batch_cost(response: Any, priced: str | None) -> float | None:
    """What a batch reply cost at the price map's batch rates (`*_cost_per_token_batches`)."""
    if priced is None or response.usage is None:
        return None
    entry = price_map_entry(priced)
    per_in = entry.get("input_cost_per_token_batches")
    per_out = entry.get("output_cost_per_token_batches")
    if per_in is None or per_out is None:
        return None
    usage = response.usage
    return float(float(per_in) * usage.prompt_tokens + float(per_out) * usage.completion_tokens)
