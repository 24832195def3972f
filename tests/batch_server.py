"""A scripted OpenAI Batch API on 127.0.0.1: `/v1/files` (multipart upload, the file, its content)
and `/v1/batches` (create, list, retrieve, cancel), plus `/v1/chat/completions` for runs without
batches. It stands for OpenAI's Batch API as documented, with behaviour a real provider cannot be
made to show on demand: a batch stays `in_progress` for a number of polls, request lines fail
(they go to the batch's error file), a batch expires with part of its requests done.

Each request line of a batch is answered by the same `reply(payload, n)` function a
tests.scripted_server.ScriptedServer takes (a model of known behaviour), when the batch completes.
Everything is counted: `chat_requests` (direct calls), `batch_lines` (every request line of every
batch, as (batch id, custom_id, body)), `batches` (by id), `authorizations` (headers seen).
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.scripted_server import Reply, completion_body

Outcome = str  # "complete", "expire" (half the lines done), "fail" (validation failed)


@dataclass
class Batch:
    id: str
    input_file_id: str
    lines: list[dict[str, Any]]
    outcome: Outcome
    polls_left: int
    created_at: int
    status: str = "validating"
    output_file_id: str | None = None
    error_file_id: str | None = None
    done: int = 0
    failed: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "errors": None,
            "input_file_id": self.input_file_id,
            "completion_window": "24h",
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            "request_counts": {
                "total": len(self.lines),
                "completed": self.done,
                "failed": self.failed,
            },
            "metadata": self.metadata,
        }
        if self.status == "failed":
            body["errors"] = {
                "object": "list",
                "data": [{"code": "invalid_request", "message": "scripted validation failure"}],
            }
        return body


class BatchServer:
    def __init__(
        self,
        reply: Callable[[dict[str, Any], int], Reply],
        *,
        polls: int = 1,
        fail_line: Callable[[str, dict[str, Any]], str | None] | None = None,
        outcomes: list[Outcome] | None = None,
    ) -> None:
        self.reply = reply
        self.polls = polls  # retrieves a batch stays in_progress for
        self.fail_line = fail_line  # (custom_id, body) -> error message for the error file
        self.outcomes = list(outcomes or [])  # per batch created, in order; then "complete"
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, Batch] = {}
        self.chat_requests: list[dict[str, Any]] = []
        self.batch_lines: list[tuple[str, str, dict[str, Any]]] = []
        self.authorizations: list[str] = []
        self.answered = 0  # requests given to `reply`
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server._note_auth(self.headers)
                server._route(self, "GET", b"")

            def do_POST(self) -> None:
                server._note_auth(self.headers)
                length = int(self.headers.get("content-length", 0))
                server._route(self, "POST", self.rfile.read(length))

            def send(self, status: int, body: bytes, kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    # --- routing ---

    def _note_auth(self, headers: Any) -> None:
        with self._lock:
            self.authorizations.append(headers.get("authorization", ""))

    def _route(self, h: Any, method: str, body: bytes) -> None:
        path = h.path.split("?")[0].removeprefix("/v1")
        parts = [p for p in path.split("/") if p]
        with self._lock:
            if method == "POST" and parts == ["chat", "completions"]:
                payload = json.loads(body)
                self.chat_requests.append(payload)
                return h.send(200, self._answer(payload))
            if method == "POST" and parts == ["files"]:
                return h.send(200, self._upload(h.headers.get("content-type", ""), body))
            if method == "GET" and len(parts) >= 2 and parts[0] == "files":
                data = self.files.get(parts[1])
                if data is None:
                    return h.send(404, _error("no such file"))
                if parts[2:] == ["content"]:
                    return h.send(200, data, "application/octet-stream")
                return h.send(200, json.dumps(_file_object(parts[1], data)).encode())
            if method == "GET" and parts == ["batches"]:
                listed = [b.as_json() for b in reversed(self.batches.values())]
                page = {"object": "list", "data": listed, "has_more": False}
                return h.send(200, json.dumps(page).encode())
            if method == "POST" and parts == ["batches"]:
                return h.send(200, self._create(json.loads(body)))
            if len(parts) >= 2 and parts[0] == "batches" and parts[1] in self.batches:
                batch = self.batches[parts[1]]
                if method == "POST" and parts[2:] == ["cancel"]:
                    self._finish(batch, "cancelled", answer=0)
                elif method == "GET":
                    self._poll(batch)
                return h.send(200, json.dumps(batch.as_json()).encode())
            return h.send(404, _error(f"no route {method} {path}"))

    # --- behaviour ---

    def _answer(self, payload: dict[str, Any]) -> bytes:
        self.answered += 1
        r = self.reply(payload, self.answered)
        return completion_body(r.content or "", r.top_logprobs, r.finish_reason)

    def _upload(self, content_type: str, body: bytes) -> bytes:
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"content-type: {content_type}\r\n\r\n".encode() + body
        )
        data = b""
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                data = part.get_payload(decode=True)
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = data
        return json.dumps(_file_object(file_id, data)).encode()

    def _create(self, request: dict[str, Any]) -> bytes:
        data = self.files[request["input_file_id"]]
        lines = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
        batch_id = f"batch_{len(self.batches) + 1}"
        outcome = self.outcomes.pop(0) if self.outcomes else "complete"
        for line in lines:
            self.batch_lines.append((batch_id, line["custom_id"], line["body"]))
        batch = Batch(
            batch_id,
            request["input_file_id"],
            lines,
            outcome,
            self.polls,
            int(time.time()),
            metadata=request.get("metadata") or {},
        )
        self.batches[batch_id] = batch
        return json.dumps(batch.as_json()).encode()

    def _poll(self, batch: Batch) -> None:
        if batch.status in ("completed", "failed", "expired", "cancelled"):
            return
        if batch.polls_left > 0:
            batch.polls_left -= 1
            batch.status = "in_progress"
            return
        if batch.outcome == "fail":
            batch.status = "failed"
        elif batch.outcome == "expire":
            self._finish(batch, "expired", answer=len(batch.lines) // 2)
        else:
            self._finish(batch, "completed", answer=len(batch.lines))

    def _finish(self, batch: Batch, status: str, *, answer: int) -> None:
        """Answer the first `answer` lines (those `fail_line` fails go to the error file); the
        rest are expired or cancelled requests, in the error file too."""
        out, errors = [], []
        for i, line in enumerate(batch.lines):
            custom_id = line["custom_id"]
            failure = self.fail_line(custom_id, line["body"]) if self.fail_line else None
            if i >= answer:
                code = "batch_expired" if status == "expired" else "batch_cancelled"
                errors.append(
                    {
                        "id": f"req_{i}",
                        "custom_id": custom_id,
                        "response": None,
                        "error": {"code": code, "message": f"this request was {status}"},
                    }
                )
            elif failure:
                errors.append(
                    {
                        "id": f"req_{i}",
                        "custom_id": custom_id,
                        "response": {
                            "status_code": 500,
                            "request_id": f"r{i}",
                            "body": {"error": {"message": failure, "type": "server_error"}},
                        },
                        "error": None,
                    }
                )
            else:
                body = json.loads(self._answer(line["body"]))
                out.append(
                    {
                        "id": f"req_{i}",
                        "custom_id": custom_id,
                        "response": {"status_code": 200, "request_id": f"r{i}", "body": body},
                        "error": None,
                    }
                )
        batch.done, batch.failed = len(out), len(errors)
        if out:
            batch.output_file_id = self._store(out)
        if errors:
            batch.error_file_id = self._store(errors)
        batch.status = status

    def _store(self, lines: list[dict[str, Any]]) -> str:
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = b"".join(json.dumps(x).encode() + b"\n" for x in lines)
        return file_id

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> BatchServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _file_object(file_id: str, data: bytes) -> dict[str, Any]:
    return {
        "id": file_id,
        "object": "file",
        "bytes": len(data),
        "created_at": int(time.time()),
        "filename": "probe-batch.jsonl",
        "purpose": "batch",
        "status": "processed",
    }


def _error(message: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": "invalid_request_error"}}).encode()
