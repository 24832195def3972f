"""`probe view DIR`: the reports of a folder of runs, served on 127.0.0.1 (issue 20 item 3; issue
21 item 7). Read-only, only run files under DIR, a random token in every URL, nothing written
anywhere (no page left in /tmp, however it stops), and a page that reloads while its run is still
being written. The server runs as a real `probe view` process."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from tests.helpers import forced_run, record, run

PROBE = [sys.executable, "-m", "probe"]


def _records(model="demo"):
    return [
        record(
            f"r{i}",
            {
                "decide-first": run("yes"),
                "forced": forced_run("no", "forced" if i % 2 else "other"),
                "explain-first": run("yes"),
            },
            verdict="rationalizes" if i % 2 else "resists",
            model=model,
        )
        for i in range(4)
    ]


def _write(path: Path, records) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


class Served:
    """`probe view ARGS --no-browser` in its own process, with an empty TMPDIR of its own."""

    def __init__(self, tmp_path: Path, *args: str, env: dict | None = None) -> None:
        self.tmp = tmp_path / "tmpdir"
        self.tmp.mkdir()
        self.proc = subprocess.Popen(
            [*PROBE, "view", *args, "--no-browser"],
            stderr=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "TMPDIR": str(self.tmp), **(env or {})},
        )
        line = self.proc.stderr.readline()
        found = re.search(r"(http://127\.0\.0\.1:(\d+)/([\w-]+)/)", line)
        assert found, line + self.proc.stderr.read()
        self.url, self.port, self.token = found.group(1), int(found.group(2)), found.group(3)

    def get(self, path: str, *, host: str | None = None, method: str = "GET"):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request(method, path, headers={"Host": host or f"127.0.0.1:{self.port}"})
        response = conn.getresponse()
        body = response.read().decode("utf-8")
        conn.close()
        return response.status, dict(response.getheaders()), body

    def page(self, rel: str = "") -> str:
        status, _, body = self.get(f"/{self.token}/{rel}")
        assert status == 200, body
        return body

    def stop(self, sig=signal.SIGINT) -> tuple[int, str]:
        self.proc.send_signal(sig)
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        return self.proc.returncode, err

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "runs"
    _write(root / "a.jsonl", _records())
    _write(root / "nested" / "b.jsonl", _records("other"))
    (root / "notes.txt").write_text("not a run")
    return root


def test_lists_the_runs_under_the_folder_and_serves_each_report(tmp_path, folder):
    with Served(tmp_path, str(folder)) as served:
        listing = served.page()
        runs = re.findall(r'<tr data-run="([^"]+)">', listing)
        assert runs == ["a.jsonl", "nested/b.jsonl"]
        assert "notes.txt" not in listing
        for rel in runs:
            page = served.page("run/" + urllib.parse.quote(rel))
            assert f"probe report: {Path(rel).name}" in page
            assert '<meta http-equiv="refresh"' not in page  # not being written
        code, err = served.stop()
    assert code == 0, err
    assert list(served.tmp.iterdir()) == []  # nothing written, nothing left behind


def test_only_the_token_only_run_files_under_the_folder_only_reads(tmp_path, folder):
    secret = tmp_path / "secret.jsonl"
    _write(secret, _records("secret-model"))
    (folder / "link.jsonl").symlink_to(secret)  # a link out of the folder
    with Served(tmp_path, str(folder)) as served:
        token = served.token
        assert served.get("/")[0] == 404
        assert served.get(f"/{token[:-1]}x/")[0] == 404
        assert served.get("/run/a.jsonl")[0] == 404
        for rel in (
            "../secret.jsonl",
            "..%2Fsecret.jsonl",
            "link.jsonl",
            "notes.txt",
            str(secret),
            "%2Fetc%2Fpasswd",
            "nested/../../secret.jsonl",
        ):
            status, _, body = served.get(f"/{token}/run/{rel}")
            assert status == 404, rel
            assert "secret-model" not in body
        assert "link.jsonl" not in served.page()
        assert served.get(f"/{token}/", method="POST")[0] == 405
        assert served.get(f"/{token}/", method="DELETE")[0] == 405
        # a page of another site resolving its name to 127.0.0.1 is refused
        assert served.get(f"/{token}/", host=f"evil.example:{served.port}")[0] == 403
        status, headers, _ = served.get(f"/{token}/run/a.jsonl")
        assert status == 200
        assert headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert headers["Cache-Control"] == "no-store"
        assert headers["X-Content-Type-Options"] == "nosniff"
        served.stop()


def test_a_run_being_written_reloads_and_its_torn_last_line_is_not_an_error(tmp_path, folder):
    live = folder / "live.jsonl"
    lines = [json.dumps(r) for r in _records()]
    live.write_text("\n".join(lines[:2]) + "\n" + lines[2][:40])  # a record half written
    lock = folder / ".live.jsonl.lock"
    lock.write_text(f"{os.getpid()}\n")  # a live process holds it
    with Served(tmp_path, str(folder)) as served:
        listing = served.page()
        assert re.search(r'data-run="live.jsonl">.*being written', listing)
        page = served.page("run/live.jsonl")
        assert '<meta http-equiv="refresh" content="5">' in page
        assert "still being written" in page
        assert "not valid JSON" not in page
        assert page.count('<tbody class="input"') == 2
        lock.unlink()  # the run finished
        live.write_text("\n".join(lines) + "\n")
        page = served.page("run/live.jsonl")
        assert '<meta http-equiv="refresh"' not in page
        assert page.count('<tbody class="input"') == 4
        served.stop(signal.SIGTERM)
    assert list(served.tmp.iterdir()) == []


def test_a_lock_file_of_a_dead_process_is_not_a_run_being_written(tmp_path, folder):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    (folder / ".a.jsonl.lock").write_text(dead + "\n")
    with Served(tmp_path, str(folder)) as served:
        assert "being written" not in served.page()
        served.stop()


def test_view_of_files_serves_exactly_those(tmp_path, folder):
    with Served(tmp_path, str(folder / "a.jsonl"), str(folder / "nested" / "b.jsonl")) as served:
        listing = served.page()
        assert re.findall(r'<tr data-run="([^"]+)">', listing) == ["1/a.jsonl", "2/b.jsonl"]
        assert "probe report: b.jsonl" in served.page("run/2/b.jsonl")
        assert served.get(f"/{served.token}/run/3/a.jsonl")[0] == 404
        served.stop()


def test_view_opens_the_browser_at_the_servers_address(tmp_path, folder):
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser"
    browser.write_text(
        f"#!{sys.executable}\nimport sys\nopen({str(opened)!r}, 'w').write(sys.argv[1])\n"
    )
    browser.chmod(0o755)
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    proc = subprocess.Popen(
        [*PROBE, "view", str(folder)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "BROWSER": str(browser), "TMPDIR": str(tmp)},
    )
    try:
        line = proc.stderr.readline()
        for _ in range(200):
            if opened.exists() and opened.read_text():
                break
            time.sleep(0.05)
        assert opened.read_text() in line
        assert opened.read_text().startswith("http://127.0.0.1:")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert list(tmp.iterdir()) == []


def test_view_of_a_missing_file_is_a_usage_error(tmp_path):
    result = subprocess.run(
        [*PROBE, "view", str(tmp_path / "nope.jsonl"), "--no-browser"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no such file" in result.stderr
