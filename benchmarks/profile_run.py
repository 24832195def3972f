"""Run `python -m probe ARGS…` under cProfile and write the profile to OUT, also when probe ends
with os._exit (it does, to skip the interpreter's teardown: `python -m cProfile` then writes
nothing).

    uv run python benchmarks/profile_run.py OUT.prof ARGS…
"""

from __future__ import annotations

import cProfile
import os
import runpy
import sys


def main() -> None:
    out, args = sys.argv[1], sys.argv[2:]
    profile = cProfile.Profile()
    real_exit = os._exit

    def exit_after_dump(code: int) -> None:
        profile.disable()
        profile.dump_stats(out)
        real_exit(code)

    os._exit = exit_after_dump  # type: ignore[assignment]
    sys.argv = ["probe", *args]
    profile.enable()
    try:
        runpy.run_module("probe", run_name="__main__", alter_sys=True)
    finally:
        profile.disable()
        profile.dump_stats(out)


if __name__ == "__main__":
    main()
