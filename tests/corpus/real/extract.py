"""Turn the run files that collect.py wrote into the corpus of real replies, without labels.

    uv run python tests/corpus/real/extract.py RUNDIR OUT.jsonl

Each line is one reply a real model produced under one variant: the task, the question and
options the model saw, the input, the variant, how an answer was forced (mechanism, forced
answer, prefill), the hint a biased variant carried, and the reply itself (for a prefill, only
what the model wrote after it). Nothing probe read from the reply is kept: these lines are what
the blind labellers saw. Where probe asked the model to state its answer (answer extraction),
the extraction's own reply is kept as `extraction_reply`.

Held out: every reply about an input whose id hashes into the held-out tenth-bucket (3 of 10),
decided by the id alone before any reply was read; the rules are never tuned on those.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

MODEL_NAMES = {
    "local/smollm2": "SmolLM2-135M-Instruct",
    "openai/qwen2.5-coder-0.5b": "Qwen2.5-Coder-0.5B-Instruct",
    "openai/qwen2.5-coder-1.5b": "Qwen2.5-Coder-1.5B-Instruct",
}
SHORT = {
    "local/smollm2": "sm",
    "openai/qwen2.5-coder-0.5b": "q05",
    "openai/qwen2.5-coder-1.5b": "q15",
}


def held_out(input_id: str) -> bool:
    return int(hashlib.sha256(input_id.encode()).hexdigest()[:8], 16) % 10 < 3


def task_kind(record: dict) -> str:
    if record.get("option_texts"):
        return "mc"
    return {"funny": "funny", "sarcastic": "sarcastic"}.get(record["task"], "ask")


def entries(run: Path) -> list[dict]:
    out = []
    latest: dict[str, dict] = {}  # a record written later for the same input supersedes one
    for line in run.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            latest[f"{record['id']}#{record.get('sample', 0)}"] = record
    for record in latest.values():
        if record.get("error") and not record.get("variants"):
            continue
        kind = task_kind(record)
        input_id = Path(record["id"]).stem if "/" in record["id"] else record["id"]
        for name, v in record["variants"].items():
            if v.get("error") or v.get("raw") is None:
                continue
            entry = {
                "id": f"{SHORT[record['model']]}-{run.stem}-{input_id}-{name}",
                "model": MODEL_NAMES[record["model"]],
                "task": kind,
                "question": record["question"],
                "options": record.get("option_texts") or ["yes", "no"],
                "input_id": input_id,
                "input": (
                    record["input"].get("text") or _read(record["input"].get("path"))
                ).strip(),
                "variant": name,
                "answer_at": "end" if "explain-first" in name else "start",
                "reply": _written(v),
            }
            if v.get("forced_answer") is not None:
                entry.update(
                    mechanism=v.get("mechanism"),
                    forced=v["forced_answer"],
                    prefill=v.get("prefill"),
                )
            if v.get("bias_target") is not None:
                hint = (v.get("hint") or {}).get("text")
                entry.update(bias_target=v["bias_target"], hint=hint)
            extraction = v.get("extraction") or {}
            if extraction.get("raw") is not None:
                entry.update(
                    extraction_reply=_after_cue(extraction), extraction_via=extraction.get("via")
                )
            entry["heldout"] = held_out(input_id)
            out.append(entry)
    return out


def _written(v: dict) -> str:
    """What the model wrote: for a prefill, only what follows it (a server that echoes the
    prefill returns it at the head of the reply, and probe's own record keeps it in `raw`)."""
    prefill, raw = v.get("prefill"), v["raw"]
    if v.get("mechanism") == "prefill" and prefill and raw.startswith(prefill):
        return raw[len(prefill) :]
    return raw


def _after_cue(extraction: dict) -> str:
    """The model's own words in an extraction reply: after a prefill, what follows the cue
    (the embedded model's and llama-server's raw text hold the whole prefill before them)."""
    raw = extraction["raw"]
    cue = "So the answer is"
    if extraction.get("via") == "prefill" and cue in raw:
        return raw.rsplit(cue, 1)[1]
    return raw


def _read(path: str | None) -> str:
    return Path(path).read_text(encoding="utf-8") if path else ""


def main() -> int:
    rundir, out = Path(sys.argv[1]), Path(sys.argv[2])
    runs = [p for p in sorted(rundir.glob("*/*.jsonl")) if not p.name.startswith("input-")]
    found = [e for run in runs for e in entries(run)]
    seen: dict[str, dict] = {}
    for e in found:
        # a decide-first reply is the same call in a run and its -note / -prior sibling
        key = json.dumps([e["model"], e["input"], e["variant"], e.get("mechanism"), e["reply"]])
        seen.setdefault(key, e)
    with out.open("w", encoding="utf-8") as f:
        for e in seen.values():
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    print(f"{len(seen)} replies ({len(found) - len(seen)} duplicates dropped) -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
