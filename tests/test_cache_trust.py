"""Whom the response cache trusts (probe/providers/cache.py), against a scripted server on
127.0.0.1 that stands for the model: a reply is read back only if this user's probe wrote it —
the cache directory and database are private and refused when others may write them, each entry
is signed — and a reply read back never carries the run's keys, even one stored before replies
were scrubbed."""

import json
import os
import sqlite3
import stat

import pytest

from tests.conftest import SAMPLES
from tests.helpers import records_of, run_cli
from tests.scripted_server import Reply, ScriptedServer

SCENE = SAMPLES / "dog-wedding.txt"
KEY = "sk-cache-trust-0123456789"


def _says_yes(payload, n):
    return Reply("Yes. The dog steals the ring.")


def _probe(server, *args):
    return run_cli(
        "funny",
        SCENE,
        "--variants",
        "decide-first",
        "--jsonl",
        "--model",
        "openai/m",
        "--api-base",
        server.base_url,
        "--api-key",
        KEY,
        *args,
    )


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_well_formed_entry_written_by_another_program_is_not_read_as_the_models_reply(tmp_path):
    """Another program (or a cache copied from elsewhere) puts a well-formed reply under the
    request's key: it is asked again, and one warning names the cache file."""
    database = tmp_path / "cache" / "responses.sqlite3"
    with ScriptedServer(_says_yes) as server:
        first = _probe(server)
        assert first.exit_code == 0, first.stderr
        with sqlite3.connect(database) as db:
            [(key, value)] = db.execute("SELECT key, value FROM responses").fetchall()
            poisoned = {**json.loads(value), "text": "No. Poisoned.", "raw": "No. Poisoned."}
            db.execute("UPDATE responses SET value = ? WHERE key = ?", (json.dumps(poisoned), key))
            db.execute(  # and one more, as a program that knows nothing of signatures writes
                "INSERT INTO responses (key, value, created) VALUES (?, ?, 0)",
                ("0" * 64, json.dumps(poisoned)),
            )
        again = _probe(server)
        calls = len(server.requests)
        third = _probe(server)  # the entry asked again replaced the foreign one
    assert again.exit_code == 0, again.stderr
    decide = records_of(again)[0]["variants"]["decide-first"]
    assert decide["answer"] == "yes" and "Poisoned" not in decide["raw"]
    assert calls == 2  # asked again
    [warning] = [line for line in again.stderr.splitlines() if "warning" in line]
    assert str(database) in warning and "did not write" in warning
    assert len(server.requests) == calls and "warning" not in third.stderr
    assert records_of(third)[0]["variants"]["decide-first"]["cached"] is True


def test_the_cache_is_private_and_one_others_may_write_is_refused(tmp_path):
    cache = tmp_path / "cache"
    database = cache / "responses.sqlite3"
    with ScriptedServer(_says_yes) as server:
        assert _probe(server).exit_code == 0
        assert _mode(cache) == 0o700
        assert _mode(database) == 0o600 and _mode(cache / "entries.key") == 0o600
        for wal in cache.glob("responses.sqlite3-*"):
            assert _mode(wal) & 0o077 == 0, wal

        refusals = []
        for path, change in [
            (cache, lambda p: os.chmod(p, 0o777)),
            (cache, lambda p: os.chmod(p, 0o770)),
            (database, lambda p: os.chmod(p, 0o666)),
            (cache / "entries.key", lambda p: os.chmod(p, 0o644)),
        ]:
            before = _mode(path)
            change(path)
            refusals.append((path, _probe(server)))
            os.chmod(path, before)
        if os.geteuid() == 0:  # another user's directory or database (root can make one)
            for path in (cache, database):
                os.chown(path, 65534, 65534)
                refusals.append((path, _probe(server)))
                os.chown(path, 0, 0)
        assert len(server.requests) == 1  # nothing was asked of the model after a refusal
    for path, refused in refusals:
        assert refused.exit_code == 2, (path, refused.stderr)
        assert refused.stdout == ""
        [line] = refused.stderr.strip().splitlines()
        assert str(path) in line and "--no-cache" in line, line
    with ScriptedServer(_says_yes) as server:
        os.chmod(cache, 0o777)
        assert _probe(server, "--no-cache").exit_code == 0  # the way out works


@pytest.mark.parametrize("where", ["given", "environment"])
def test_a_reply_cached_with_a_key_in_it_is_read_back_without_it(where, tmp_path, monkeypatch):
    """A reply stored by a version that did not scrub replies (its database had no signatures)
    with the run's key in it: read back, the key is gone from the record and from the cache."""
    env_key = "anthropic-env-secret-value-42"
    monkeypatch.setenv("ANTHROPIC_API_KEY", env_key)
    secret = KEY if where == "given" else env_key
    database = tmp_path / "cache" / "responses.sqlite3"
    with ScriptedServer(_says_yes) as server:
        assert _probe(server).exit_code == 0
        with sqlite3.connect(database) as db:  # as the older version left it
            if any(row[1] == "mac" for row in db.execute("PRAGMA table_info(responses)")):
                db.execute("ALTER TABLE responses DROP COLUMN mac")
            [(key, value)] = db.execute("SELECT key, value FROM responses").fetchall()
            echoed = f"Yes. You sent {secret}; the dog steals the ring."
            old = {**json.loads(value), "text": echoed, "raw": echoed}
            db.execute("UPDATE responses SET value = ? WHERE key = ?", (json.dumps(old), key))
        again = _probe(server)
        assert len(server.requests) == 1  # answered from the cache
    assert again.exit_code == 0, again.stderr
    decide = records_of(again)[0]["variants"]["decide-first"]
    assert decide["cached"] is True and decide["answer"] == "yes"
    assert secret not in again.stdout + again.stderr
    assert "You sent [redacted]" in decide["raw"]
    with sqlite3.connect(database) as db:
        values = " ".join(v for (v,) in db.execute("SELECT value FROM responses"))
    assert secret not in values and "[redacted]" in values
