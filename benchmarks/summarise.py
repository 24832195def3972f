"""Print docs/benchmarks.md's figures as Markdown, from benchmarks/results/*.json.

    uv run python benchmarks/summarise.py [--headline]

Each benchmark script writes its figures to benchmarks/results/<script>.json when it runs (with
the command, the commit, the machine and the load average before and after); this prints, per
file, where the figures came from and the script's own table, and first a short table of the
headline figures. --headline prints only that table (the lines the README quotes). Nothing here
measures anything: a figure that is not in a results file is not printed.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
Doc = dict[str, Any]


def load_results() -> dict[str, Doc]:
    return {
        p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(RESULTS.glob("*.json"))
    }


def _range(s: dict[str, float], fmt: str = "{:.2f}") -> str:
    """median (min–max)"""
    return f"{fmt.format(s['median'])} ({fmt.format(s['min'])}–{fmt.format(s['max'])})"


def _loads(doc: Doc) -> str:
    before, after = doc["load_avg"]["before"][0], doc["load_avg"]["after"][0]
    rounds = [r["load_before"] for r in doc.get("round_loads", [])]
    every = [before, after, *rounds]
    return f"{min(every):.1f}–{max(every):.1f}"


def _when(doc: Doc) -> str:
    return f"{doc['started'][:10]}, commit {doc['commit'][:7]}{'+dirty' if doc['commit'].endswith('+dirty') else ''}"


def headline_throughput(doc: Doc) -> list[tuple[str, str, str, str]]:
    s = doc["setups"]
    probe, sdk = s["probe"], s["OpenAI SDK"]
    goal = doc["goal_vs_openai_sdk"]
    ratio = probe["vs_openai_sdk"]
    return [
        (
            "batch wall, probe ÷ OpenAI SDK making the same 600 calls (paired by round)",
            _range(ratio),
            f"≤ {goal}: {'met' if ratio['median'] <= goal else 'not met'}",
            _loads(doc),
        ),
        (
            "batch wall: probe / OpenAI SDK / ideal N·V·L/C",
            f"{probe['wall_s']['median']:.2f} / {sdk['wall_s']['median']:.2f} / "
            f"{doc['ideal_s']:.2f} s (probe ÷ ideal {probe['vs_ideal']['median']:.2f})",
            "",
            _loads(doc),
        ),
    ]


def headline_scaling(doc: Doc) -> list[tuple[str, str, str, str]]:
    s = doc["setups"]
    four, two = s["4 servers"], s["2 servers"]
    target = doc["target_requests_efficiency_4"]
    eff = four["requests_efficiency"]
    shuffle = s.get("4 servers, simple-shuffle")
    extra = f"; simple-shuffle {shuffle['requests_efficiency']['median']:.2f}" if shuffle else ""
    return [
        (
            "scaling, Router at 1 → 2 → 4 servers: requests-phase efficiency at 2 / 4",
            f"{two['requests_efficiency']['median']:.2f} / {_range(eff)}{extra}",
            f"≥ {target} at 4: {'met' if eff['median'] >= target else 'not met'}",
            _loads(doc),
        ),
        (
            "scaling: requests per server at 4 (probe's default routing), each round",
            " · ".join("/".join(map(str, split)) for split in four["splits"]),
            "",
            _loads(doc),
        ),
    ]


def headline_omp(doc: Doc) -> list[tuple[str, str, str, str]]:
    rows = []
    for condition, label in (("quiet", "quiet"), ("loaded", f"{doc['burners']} busy processes")):
        c = doc["conditions"].get(condition)
        if not c:
            continue
        p = c["policies"]
        load = f"{p['unset']['load_before']['min']:.1f}–{p['unset']['load_before']['max']:.1f}"
        rows.append(
            (
                f"embedded model tok/s, OMP_WAIT_POLICY unset / passive / active ({label})",
                " / ".join(
                    f"{p[x]['tokens_per_s']['median']:.0f}" for x in ("unset", "passive", "active")
                )
                + f" (passive ÷ unset {p['passive']['vs_unset']['median']:.2f})",
                f"fastest: {c['fastest']}",
                load,
            )
        )
    cli = doc["conditions"].get("cli_loaded")
    if cli:
        p = cli["policies"]
        load = f"{p['unset']['load_before']['min']:.1f}–{p['unset']['load_before']['max']:.1f}"
        rows.append(
            (
                "`probe funny` on the embedded model under load: wall, probe's default / "
                "passive / active",
                " / ".join(
                    f"{p[x]['wall_s']['median']:.1f}" for x in ("unset", "passive", "active")
                )
                + " s",
                "",
                load,
            )
        )
    return rows


def headline_startup(doc: Doc) -> list[tuple[str, str, str, str]]:
    ratios = doc.get("ratio_to_bare", {})
    key = next((k for k in ratios if "python -m probe" in k), None)
    if key is None:
        return []
    return [("`probe --help` ÷ a bare Typer app (medians)", f"{ratios[key]:.2f}", "", _loads(doc))]


def headline_memory(doc: Doc) -> list[tuple[str, str, str, str]]:
    runs = doc.get("runs") or []
    if not runs:
        return []
    return [
        (
            "peak RSS by inputs (" + doc.get("variants", "") + ")",
            " / ".join(f"{r['inputs']:,}: {r['peak_rss_mib']:.0f} MiB" for r in runs),
            "",
            _loads(doc),
        )
    ]


HEADLINES: dict[str, Callable[[Doc], list[tuple[str, str, str, str]]]] = {
    "throughput": headline_throughput,
    "scaling": headline_scaling,
    "omp_wait": headline_omp,
    "startup": headline_startup,
    "memory": headline_memory,
}


def cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def headline(results: dict[str, Doc]) -> list[str]:
    lines = [
        "| figure | measured (median, min–max) | target | load (1 min) | from |",
        "|---|---|---|---|---|",
    ]
    for name, fn in HEADLINES.items():
        if name in results:
            for figure, value, target, load in fn(results[name]):
                lines.append(
                    f"| {cell(figure)} | {cell(value)} | {cell(target)} | {load} | "
                    f"`results/{name}.json`, {_when(results[name])} |"
                )
    return lines


def section(name: str, doc: Doc) -> list[str]:
    before = " ".join(f"{x:.2f}" for x in doc["load_avg"]["before"])
    after = " ".join(f"{x:.2f}" for x in doc["load_avg"]["after"])
    lines = [
        f"### {name}: {doc.get('title', name)}",
        "",
        f"`{doc['command']}` — {doc['started']} to {doc['finished']}, commit `{doc['commit']}`, "
        f"{doc['machine']['cores']} cores, Python {doc['machine']['python']}; load average "
        f"(1 / 5 / 15 min) before {before}, after {after}.",
        "",
    ]
    rows = doc.get("rows")
    if rows:
        lines += ["| figure | value |", "|---|---|"]
        lines += [f"| {cell(k)} | {cell(v)} |" for k, v in rows]
    else:
        lines.append("(no table in this file)")
    lines.append("")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--headline", action="store_true", help="only the headline table")
    args = parser.parse_args()
    results = load_results()
    out = headline(results)
    if not args.headline:
        out += ["", "## Every benchmark's figures", ""]
        for name, doc in results.items():
            out += section(name, doc)
    print("\n".join(out).rstrip())


if __name__ == "__main__":
    main()
