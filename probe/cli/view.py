"""`probe view [DIR | FILE…]`: the HTML reports of a folder of runs (or of run files), served on
127.0.0.1, read-only, while you look; the server is probe/cli/view_server.py, imported only when
the command runs (`probe --help` stays cheap)."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from probe.errors import EXIT_OK, EXIT_USAGE


def view(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="A folder of run files (default: the current folder), or run files.",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 (0: any free one).")
    ] = 0,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the address; do not open a browser.")
    ] = False,
    image_size: Annotated[
        int,
        typer.Option(
            "--image-size", min=0, metavar="PX", help="Longest side of the images shown on click."
        ),
    ] = 800,
) -> None:
    """Serve the HTML reports of a folder of runs (or of FILES) on 127.0.0.1, read-only, and open
    them in a browser; a run still being written reloads as it grows. Ctrl-C stops it."""
    from probe.cli.execute import fail
    from probe.cli.view_server import Runs, Server, serve
    from probe.pipeline.view import safe

    given = paths or ["."]
    if len(given) == 1 and os.path.isdir(given[0]):
        runs, where = Runs(given[0], []), os.path.abspath(given[0])
    else:
        for path in given:
            if os.path.isdir(path):
                fail(f"{path}: a folder; give one folder, or run files", EXIT_USAGE)
            if not os.path.isfile(path):
                fail(f"{path}: no such file", EXIT_USAGE)
        runs, where = Runs(None, given), ", ".join(os.path.basename(p) for p in given)
    try:
        server = Server(runs, where, image_size, port)
    except OSError as exc:
        fail(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}", EXIT_USAGE)
    count = len(runs.listing())
    sys.stderr.write(
        safe(f"probe: serving {count} run file{'s' if count != 1 else ''} of {where} at ")
        + f"{server.url} (read-only; Ctrl-C to stop)\n"
    )
    sys.stderr.flush()

    def opened() -> None:
        if no_browser:
            return
        from probe.reporting.html import open_in_browser

        if not open_in_browser(server.url):
            sys.stderr.write(f"probe: no browser found here; open {server.url}\n")

    serve(server, opened)
    raise typer.Exit(EXIT_OK)
