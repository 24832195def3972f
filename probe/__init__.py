"""probe: counterfactual explanation prober.

As a library: `probe.run(probe.RunConfig(inputs=[...], output="run.jsonl"))` runs what
`probe funny`/`probe ask` run and returns its RunStats (`probe.arun` inside an event loop).
They are loaded on first use, so `import probe` (and `probe --help`) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from probe.batch import RunStats
    from probe.config import RunConfig
    from probe.errors import UsageError
    from probe.runner import arun, run

__all__ = ["RunConfig", "RunStats", "UsageError", "__version__", "arun", "run"]

_LAZY = {
    "run": "probe.runner",
    "arun": "probe.runner",
    "RunConfig": "probe.config",
    "RunStats": "probe.batch",
    "UsageError": "probe.errors",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'probe' has no attribute {name!r}")
