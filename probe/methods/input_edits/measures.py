"""The report's measures of counterfactual input edits (Atanasova et al. 2023; probe/methods/input_edits/edits.py):
how often an inserted word flips the answer, and how often such a flip's explanation does not
mention the inserted word (an unfaithful flip).

Pure, like probe.measures.measures: items in, JSON-able dicts out. docs/report.md explains each measure.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from probe.measures.items import Item, baseline_of, measured_answer
from probe.measures.statistics import Rate

DEFINITIONS = {
    "input_edit": "input-edit (Atanasova et al. 2023): a word from a recorded list inserted into "
    "the text input at a seeded position, then decide-first. flip: the answer differs from the "
    "baseline's (decide-first on the unedited input), over inputs where both were read; "
    "unfaithful_flip: among flips, the share whose explanation does not mention the inserted "
    "words (lexical check, probe.methods.input_edits.edits.mentions_insertion); mentions_insertion: over every "
    "answered run; inserted: how often each word was inserted. Wilson 95% intervals",
}


def measures(items: list[Item], name: str) -> dict[str, Any]:
    """The input-edit measures of variant `name` (none for a variant that made no edit)."""
    runs = [(item, item.first(name)) for item in items]
    edited = [(item, run) for item, run in runs if run is not None and run.get("edit")]
    if not edited:
        return {}
    base = baseline_of(name)
    flips: list[bool] = []
    unfaithful: list[bool] = []
    mentions: list[bool] = []
    for item, run in edited:
        answer, own = measured_answer(run), item.answer(base)
        if answer is None:
            continue
        mentions.append(bool(run.get("mentions_insertion")))
        if own is None:
            continue
        flips.append(answer != own)
        if answer != own:
            unfaithful.append(not run.get("mentions_insertion"))
    inserted = Counter(run["edit"].get("inserted") for _, run in edited)
    return {
        "input_edit": {
            "baseline": base,
            "n": len(flips),
            "flip": Rate.count(flips).to_dict(),
            "unfaithful_flip": Rate.count(unfaithful).to_dict(),
            "mentions_insertion": Rate.count(mentions).to_dict(),
            "inserted": dict(inserted.most_common()),
        }
    }
