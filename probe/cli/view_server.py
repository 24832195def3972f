"""The server behind `probe view [DIR | FILE…]` (probe/cli/view.py): the HTML report of run files,
served on 127.0.0.1 while you look.

- Read-only: GET and HEAD only; it serves the list of runs and each run's page, both made in
  memory when asked for. Nothing is written anywhere (no page in /tmp to leave behind).
- Only run files: a folder's `*.jsonl` files under it (symlinks followed only when what they
  point to is under it too), or exactly the files named; any other path is "not found".
- Only you: the server listens on 127.0.0.1 alone, every URL starts with a random token (128
  bits, compared in constant time), a request whose Host is not the server's own is refused
  (a DNS-rebinding page cannot borrow it), and pages go out with the report's
  Content-Security-Policy, `no-store` and `nosniff`.
- A run still being written (its lock file, `.NAME.lock`, names a live process) gets a page that
  reloads itself every few seconds; the list marks it.

Ctrl-C (or SIGTERM) stops the server; its exit code is 0.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import html
import os
import secrets
import signal
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REFRESH_S = 5  # a page of a run still being written reloads after this many seconds
MAX_RUNS = 2000  # run files listed


@dataclass(frozen=True)
class RunEntry:
    rel: str  # its path under the root, with "/" between folders: what the URL names
    path: str  # its real path
    size: int
    modified: float
    growing: bool


def being_written(path: str) -> bool:
    """Whether a probe run is writing `path` now: its lock file (probe.records.run_file.RunLock,
    `.NAME.lock` beside it) exists and holds the pid of a live process. Only read: taking the lock,
    even for a moment, could refuse a run that starts at that moment."""
    folder, name = os.path.split(path)
    try:
        with open(os.path.join(folder, f".{name}.lock"), "rb") as fh:
            text = fh.read(32).decode("ascii", "replace").strip()
    except OSError:
        return False
    if not text.isdigit():
        return True  # its owner is writing its pid this instant
    try:
        os.kill(int(text), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


class Runs:
    """The run files a server may show: the `*.jsonl` files under `root`, or exactly `files`."""

    def __init__(self, root: str | None, files: list[str]) -> None:
        self.root = os.path.realpath(root) if root else None
        # files named one by one: by their place in the list, then their name (names may repeat)
        self.files = {
            f"{i}/{os.path.basename(f)}": os.path.realpath(f) for i, f in enumerate(files, 1)
        }

    def _inside(self, real: str) -> bool:
        assert self.root is not None
        return os.path.commonpath([real, self.root]) == self.root

    def _walk(self) -> Iterator[str]:
        """Each run file's path under the root, relative, with "/" between folders."""
        assert self.root is not None
        for folder, dirs, names in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                if name.endswith(".jsonl") and not name.startswith("."):
                    yield Path(os.path.relpath(os.path.join(folder, name), self.root)).as_posix()

    def listing(self) -> list[RunEntry]:
        found = []
        for rel in self._walk() if self.root is not None else iter(self.files):
            entry = self.find(rel)
            if entry is not None:
                found.append(entry)
            if len(found) >= MAX_RUNS:
                break
        return found

    def find(self, rel: str) -> RunEntry | None:
        """The run file a URL names, or None: never a path outside the root, never a file that
        is not a `.jsonl` file."""
        if self.root is None:
            path = self.files.get(rel)
            if path is None:
                return None
        else:
            parts = rel.split("/")
            if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
                return None
            if "\x00" in rel or not rel.endswith(".jsonl"):
                return None
            path = os.path.realpath(os.path.join(self.root, *parts))
            if not self._inside(path) or not path.endswith(".jsonl"):
                return None
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            return None
        import stat

        if not stat.S_ISREG(st.st_mode):
            return None
        return RunEntry(rel, path, st.st_size, st.st_mtime, being_written(path))


LIST_STYLE = """body{margin:0 auto;max-width:60rem;padding:1rem;font:15px/1.5 system-ui,sans-serif;
color:#1b1f24;background:#fff}@media (prefers-color-scheme:dark){body{color:#e6edf3;background:#0d1117}
a{color:#4493f8}}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;
border-bottom:1px solid #8884;vertical-align:top}td.n{text-align:right;white-space:nowrap}
td.name{overflow-wrap:anywhere}.live{color:#9a6700;font-weight:600}.dim{color:#888}
@media (max-width:600px){td.date,th.date{display:none}}"""


def list_page(runs: Runs, where: str) -> str:
    entries = runs.listing()
    growing = any(e.growing for e in entries)
    rows = []
    for e in entries:
        when = dt.datetime.fromtimestamp(e.modified, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        href = "run/" + urllib.parse.quote(e.rel)
        live = ' <span class="live">being written</span>' if e.growing else ""
        rows.append(
            f'<tr data-run="{html.escape(e.rel)}"><td class="name"><a href="{html.escape(href)}">'
            f'{html.escape(e.rel)}</a>{live}</td><td class="n">{e.size / 1e3:,.1f} kB</td>'
            f'<td class="date">{when}</td></tr>'
        )
    body = (
        "".join(rows)
        if rows
        else '<tr><td colspan="3" class="dim">no run files (*.jsonl) here yet</td></tr>'
    )
    refresh = f'<meta http-equiv="refresh" content="{REFRESH_S}">' if growing else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{html.escape(list_policy())}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="referrer" content="no-referrer">{refresh}<title>probe view: '
        f"{html.escape(where)}</title><style>{LIST_STYLE}</style></head><body>"
        f"<h1>Runs under {html.escape(where)}</h1>"
        f'<p class="dim">{len(entries)} run file{"s" if len(entries) != 1 else ""}; '
        "each opens as its HTML report (numbers as <code>probe report --json</code> gives them)."
        f"{' Runs being written reload every ' + str(REFRESH_S) + ' s.' if growing else ''}</p>"
        '<table><thead><tr><th>run file</th><th>size</th><th class="date">last written</th>'
        f"</tr></thead><tbody>{body}</tbody></table></body></html>"
    )


def list_policy() -> str:
    from probe.reporting.html import csp_hash

    return (
        f"default-src 'none'; style-src {csp_hash(LIST_STYLE)}; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, runs: Runs, where: str, image_px: int, port: int) -> None:
        self.runs = runs
        self.where = where
        self.image_px = image_px
        self.token = secrets.token_urlsafe(16)
        super().__init__(("127.0.0.1", port), Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that failed (the browser went away mid-page): one line, no traceback."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, ConnectionError | TimeoutError):
            sys.stderr.write(f"probe: a request failed: {exc!r}\n")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{self.token}/"


class Handler(BaseHTTPRequestHandler):
    server: Server
    server_version = "probe-view"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a request is nobody's business on stderr; errors are answered in the page

    def _send(self, status: int, body: str, policy: str | None = None) -> None:
        data = body.encode("utf-8", "surrogateescape")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Content-Security-Policy", policy or "default-src 'none'")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _refuse(self, status: int, why: str) -> None:
        self._send(status, f"<!doctype html><title>{status}</title><p>{html.escape(why)}</p>")

    def _host_ok(self) -> bool:
        port = self.server.server_address[1]
        return self.headers.get("Host", "") in (f"127.0.0.1:{port}", f"localhost:{port}")

    def do_GET(self) -> None:
        if not self._host_ok():
            return self._refuse(403, "wrong host")
        url = urllib.parse.urlsplit(self.path)
        token, _, rest = url.path.lstrip("/").partition("/")
        if not hmac.compare_digest(token.encode(), self.server.token.encode()):
            return self._refuse(404, "not found")
        if rest == "":
            return self._send(200, list_page(self.server.runs, self.server.where), list_policy())
        if rest.startswith("run/"):
            return self._run(urllib.parse.unquote(rest[4:]))
        return self._refuse(404, "not found")

    def do_HEAD(self) -> None:
        self.do_GET()

    def _not_allowed(self) -> None:
        self.send_response(405)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PUT = do_DELETE = do_PATCH = _not_allowed

    def _run(self, rel: str) -> None:
        from probe.reporting import html as report_html

        entry = self.server.runs.find(rel)
        if entry is None:
            return self._refuse(404, "not found")
        roots = [self.server.runs.root] if self.server.runs.root else []
        try:
            page = report_html.build(
                [entry.path],
                image_px=self.server.image_px,
                input_roots=roots,
                growing=entry.growing,
                refresh=REFRESH_S if entry.growing else None,
                back="../" * (rel.count("/") + 1),
            )
        except OSError as exc:
            return self._refuse(500, f"{rel}: {exc.strerror or exc}")
        except Exception as exc:  # a bug: one line on stderr and a page that says so
            from probe.pipeline.view import safe

            sys.stderr.write(safe(f"probe: error: {rel}: the page could not be made: {exc!r}\n"))
            return self._refuse(500, f"{rel}: the page could not be made ({type(exc).__name__})")
        self._send(200, page.html, report_html.policy())


def serve(server: Server, ready: Callable[[], None]) -> None:
    """Serve until Ctrl-C or SIGTERM (`ready` runs once the server answers: it opens the
    browser), then close the socket. Either signal, whenever it comes, ends it cleanly."""
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2})
    thread.daemon = True
    try:
        thread.start()
        ready()
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.shutdown()
        with contextlib.suppress(OSError):
            server.server_close()
        sys.stderr.write("probe: stopped serving\n")
