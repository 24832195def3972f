"""`probe batch status FILE` and `probe batch collect FILE`: following up a `--batch-api` run.

FILE is the run file (`-o`) or its state file (`FILE.batch.json`). Nothing heavy is imported at
module level: this module is imported for `probe --help`.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from probe.cli.execute import execute, fail
from probe.cli.options import ApiBaseOpt, ApiKeyOpt, Command, DebugOpt

batch_app = typer.Typer(
    help="Follow up a run submitted with --batch-api: see its batches, collect their results.",
    no_args_is_help=True,
)

FileArg = Annotated[
    str,
    typer.Argument(
        metavar="FILE",
        help="The run file (-o) of a --batch-api run, or its state file (FILE.batch.json).",
        show_default=False,
    ),
]


@batch_app.command(cls=Command)
def status(
    file: FileArg,
    api_key: ApiKeyOpt = None,
    api_base: ApiBaseOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """What each batch of a run is doing: its state, request counts and age."""
    import asyncio
    import json

    from probe.batch_api.status import render, status_of
    from probe.errors import ProbeError

    try:
        report = asyncio.run(status_of(file, api_key, _one(api_base)))
    except ProbeError as exc:
        fail(exc.message, exc.exit_code)
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        from rich.console import Console

        render(report, Console(highlight=False))
    if report["unasked"]:
        from probe.pipeline.view import safe

        for problem in report["unasked"]:
            sys.stderr.write(f"probe: error: {safe(problem)}\n")
        raise typer.Exit(1)


@batch_app.command(cls=Command)
def collect(
    file: FileArg, api_key: ApiKeyOpt = None, api_base: ApiBaseOpt = None, debug: DebugOpt = False
) -> None:
    """Collect the batches that have ended: write the records they finish, submit the next round.

    The next round holds the calls that waited for an answer (--force opposite waits for
    decide-first's) and the requests a batch did not bring back. Run it again until the state
    file is gone.
    """
    import dataclasses
    import os

    from probe.batch_api.state import find_state, load_bound, run_file_of
    from probe.batch_api.submit import config_from_state
    from probe.errors import ProbeError

    try:
        path = find_state(file)
        state = load_bound(path)
        # The records go to the run file the state file sits beside, named absolutely (the run
        # continues in its own directory), never to a path the state file holds.
        output = os.path.abspath(run_file_of(path))
        config = config_from_state(state, api_key, _one(api_base), output=output)
        config = dataclasses.replace(config, debug=debug)
    except ProbeError as exc:
        fail(exc.message, exc.exit_code)
    here = os.getcwd()
    try:
        os.chdir(state.cwd)  # the run's relative paths (inputs, -o) start where it started
    except OSError as exc:
        fail(f"{path}: the run's directory {state.cwd}: {exc.strerror or exc}", 2)
    try:
        import shlex

        again = shlex.join(["probe", "batch", "collect", str(run_file_of(path))])
        execute(config, as_jsonl=False, show_panels=False, resume_command=again)
    finally:
        os.chdir(here)


def _one(api_base: list[str] | None) -> str | None:
    """The one --api-base a batch job's provider is at (the option may be given more than once
    for a routed run; a batch goes to one endpoint)."""
    if api_base and len(api_base) > 1:
        fail("--api-base: a batch job is at one endpoint; give --api-base once", 2)
    return api_base[0] if api_base else None
