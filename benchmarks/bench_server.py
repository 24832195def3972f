"""An OpenAI-compatible chat server on 127.0.0.1 that answers every request after a fixed delay.

It behaves like tests/scripted_server.py's `steady_model`: it continues a prefill (echoing it, as
llama.cpp's llama-server does), ends an explain-first reply with "Answer: Yes", and otherwise
answers "Yes. …". A thread per connection and a deep listen backlog let it hold 32+ requests at
once; it counts requests and the most it held at once. With `slots=N` it works on at most N
requests at a time (the rest wait their turn, as on a GPU server with N sequence slots), each
taking `delay_s` once its turn comes.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def reply_text(payload: dict[str, Any]) -> str:
    last = payload["messages"][-1]
    if last["role"] == "assistant":
        return last["content"] + " because nothing in it is unexpected."
    user = next(m["content"] for m in reversed(payload["messages"]) if m["role"] == "user")
    if "last line" in str(user):
        return "Something unexpected happens.\nAnswer: Yes"
    return "Yes. Something unexpected happens."


def completion_body(content: str) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": "bench",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
        }
    ).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 drops bursts of new connections


class BenchServer:
    def __init__(
        self, delay_s: float = 0.2, slots: int | None = None, keep_bodies: bool = False
    ) -> None:
        self.delay_s = delay_s
        self.bodies: list[bytes] | None = [] if keep_bodies else None  # each request body
        self.slots = threading.BoundedSemaphore(slots) if slots else None
        self.requests = 0
        self.active = 0
        self.max_active = 0
        self.first_arrival: float | None = None  # time.monotonic() of the first request
        self.last_reply: float | None = None  # time.monotonic() of the last reply sent
        self.spans: list[tuple[float, float]] = []  # (arrival, reply) of each request
        self._lock = threading.Lock()
        bench = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: with Nagle on, the body waits for the
            # client's delayed ACK of the headers, adding ~40 ms to every reply.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                payload = json.loads(raw or b"{}")
                arrival = time.monotonic()
                with bench._lock:
                    bench.first_arrival = bench.first_arrival or arrival
                    bench.requests += 1
                    if bench.bodies is not None:
                        bench.bodies.append(raw)
                    bench.active += 1
                    bench.max_active = max(bench.max_active, bench.active)
                try:
                    if bench.slots is not None:
                        with bench.slots:
                            time.sleep(bench.delay_s)
                    else:
                        time.sleep(bench.delay_s)
                    body = completion_body(reply_text(payload))
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                finally:
                    with bench._lock:
                        bench.active -= 1
                        bench.last_reply = time.monotonic()
                        bench.spans.append((arrival, bench.last_reply))

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def in_flight(self, step_s: float = 0.5) -> list[float]:
        """Mean requests held in each step_s window from the first arrival to the last reply."""
        if not self.spans:
            return []
        start, end = self.first_arrival, self.last_reply
        windows = [0.0] * (int((end - start) / step_s) + 1)
        for a, b in self.spans:
            for w in range(int((a - start) / step_s), int((b - start) / step_s) + 1):
                lo, hi = start + w * step_s, start + (w + 1) * step_s
                windows[w] += max(0.0, min(b, hi) - max(a, lo)) / step_s
        return windows

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> BenchServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
