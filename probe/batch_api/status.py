"""`probe batch status FILE`: what each batch of a `--batch-api` run is doing, asked of the
provider for batches still open (the state file is only read, never written: a run or a collect
may hold the run file)."""

from __future__ import annotations

import time
from typing import Any

from probe.batch_api.state import find_state, load_bound, run_file_of
from probe.errors import ProviderError
from probe.providers.batch_client import RUNNING


async def status_of(file: str, api_key: str | None, api_base: str | None = None) -> dict[str, Any]:
    """{state_file, output, model, endpoint, rounds, batches: [{id, round, status, total,
    completed, failed, age_s, collected, note}]}."""
    from probe import environment
    from probe.batch_api.submit import api_base_of
    from probe.providers.batch_client import BatchClient
    from probe.providers.openai_road import NO_KEY

    path = find_state(file)
    state = load_bound(path)
    api_base = api_base_of(state, api_base)
    key = api_key or environment.openai_api_key() or (NO_KEY if api_base else None)
    client = BatchClient(state.provider, api_base, key) if state.open else None
    now = time.time()
    rows = []
    unasked: list[str] = []  # batches the provider could not tell about, and why
    for entry in state.batches:
        row: dict[str, Any] = {
            "id": entry.id,
            "round": entry.round,
            "status": entry.status,
            "requests": len(entry.requests),
            **{k: entry.counts.get(k) for k in ("total", "completed", "failed")},
            "age_s": round(now - entry.submitted, 1),
            "collected": entry.collected,
            "note": entry.note,
        }
        if not entry.id:
            row["note"] = f"starting on file {entry.input_file}, not recorded: collect looks for it"
        elif client is not None and not entry.collected:
            try:
                live = await client.retrieve(entry.id)
            except ProviderError as exc:
                row["note"] = f"could not ask: {exc.message}"
                unasked.append(f"batch {entry.id}: {unknown_hint(exc.message)}")
            else:
                row.update(
                    status=live.status,
                    total=live.total,
                    completed=live.completed,
                    failed=live.failed,
                    note=live.errors,
                )
        rows.append(row)
    return {
        "state_file": str(path),
        "output": str(run_file_of(path)),
        "model": state.model,
        "endpoint": state.endpoint,
        "rounds": state.rounds,
        "batches": rows,
        "ready": [r["id"] for r in rows if not r["collected"] and r["status"] not in RUNNING],
        "unasked": unasked,
    }


def unknown_hint(message: str) -> str:
    """A failure to ask about a batch, with what a 404 most likely means."""
    if "404" in message or "NotFound" in message:
        return (
            f"the provider has no such batch ({message}); was the state file edited, or is "
            "--api-base another server than the run's?"
        )
    return message


def render(report: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    from probe.pipeline.view import safe

    title = (
        f"{safe(report['output'])} · {safe(report['model'])} · "
        f"{report['rounds']} round(s) · state {safe(report['state_file'])}"
    )
    table = Table(title=title, title_justify="left")
    for col in ("batch", "round", "status", "done / failed / total", "age", "results", "note"):
        table.add_column(col)
    for row in report["batches"]:
        counts = " / ".join(
            "?" if row.get(k) is None else str(row[k]) for k in ("completed", "failed", "total")
        )
        table.add_row(
            safe(row["id"]),
            str(row["round"]),
            safe(str(row["status"])),
            counts,
            _age(row["age_s"]),
            "collected" if row["collected"] else "not yet",
            safe(row["note"] or ""),
        )
    console.print(table)
    if report["ready"]:
        console.print(
            f"{len(report['ready'])} batch(es) ended: `probe batch collect "
            f"{safe(report['output'])}` takes their results"
        )


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
