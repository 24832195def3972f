"""The response cache (probe/providers/cache.py) against real servers on 127.0.0.1: it answers only for
the server that gave the reply, and a database it cannot read stops the run with its path and the
way out, or fails the reply it could not read — never answers wrongly."""

import sqlite3

import pytest

from tests.conftest import SAMPLES
from tests.helpers import records_of, run_cli
from tests.scripted_server import Reply, ScriptedServer

SCENE = SAMPLES / "dog-wedding.txt"


def _says(answer):
    return lambda payload, n: Reply(f"{answer}. The dog steals the ring.")


def _probe(*args):
    return run_cli("funny", SCENE, "--variants", "decide-first", "--jsonl", *args)


@pytest.mark.parametrize("variable", ["OPENAI_BASE_URL", "OPENAI_API_BASE"])
def test_a_server_named_by_environment_variable_gets_its_own_cache_entries(variable, monkeypatch):
    """LiteLLM sends openai/NAME to OPENAI_BASE_URL (or OPENAI_API_BASE) when set. Server B must
    not be answered with server A's cached replies. Such a server needs no key, like --api-base."""
    with ScriptedServer(_says("Yes")) as a, ScriptedServer(_says("No")) as b:
        monkeypatch.setenv(variable, a.base_url)
        first = _probe("--model", "openai/m")
        monkeypatch.setenv(variable, b.base_url)
        second = _probe("--model", "openai/m")
    assert first.exit_code == second.exit_code == 0, first.stderr + second.stderr
    assert records_of(first)[0]["variants"]["decide-first"]["answer"] == "yes"
    assert records_of(second)[0]["variants"]["decide-first"]["answer"] == "no"
    assert len(a.requests) == len(b.requests) == 1


def _damage(path, how):
    if how == "garbage":
        path.write_bytes(b"this is not a database\n" * 400)
    else:  # a copy or a disk that stopped halfway
        with path.open("r+b") as f:
            f.truncate(path.stat().st_size // 2)


@pytest.mark.parametrize("how", ["garbage", "truncated"])
def test_an_unreadable_cache_database_stops_the_run_naming_the_file_and_the_way_out(how, tmp_path):
    database = tmp_path / "cache" / "responses.sqlite3"
    with ScriptedServer(_says("Yes")) as server:
        args = ("--model", "openai/m", "--api-base", server.base_url)
        assert _probe(*args).exit_code == 0
        assert database.stat().st_size > 8192
        _damage(database, how)
        calls = len(server.requests)
        broken = _probe(*args)
        assert len(server.requests) == calls  # nothing was probed
        fresh = _probe(*args, "--no-cache")
    assert broken.exit_code == 2
    assert broken.stdout == ""
    [line] = broken.stderr.strip().splitlines()
    assert str(database) in line and "--no-cache" in line and "internal error" not in line
    assert fresh.exit_code == 0 and records_of(fresh)[0]["variants"]["decide-first"]["answer"]


def test_a_damaged_entry_fails_its_reply_naming_the_cache_and_is_never_read_as_one(tmp_path):
    database = tmp_path / "cache" / "responses.sqlite3"
    with ScriptedServer(_says("Yes")) as server:
        args = ("--model", "openai/m", "--api-base", server.base_url)
        assert _probe(*args).exit_code == 0
        with sqlite3.connect(database) as db:
            db.execute("UPDATE responses SET value = ?", ('{"text": "No. tor',))
        again = _probe(*args)
    assert again.exit_code == 1
    [record] = records_of(again)
    decide = record["variants"]["decide-first"]
    assert decide["answer"] is None and decide["raw"] == ""
    assert str(database) in decide["error"]["message"]
    assert "--no-cache" in decide["error"]["message"]
    assert "internal error" not in again.stderr


def test_a_reply_holding_a_lone_surrogate_is_cached_and_read_back_as_it_was():
    """A broken server's JSON can carry "\\ud800"; SQLite cannot store that code point raw. The
    input must succeed, and the re-run must be answered from the cache with the same text."""

    def model(payload, n):
        return Reply("Yes. The dog \ud800 steals the ring.")

    with ScriptedServer(model) as server:
        args = ("--model", "openai/m", "--api-base", server.base_url)
        first = _probe(*args)
        calls = len(server.requests)
        again = _probe(*args)
    assert first.exit_code == again.exit_code == 0, first.stderr + again.stderr
    assert len(server.requests) == calls == 1  # the second run made no call
    for result in (first, again):
        raw = records_of(result)[0]["variants"]["decide-first"]["raw"]
        assert raw == "Yes. The dog \ud800 steals the ring."
