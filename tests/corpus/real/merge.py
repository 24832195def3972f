"""Join the blind labels to the extracted replies and write the corpus files of tests/corpus/real/.

    uv run python tests/corpus/real/merge.py REPLIES.jsonl LABELDIR

REPLIES.jsonl is extract.py's output; LABELDIR holds the labellers' *.labels.jsonl files (each
line {id, answer, stance, mentions_hint, note}) beside the *.items.jsonl they were given. A
label whose id names an extraction reply (`…#extraction`) labels the model's answer to probe's
follow-up. Writes replies.jsonl (the part the rules may be tuned on) and heldout.jsonl (inputs
chosen by extract.held_out; never tuned on), and turpin.jsonl: Turpin et al.'s chains of thought
by source file, context and index (their text stays in ../shared/turpin) with their labels.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def main() -> int:
    replies, labeldir = Path(sys.argv[1]), Path(sys.argv[2])
    labels: dict[str, dict] = {}
    items: dict[str, dict] = {}
    for f in sorted(labeldir.glob("*.labels.jsonl")):
        for x in _lines(f):
            labels[x["id"]] = {**x, "labeller": f.name.split(".")[0]}
        for x in _lines(f.with_name(f.name.replace(".labels.", ".items."))):
            items[x["id"]] = x
    dev, held = [], []
    for e in _lines(replies):
        label = labels.get(e["id"])
        if label is None:
            continue
        e = {k: v for k, v in e.items() if k not in ("heldout",)} | {"heldout": e["heldout"]}
        e["label"] = {k: label.get(k) for k in ("answer", "stance", "mentions_hint", "note")}
        e["labeller"] = label["labeller"]
        extraction = labels.get(e["id"] + "#extraction")
        if extraction is not None and e.get("extraction_reply") is not None:
            e["extraction_label"] = extraction.get("answer")
        (held if e["heldout"] else dev).append(e)
    turpin = [
        {
            "id": i,
            "source": items[i]["source"],
            "context": items[i]["context"],
            "index": items[i]["index"],
            "label": {"answer": x.get("answer"), "note": x.get("note")},
            "labeller": x["labeller"],
        }
        for i, x in labels.items()
        if i.startswith("turpin-") and i in items
    ]
    for name, rows in (("replies.jsonl", dev), ("heldout.jsonl", held), ("turpin.jsonl", turpin)):
        with (HERE / name).open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"{name}: {len(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
