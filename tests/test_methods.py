"""Research methods are plug-ins: a new one is a folder under probe/methods/ and nothing else.

The test copies the package, adds one folder to the copy — a method of our own with a variant, a
reader, a measure, a definition and a report section — and runs the copy's command line in a
fresh process, on the embedded model: `probe tasks` lists it, a run records what its reader read,
and `probe report` (JSON and terminal) carries its measure and its section. The copy differs from
the package by that folder alone, so no other file had to know of the method.
"""

import filecmp
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from probe.variants.registry import methods
from probe.variants.variant import VARIANTS
from tests.conftest import ROOT, SAMPLES

METHOD = textwrap.dedent(
    '''
    """A method of a test's own: decide-first, asked to be brief, and how long the explanation is."""

    from typing import Any

    from probe.variants.prompts import decide_first_instruction, input_and_question, system_message
    from probe.variants.registry import Method, declare
    from probe.variants.variant import Prompt, register


    def _words(explanation: str, prompt: Prompt) -> dict[str, Any]:
        return {"explanation_words": len(explanation.split())}


    @register("brief", "decide-first, asked to be brief", reads=_words)
    def brief(task, inp, opts):
        ask = decide_first_instruction(task) + " Be brief."
        return Prompt(messages=[system_message(), input_and_question(task, inp, ask)])


    def measures(items: list[Any], name: str) -> dict[str, Any]:
        counts = [
            run["explanation_words"]
            for item in items
            for run in item.runs.get(name, [])
            if "explanation_words" in run
        ]
        if not counts:
            return {}
        return {"explanation_words": {"mean": sum(counts) / len(counts), "n": len(counts)}}


    def section(console, by_variant, detailed):
        from rich.text import Text

        for name, variant in by_variant.items():
            if "explanation_words" in variant:
                mean = variant["explanation_words"]["mean"]
                console.print(Text(f"Brevity: {name} explains in {mean:.1f} words"))


    declare(
        Method(
            name="brevity",
            title="asked to be brief: how long is the explanation?",
            source="a test",
            fields={"explanation_words": "words in the explanation (brief)"},
            definitions={"explanation_words": "mean words in the explanation, per variant"},
            measures=measures,
            report_section=section,
        )
    )
    '''
)


@pytest.fixture(scope="module")
def copy_with_method(tmp_path_factory):
    root = tmp_path_factory.mktemp("tree")
    shutil.copytree(ROOT / "probe", root / "probe", ignore=shutil.ignore_patterns("__pycache__"))
    folder = root / "probe" / "methods" / "brevity"
    folder.mkdir()
    (folder / "__init__.py").write_text(METHOD)
    return root


def _probe(root, *args, cwd):
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [sys.executable, "-m", "probe", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


def _differences(left, right):
    """Paths under `right` that are not the same file under `left` (new, missing or changed)."""
    found = []
    cmp = filecmp.dircmp(left, right, ignore=["__pycache__"])
    stack = [(cmp, "")]
    while stack:
        node, prefix = stack.pop()
        found += [prefix + n for n in node.left_only + node.right_only + node.diff_files]
        stack += [(sub, f"{prefix}{name}/") for name, sub in node.subdirs.items()]
    return sorted(found)


def test_the_copy_differs_by_the_new_folder_alone(copy_with_method):
    assert _differences(ROOT / "probe", copy_with_method / "probe") == ["methods/brevity"]


def test_a_new_method_is_listed_run_read_measured_and_reported(copy_with_method, tmp_path):
    listed = _probe(copy_with_method, "tasks", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "brevity" in listed.stdout and "decide-first, asked to be brief" in listed.stdout
    out = tmp_path / "run.jsonl"
    scene = SAMPLES / "dog-wedding.txt"
    ran = _probe(copy_with_method, "funny", scene, "--variants", "brief", "-o", out, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    [record] = [json.loads(line) for line in out.read_text().splitlines()]
    entry = record["variants"]["brief"]
    assert entry["explanation_words"] == len(entry["explanation"].split())  # its reader ran
    assert entry["answer"] in ("yes", "no")  # read by probe's own reader, as for any variant
    reported = _probe(copy_with_method, "report", out, "--json", cwd=tmp_path)
    assert reported.returncode == 0, reported.stderr
    report = json.loads(reported.stdout)
    assert report["by_variant"]["brief"]["explanation_words"]["n"] == 1
    assert "explanation_words" in report["definitions"]
    shown = _probe(copy_with_method, "report", out, cwd=tmp_path)
    assert "Brevity: brief explains in" in shown.stdout


def test_the_methods_of_the_package_and_their_variants():
    """Every registered variant belongs to exactly one method folder, and the folders are the
    methods the README's Layout names."""
    names = [m.name for m in methods()]
    assert names == [
        "order",
        "forcing",
        "turpin",
        "hints",
        "input_edits",
        "lanham",
        "probability_shift",
    ]
    owned = [v for m in methods() for v in m.variants]
    assert sorted(owned) == sorted(VARIANTS) and len(owned) == len(set(owned))
    assert all(VARIANTS[v].method for v in VARIANTS)
