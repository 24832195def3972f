"""probe: counterfactual explanation prober.

As a library: `probe.run(probe.RunConfig(inputs=[...], output="run.jsonl"))` runs what
`probe funny`/`probe ask` run and returns its RunStats (`probe.arun` inside an event loop).
They are loaded on first use, so `import probe` (and `probe --help`) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from probe.errors import UsageError
    from probe.run.config import RunConfig
    from probe.run.pool import RunStats
    from probe.run.runner import arun, run

__all__ = ["RunConfig", "RunStats", "UsageError", "__version__", "arun", "run"]

_LAZY = {
    "run": "probe.run.runner",
    "arun": "probe.run.runner",
    "RunConfig": "probe.run.config",
    "RunStats": "probe.run.pool",
    "UsageError": "probe.errors",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'probe' has no attribute {name!r}")
