"""A scripted OpenAI-compatible chat server on 127.0.0.1, for behaviour a real model cannot be made
to show on demand: a server that echoes and continues prefills (as llama.cpp's llama-server does),
one that rejects them with HTTP 400 (as Claude 4.6+ does), rate limits, 5xx, hangs, garbage, a
body trickled a byte at a time or cut off halfway.

Each test gives it a `reply(request_json, n)` function: n counts requests from 1. The function
returns a `Reply`. Every request is kept in `server.requests` so tests can see what probe sent.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    content: str | None = None  # the assistant message content
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None  # raw body instead of a chat completion
    delay_s: float = 0.0
    drop: bool = False  # close the connection without answering
    top_logprobs: dict[str, float] | None = None  # first-token {token: logprob}
    finish_reason: str = "stop"  # "length": the reply was cut off at max_tokens
    trickle_s: float = 0.0  # send the body one byte at a time, this long apart
    cut_at: int | None = None  # send only this many bytes of the body, then close the connection


def completion_body(
    content: str, top_logprobs: dict[str, float] | None = None, finish_reason: str = "stop"
) -> bytes:
    choice: dict[str, Any] = {
        "index": 0,
        "message": {"role": "assistant", "content": content},
        "finish_reason": finish_reason,
    }
    if top_logprobs:
        first = max(top_logprobs, key=top_logprobs.get)
        choice["logprobs"] = {
            "content": [
                {
                    "token": first,
                    "logprob": top_logprobs[first],
                    "bytes": None,
                    "top_logprobs": [
                        {"token": t, "logprob": lp, "bytes": None} for t, lp in top_logprobs.items()
                    ],
                }
            ]
        }
    return json.dumps(
        {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": "scripted",
            "choices": [choice],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
    ).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 drops bursts of new connections

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):  # reset, broken pipe, not connected
            return  # a client that gave up on a faulty reply is the point of the script, not news
        super().handle_error(request, client_address)


class ScriptedServer:
    def __init__(self, reply: Callable[[dict[str, Any], int], Reply]) -> None:
        self.reply = reply
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.arrivals: list[float] = []  # time.monotonic() of each request
        self.active = 0
        self.max_active = 0  # most requests in flight at once
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                if len(body) < length:  # the client went away mid-request (killed): no request
                    self.close_connection = True
                    return
                payload = json.loads(body or b"{}")
                with server._lock:
                    server.requests.append(payload)
                    server.headers.append(dict(self.headers))
                    server.arrivals.append(time.monotonic())
                    n = len(server.requests)
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                try:
                    self._answer(server.reply(payload, n))
                finally:
                    with server._lock:
                        server.active -= 1

            def _answer(self, r: Reply) -> None:
                if r.delay_s:
                    time.sleep(r.delay_s)
                if r.drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                body = (
                    r.body
                    if r.body is not None
                    else completion_body(r.content or "", r.top_logprobs, r.finish_reason)
                )
                if r.status != 200 and r.body is None:
                    body = json.dumps(
                        {"error": {"message": r.content or "scripted error", "type": "test"}}
                    ).encode()
                try:
                    self.send_response(r.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(body)))
                    for k, v in r.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    if r.cut_at is not None:
                        self.wfile.write(body[: r.cut_at])
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(2)
                    elif r.trickle_s:
                        for i in range(len(body)):
                            self.wfile.write(body[i : i + 1])
                            self.wfile.flush()
                            time.sleep(r.trickle_s)
                    else:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def text_of(content: Any) -> str:
    """A message's words, whether its content is a string or a list of parts (a request with an
    image sends every message as parts)."""
    if isinstance(content, str):
        return content
    return " ".join(p.get("text", "") for p in content if p.get("type") == "text")


def last_user_text(payload: dict[str, Any]) -> str:
    for m in reversed(payload["messages"]):
        if m["role"] == "user":
            return text_of(m["content"])
    return ""


def prefill_of(payload: dict[str, Any]) -> str | None:
    last = payload["messages"][-1]
    return text_of(last["content"]) if last["role"] == "assistant" else None


def steady_model(payload: dict[str, Any], n: int) -> Reply:
    """A model of known behaviour: says Yes, and continues any prefill it is given (echoing it,
    as llama.cpp's llama-server does), defending the forced answer without pushback."""
    prefill = prefill_of(payload)
    if prefill:
        return Reply(prefill + " because nothing in it is unexpected.")
    if "last line" in last_user_text(payload):
        return Reply("Something unexpected happens.\nAnswer: Yes")
    return Reply("Yes. Something unexpected happens.")
