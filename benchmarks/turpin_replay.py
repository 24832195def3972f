"""Replay Turpin et al. (2023)'s released BIG-Bench Hard samples through probe's metrics.

    uv run python benchmarks/turpin_replay.py ../shared/turpin [--json]

Each released run (bias x model x few-shot flag x task) becomes probe records, one per item, and
each (bias, model, shots) group goes through ``probe.measures.measures.compute_report``; the table is that
report's ``accuracy_drop`` for the biased chain-of-thought variant — the same code a probe run's
report uses, so matching the paper's Table 1 checks it.

How the released fields map onto probe variants (answers become option letters, -1 becomes null):
- ``outputs[1]`` is the unbiased context: ``y_pred`` (CoT) is ``explain-first``, ``y_pred_prior``
  (answer without CoT) is ``decide-first``.
- ``outputs[0]`` is the biased context: ``y_pred`` is ``suggested-explain-first`` or
  ``always-a-explain-first``, ``y_pred_prior`` is ``suggested`` or ``always-a``; their
  ``bias_target`` is ``random_ans_idx`` (suggested answer) or A (always A).
  ``probe.measures.measures.baseline_of`` pairs each biased variant with the unbiased one of the same form.
- A letter outside the item's options (a model answering "(E)" to four choices) is kept as given,
  so it counts as wrong, as in the released scoring; only -1 is unparsed.
- Question and options come from ``data/bbh/<task>/val_data.json``; the runs cover its first items
  in order (the always-A runs stop early), which is checked against the gold answers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from probe.measures.measures import EXPLAIN_FIRST, compute_report
from probe.records.record import variant_result

BIASES = {"suggested_answer": "suggested", "ans_always_a": "always-a"}
BIAS_LABELS = {"suggested": "suggested answer", "always-a": "always (A)"}
MODEL_ORDER = ("text-davinci-003", "claude-v1")
SHOTS_ORDER = ("zero", "few")


class ReplayError(Exception):
    """The data directory is missing or not laid out as the release is."""


def _letter(index: int) -> str | None:
    return None if index < 0 else chr(ord("A") + index)


def _run(output: dict[str, Any], i: int, *, cot: bool, target: str | None) -> dict[str, Any]:
    """One probe variant entry from one context's outputs for item i."""
    gen = output["gen"][i] if cot else ""
    entry = variant_result(
        answer=_letter(output["y_pred"][i] if cot else output["y_pred_prior"][i]),
        explanation=gen,
        raw=gen if cot else output["y_pred_prior_raw"][i],
    )
    return {**entry, "bias_target": target, "judge_mentions_bias": None, "sample": 0}


def _records(run: dict[str, Any], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    config = run["config"]
    task, bias = config["task"], BIASES[config["bias_type"]]
    biased, unbiased = run["outputs"]
    records = []
    for i, gold in enumerate(unbiased["y_true"]):
        item = items[i]
        if item["multiple_choice_scores"].index(1) != gold:
            raise ReplayError(f"{task} item {i}: gold differs from val_data.json")
        target = _letter(biased["random_ans_idx"][i]) if bias == "suggested" else "A"
        variants = {
            "decide-first": _run(unbiased, i, cot=False, target=None),
            EXPLAIN_FIRST: _run(unbiased, i, cot=True, target=None),
            bias: _run(biased, i, cot=False, target=target),
            f"{bias}-{EXPLAIN_FIRST}": _run(biased, i, cot=True, target=target),
        }
        own, explained = variants["decide-first"]["answer"], variants[EXPLAIN_FIRST]["answer"]
        question = item["parsed_inputs"]
        records.append(
            {
                "schema": "probe/1",
                "id": f"{task}-{i:03d}",
                "input": {
                    "path": None,
                    "sha256": hashlib.sha256(question.encode()).hexdigest(),
                    "kind": "text",
                },
                "task": task,
                "question": question,
                "options": [_letter(k) for k in range(len(item["multiple_choice_targets"]))],
                "gold": _letter(gold),
                "model": config["model"],
                "variants": variants,
                "order_agreement": None if None in (own, explained) else own == explained,
                "verdict": None,  # verdicts judge forced variants; there are none here
                "error": None,
            }
        )
    return records


def load_groups(root: Path) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """Probe records per (bias, model, shots) from the release under root."""
    runs = sorted((root / "results" / "bbh_samples").glob("*/*.json"))
    if not runs:
        raise ReplayError(f"no results/bbh_samples/*/*.json under {root}")
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    val_data: dict[str, list[dict[str, Any]]] = {}
    for path in runs:
        run = json.loads(path.read_text())
        config = run["config"]
        task = config["task"]
        if task not in val_data:
            val_path = root / "data" / "bbh" / task / "val_data.json"
            if not val_path.is_file():
                raise ReplayError(f"missing {val_path}")
            val_data[task] = json.loads(val_path.read_text())["data"]
        key = (
            BIASES[config["bias_type"]],
            config["model"],
            "few" if config["few_shot"] else "zero",
        )
        groups[key].extend(_records(run, val_data[task]))
    return groups


def _order(key: tuple[str, str, str]) -> tuple[int, int, int, str]:
    bias, model, shots = key
    rank = MODEL_ORDER.index(model) if model in MODEL_ORDER else len(MODEL_ORDER)
    return (list(BIASES.values()).index(bias), SHOTS_ORDER.index(shots), rank, model)


def table(root: Path) -> list[dict[str, Any]]:
    """Table 1 rows: accuracy (percent) in each context on bias-inconsistent items, and the drop."""
    rows = []
    groups = load_groups(root)
    for key in sorted(groups, key=_order):
        bias, model, shots = key
        report = compute_report(groups[key], group_by_task=False)
        drop = report["by_variant"][f"{bias}-{EXPLAIN_FIRST}"]["accuracy_drop"]
        rows.append(
            {
                "bias": bias,
                "model": model,
                "shots": shots,
                "n": drop["n"],
                "unbiased": 100 * drop["unbiased"]["value"],
                "biased": 100 * drop["biased"]["value"],
                "drop": 100 * drop["drop"],
            }
        )
    return rows


ROW = "{:<17} {:<17} {:<5} {:>5} {:>8} {:>7} {:>6}"


def render(rows: list[dict[str, Any]]) -> str:
    lines = [ROW.format("bias", "model", "shots", "n", "unbiased", "biased", "drop")]
    for row in rows:
        percents = (f"{row[key]:.1f}" for key in ("unbiased", "biased", "drop"))
        lines.append(
            ROW.format(BIAS_LABELS[row["bias"]], row["model"], row["shots"], row["n"], *percents)
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="the Turpin release, e.g. ../shared/turpin")
    parser.add_argument("--json", action="store_true", help="print the rows as a JSON list")
    args = parser.parse_args(argv)
    try:
        rows = table(args.path)
    except ReplayError as exc:
        print(f"turpin_replay: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(rows, indent=2) if args.json else render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
