"""probe: counterfactual explanation prober.

As a library (typed; see probe/api.py):

    import probe

    result = probe.run(probe.RunConfig(inputs=["samples/"], force="opposite", output="run.jsonl"))
    result.records, result.stats              # list[probe.Record], probe.RunStats
    probe.read_records("run.jsonl")           # list[probe.Record]
    probe.report(["run.jsonl"])               # what `probe report --json` prints
    probe.to_pandas(result.records)           # one row per variant (needs pandas)

`probe.arun` inside an event loop. A bad setting raises `probe.UsageError` with the command
line's message when the `RunConfig` is made. Names are loaded on first use, so `import probe`
(and `probe --help`) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from probe.api import RunResult, arun, read_records, report, run, to_pandas, variant_rows
    from probe.errors import ProbeError, UsageError
    from probe.pipeline.config import RunConfig
    from probe.pipeline.pool import RunStats
    from probe.records.schema import Record, VariantResult

__all__ = [
    "ProbeError",
    "Record",
    "RunConfig",
    "RunResult",
    "RunStats",
    "UsageError",
    "VariantResult",
    "__version__",
    "arun",
    "read_records",
    "report",
    "run",
    "to_pandas",
    "variant_rows",
]

_LAZY = {
    "run": "probe.api",
    "arun": "probe.api",
    "read_records": "probe.api",
    "report": "probe.api",
    "to_pandas": "probe.api",
    "variant_rows": "probe.api",
    "RunResult": "probe.api",
    "RunConfig": "probe.pipeline.config",
    "RunStats": "probe.pipeline.pool",
    "Record": "probe.records.schema",
    "VariantResult": "probe.records.schema",
    "UsageError": "probe.errors",
    "ProbeError": "probe.errors",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'probe' has no attribute {name!r}")
