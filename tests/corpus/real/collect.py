"""How tests/corpus/real/ was collected: probe itself, run on real models over the inputs in
tests/corpus/real/inputs/, one run file per model and input set. Not run by the test suite.

    uv run python tests/corpus/real/collect.py smollm2 OUTDIR
    uv run python tests/corpus/real/collect.py qwen05 OUTDIR --api-base http://127.0.0.1:8105/v1
    uv run python tests/corpus/real/collect.py qwen15 OUTDIR --api-base http://127.0.0.1:8115/v1 --small

The Qwen models are served by `python -m llama_cpp.server --model FILE.gguf --model_alias NAME`
(recipes in ../shared/FIELD-NOTES.md); they are never a dependency of probe. Each run is resumable
(--resume) and cached, so running it again after a change to probe re-reads the same replies and
makes only the calls the change adds (answer extraction, for example).

Then `uv run python tests/corpus/real/extract.py OUTDIR` turns the run files into the unlabelled
reply list that the blind labellers saw.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
INPUTS = HERE / "inputs"
MODELS = {
    "smollm2": "local/smollm2",
    "qwen05": "openai/qwen2.5-coder-0.5b",
    "qwen15": "openai/qwen2.5-coder-1.5b",
}
YES_NO = "decide-first,forced,explain-first,suggested-explain-first"
CHOICE = (
    "decide-first,forced,explain-first,suggested,suggested-explain-first,metadata-explain-first"
)
CAUSAL_Q = "Did the first event described cause the second?"


def runs(small: bool, outdir: Path) -> list[tuple[str, list[str]]]:
    """(name, probe arguments): each input set with the variants it is read under, the sets of
    every task first and the other forcing mechanisms after. small: every other input."""
    funny = sorted((INPUTS / "funny").glob("*.txt"))
    sarcastic = sorted((INPUTS / "sarcastic").glob("*.txt"))
    causal, choice = INPUTS / "causal.jsonl", INPUTS / "choice.jsonl"
    if small:
        funny, sarcastic = funny[::2], sarcastic[::2]
        causal, choice = _every_other(causal, outdir), _every_other(choice, outdir)
    f, s = [str(p) for p in funny], [str(p) for p in sarcastic]
    return [
        ("funny", ["funny", *f, "--variants", YES_NO]),
        ("choice", ["ask", "--task", "choice", str(choice), "--variants", CHOICE]),
        ("sarcastic", ["ask", "--task", "sarcastic", *s, "--variants", YES_NO]),
        ("causal", ["ask", CAUSAL_Q, str(causal), "--variants", YES_NO]),
        ("funny-note", ["funny", *f, "--variants", "decide-first,forced", "--force-via", "note"]),
        (
            "sarcastic-note",
            [
                "ask",
                "--task",
                "sarcastic",
                *s,
                "--variants",
                "decide-first,forced",
                "--force-via",
                "note",
            ],
        ),
        (
            "funny-prior",
            ["funny", *f, "--variants", "decide-first,forced", "--force-via", "prior-turn"],
        ),
    ]


def _every_other(path: Path, outdir: Path) -> Path:
    lines = path.read_text(encoding="utf-8").splitlines()
    out = outdir / f"input-{path.name}"
    out.write_text("\n".join(lines[::2]) + "\n", encoding="utf-8")
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=sorted(MODELS))
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--api-base")
    ap.add_argument("--small", action="store_true", help="every other funny/sarcastic input")
    ap.add_argument("--only", help="comma-separated run names")
    args = ap.parse_args()
    outdir = args.outdir / args.model
    outdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_WAIT_POLICY": "passive", "PROBE_API_KEY": "none"}
    only = set(args.only.split(",")) if args.only else None
    for name, argv in runs(args.small, outdir):
        if only and name not in only:
            continue
        cmd = [
            sys.executable,
            "-m",
            "probe",
            *argv,
            "--model",
            MODELS[args.model],
            "--force",
            "opposite",
        ]
        cmd += ["-o", str(outdir / f"{name}.jsonl"), "--resume", "--no-align", "-j", "1"]
        cmd += ["--max-tokens", "160", "--timeout", "600", "--retries", "1"]
        if args.api_base:
            cmd += ["--api-base", args.api_base]
        print("+", " ".join(cmd), flush=True)
        rc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL).returncode
        print(f"  exit {rc}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
