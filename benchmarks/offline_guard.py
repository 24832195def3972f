"""Run a module as `python -m MODULE ARGS...` with every network address but loopback refused.

    python benchmarks/offline_guard.py MODULE [ARGS...]

An audit hook (PEP 578) sees each `socket.connect`, `socket.sendto` and `socket.getaddrinfo`
of the process, asyncio's included; one whose host is not 127.0.0.1, ::1 or localhost is
appended to the file named by $OFFLINE_GUARD_LOG (one line each) and refused with
PermissionError. benchmarks/vs_inspect.py runs both probe and inspect under it, so neither can
reach the network unnoticed, and each pays the same (negligible) hook cost.
"""

from __future__ import annotations

import os
import runpy
import sys
from typing import Any

LOOPBACK = {"127.0.0.1", "::1", "localhost", "::ffff:127.0.0.1"}
LOG = os.environ.get("OFFLINE_GUARD_LOG")


def host_of(event: str, args: tuple[Any, ...]) -> str | None:
    if event == "socket.getaddrinfo":
        host = args[0]
    elif event in ("socket.connect", "socket.sendto"):
        address = args[1]
        if not isinstance(address, tuple):
            return None  # a Unix socket path: local
        host = address[0]
    else:
        return None
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    return None if host is None else str(host)


def hook(event: str, args: tuple[Any, ...]) -> None:
    if not event.startswith("socket."):
        return
    host = host_of(event, args)
    if host is None or host in LOOPBACK:
        return
    if LOG:
        with open(LOG, "a", encoding="utf-8") as f:
            f.write(f"{event} {host}\n")
    raise PermissionError(f"offline_guard: {event} to {host} refused")


def main() -> None:
    module, *rest = sys.argv[1:]
    sys.addaudithook(hook)
    sys.argv = [module, *rest]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
