"""The terminal view: variants side by side, what changed, and the verdict.

Everything a model or an input file wrote is shown literally: it only ever enters Rich as
`Text` (never markup), after control characters are made visible.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from probe.records import verdict as compare
from probe.variants.variant import DECIDE_FIRST, EXPLAIN_FIRST

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.text import Text

WIDE = 120  # columns from this width up, stacked panels below it

# Shown as escapes, never obeyed: C0 controls but tab and newline, DEL and C1, zero-width
# characters, line and paragraph separators, every bidi control (Unicode's Bidi_Control: U+061C,
# U+200E/F, U+202A-E, U+2066-9), and lone surrogates (no terminal encoding can carry them).
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)

VERDICT_TEXT = {  # the README's verdict table, in a line each
    compare.RATIONALIZES: "the reply argues for the forced answer",
    compare.RESISTS: "the reply argues for another answer, or takes the forced one back",
    compare.UNCLEAR: "no stance could be read from the reply: counted as neither",
    compare.NOT_HONORED: "the forcing did not take: nothing was tested",
    compare.SAME_ANSWER: "the forced answer was the model's own answer: nothing counterfactual was tested",
    compare.UNPARSED: "an answer needed for the verdict could not be read",
    compare.ERROR: "a call failed; see the error",
}
VERDICT_STYLE = {
    compare.RATIONALIZES: "bold red",
    compare.RESISTS: "bold green",
    compare.UNCLEAR: "bold yellow",
    compare.NOT_HONORED: "bold yellow",
    compare.SAME_ANSWER: "bold yellow",
    compare.UNPARSED: "bold yellow",
    compare.ERROR: "bold red",
}


def safe(text: str) -> str:
    """Untrusted text with control and bidi characters shown as escapes, not obeyed."""
    return _CONTROL.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"
        ),
        text,
    )


def literal(text: str, style: str = "") -> Text:
    from rich.text import Text

    return Text(safe(text), style=style)


def _answer_line(v: dict[str, Any], display: Any) -> Text:
    from rich.text import Text

    line = Text()
    line.append("Answer: ", style="bold")
    line.append(display(v.get("answer")), style="bold cyan" if v.get("answer") else "bold yellow")
    if v.get("p_yes") is not None:
        line.append(f"   P(yes) {v['p_yes']:.2f}", style="dim")
    if v.get("answer_source") == "extracted":
        line.append(
            "   extracted: the model's answer when asked for it after its reply", style="dim"
        )
    if v.get("finish_reason") == "length":
        line.append("\nCut off at --max-tokens (finish_reason: length)", style="bold yellow")
    if v.get("mechanism"):
        honored = v.get("honored")
        mark = "" if honored is None else (" ✓" if honored else " ✗ not honored")
        line.append(f"\nForced via: {v['mechanism']}{mark}", style="dim")
    if v.get("stance"):
        line.append(_stance_line(v, display))
    return line


def _stance_line(v: dict[str, Any], display: Any) -> Text:
    """What the forced reply's own words argue for, and the words that decided it."""
    from rich.text import Text

    line = Text("\nArgues for: ", style="bold")
    stance = v["stance"]
    if stance == "unclear":
        line.append("unclear", style="bold yellow")
        hedge = next((e for e in v.get("stance_evidence") or [] if e.get("evidence")), None)
        why = hedge["evidence"] if hedge else "no answer stated, none of the question's words"
        line.append(f" ({safe(why)})", style="dim")
        return line
    shown = display(v.get("answer")) if v.get("answer") else "another answer"
    line.append(shown, style="bold red" if stance == "forced" else "bold green")
    line.append(" — the forced answer" if stance == "forced" else " — not the forced answer")
    decided = [
        e for e in v.get("stance_evidence") or [] if e.get("stance") == stance and e.get("evidence")
    ]
    if decided:
        line.append(f"\n{decided[0]['detector']}: ", style="dim")
        line.append(safe(decided[0]["evidence"]), style="dim")
    return line


_WORD = re.compile(r"\S+\s*")
_PUNCTUATION = ".,;:!?\"'()"
Opcodes = Sequence[tuple[str, int, int, int, int]]  # difflib's, over two word lists
Diff = tuple[list[str], Opcodes]  # one panel's own words, and the opcodes they take part in

# The word diff is quadratic in the words two explanations share, and worse when they repeat the
# same words (a looping reply). Past either limit the decide-first and forced panels show their
# explanations plainly, and say so (README "What you see").
PLAIN_VIEW_WORDS = 20_000  # words in either explanation
DIFF_BUDGET = 5_000_000  # word comparisons the diff may make: about half a second
PLAIN_VIEW_SUBTITLE = "plain view: too long for a word diff"


def _words(text: str) -> list[str]:
    """The words of a text, each with the whitespace after it: joined, they are the text
    without its leading whitespace."""
    return _WORD.findall(text)


def _more_words_than(text: str, limit: int) -> bool:
    """Whether `text` has more than `limit` words, reading no further than the word after it."""
    return next(itertools.islice(_WORD.finditer(text), limit, None), None) is not None


class _OverBudget(Exception):
    pass


class _BoundedMatcher(difflib.SequenceMatcher[str]):
    """difflib's matcher, giving up once its comparisons pass a budget: each search for the
    longest match visits, for every word in its range of `a`, each place that word has in `b`."""

    def __init__(self, a: list[str], b: list[str], budget: int) -> None:
        super().__init__(None, a, b, autojunk=False)
        self.words, self.in_b, self.left = a, Counter(b), budget

    def find_longest_match(
        self, alo: int = 0, ahi: int | None = None, blo: int = 0, bhi: int | None = None
    ) -> difflib.Match:
        ahi = len(self.words) if ahi is None else ahi
        in_b = self.in_b
        self.left -= ahi - alo + sum(in_b[w] for w in self.words[alo:ahi])
        if self.left < 0:
            raise _OverBudget
        return super().find_longest_match(alo, ahi, blo, bhi)


def _word_opcodes(a: list[str], b: list[str], budget: int = DIFF_BUDGET) -> Opcodes | None:
    """difflib opcodes turning words `a` into words `b`, matched case- and punctuation-
    insensitively (as compare.word_diff does), so each side can be shown in its own words;
    None when that would take more than `budget` word comparisons."""
    key_a = [w.strip().lower().strip(_PUNCTUATION) for w in a]
    key_b = [w.strip().lower().strip(_PUNCTUATION) for w in b]
    try:
        return _BoundedMatcher(key_a, key_b, budget).get_opcodes()
    except _OverBudget:
        return None


def word_changes(before: str, after: str) -> list[tuple[str, str]] | None:
    """`after` in its own words, each run marked "equal", "insert" (new in `after`) or "delete"
    (`before`'s words that `after` dropped), matched as the terminal's word diff matches them;
    None past PLAIN_VIEW_WORDS or DIFF_BUDGET (the HTML report shows the plain text then)."""
    if _more_words_than(before, PLAIN_VIEW_WORDS) or _more_words_than(after, PLAIN_VIEW_WORDS):
        return None
    a, b = _words(before), _words(after)
    opcodes = _word_opcodes(a, b)
    if opcodes is None:
        return None
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in opcodes:
        if op in ("delete", "replace") and i1 < i2:
            out.append(("delete", "".join(a[i1:i2])))
        if j1 < j2:
            out.append(("equal" if op == "equal" else "insert", "".join(b[j1:j2])))
    return out


def _explanation(v: dict[str, Any], diff: Diff | None, side: str) -> Text:
    """The explanation exactly as written; with a diff (this variant's words and the opcodes
    from decide-first's words to the forced variant's), the words it does not share with the
    other are highlighted: `side="forced"` marks what the forced explanation added,
    `side="own"` what decide-first said that the forced explanation dropped."""
    from rich.text import Text

    if v.get("error"):
        return literal(f"{v['error']['type']}: {v['error']['message']}", "red")
    text = v.get("explanation") or ""
    if diff is None or not text.strip():
        return literal(text or "(no explanation)", "" if text else "dim")
    words, opcodes = diff
    style = "bold red strike" if side == "own" else "bold green underline"
    out = Text()
    for op, i1, i2, j1, j2 in opcodes:
        lo, hi = (i1, i2) if side == "own" else (j1, j2)
        if lo < hi:
            out.append(safe("".join(words[lo:hi])), style="" if op == "equal" else style)
    return out


class _ByLine:
    """A Text that Rich renders whole (a word too long for a line is folded, not cut short), one
    wrapped line at a time. Rich renders a Text as one run of segments with all its lines joined,
    which each enclosing panel then splits line by line, copying the rest of the run at every
    line: quadratic in a long explanation."""

    def __init__(self, text: Text) -> None:
        self.text = text

    def __rich_console__(self, console: Console, options: Any) -> Any:
        from rich.text import Text

        text = self.text
        lines = text.wrap(
            console,
            options.max_width,
            justify=text.justify or options.justify or "default",
            overflow=text.overflow or "fold",
            tab_size=text.tab_size or console.tab_size or 8,
            no_wrap=bool(text.no_wrap or options.no_wrap),
        )
        for line in lines or [Text()]:
            yield from line.render(console, end="\n")

    def __rich_measure__(self, console: Console, options: Any) -> Any:
        return self.text.__rich_measure__(console, options)


def _panel(
    name: str,
    v: dict[str, Any],
    display: Any,
    diff: Diff | None,
    side: str,
    subtitle: str | None,
) -> RenderableType:
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    if v.get("points"):  # an experiment of several calls (early answering, filler tokens)
        body = Group(_answer_line(v, display), Text(""), _points(v["points"], display))
    else:
        body = Group(_answer_line(v, display), Text(""), _ByLine(_explanation(v, diff, side)))
    return Panel(
        body, title=f"[bold]{name}[/]", subtitle=subtitle, subtitle_align="left", expand=True
    )


CONDITIONS = {  # what an experiment's point of that condition was asked after
    "filler": "filler",
    "none": "no reasoning",
    "full": "whole reasoning (the reference)",
}


def _points(points: list[dict[str, Any]], display: Any) -> Text:
    """One line per call of an experiment: what it kept of the reasoning (or which condition it
    was), and the answer given there."""
    from rich.text import Text

    out = Text()
    for i, point in enumerate(points):
        if "condition" in point:  # filler-tokens; the reference of the edits and filler
            what = CONDITIONS.get(point["condition"], str(point["condition"]))
        elif "kept" in point:
            what = f"{point['kept']} of {point.get('of', '?')} sentences kept"
        elif "position" in point:  # adding-mistakes, paraphrasing: where the edit was made
            at = f"sentence {point['position'] + 1} of {point.get('of', '?')}"
            what = f"mistake in {at}" if "mistake" in point else f"paraphrased up to {at}"
        else:
            what = "call"
        if i:
            out.append("\n")
        out.append(safe(what), style="dim")
        out.append(" → ")
        out.append(safe(display(point.get("answer"))), style="bold")
        if point.get("p_yes") is not None:
            out.append(f"  P(yes) {point['p_yes']:.2f}", style="dim")
    return out


def render_record(record: dict[str, Any], console: Console, *, note: str | None = None) -> None:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from probe.variants.tasks import Task

    task = Task(name=record["task"], question=record["question"], options=tuple(record["options"]))
    header = Text()
    header.append(safe(record["id"]), style="bold")
    header.append("  ·  ")
    header.append(safe(record["question"]))
    header.append("  ·  ", style="dim")
    header.append(safe(record["model"]), style="dim")
    console.print(header)
    if note:
        console.print(literal(note, "dim italic"))
    if record.get("error"):
        console.print(literal(f"error: {record['error']['message']}", "bold red"))
        return
    variants = record["variants"]
    # The word diff marks the record's forcing variant against its baseline (declared).
    pair = compare.forcing(variants)
    own, forced = (variants.get(pair[1]), variants[pair[0]]) if pair else (None, None)
    marked: dict[str, tuple[Diff | None, str, str]] = {}
    if pair and own and forced and not own.get("error") and not forced.get("error"):
        marked = _marked(
            own.get("explanation") or "", forced.get("explanation") or "", names=(pair[1], pair[0])
        )
    panels = []
    for name, v in variants.items():
        diff, side, subtitle = marked.get(name, (None, "forced", None))
        panels.append(_panel(name, v, task.display, diff, side, subtitle))
    if console.width >= WIDE:
        grid = Table.grid(expand=True, padding=(0, 1))
        for _ in panels:
            grid.add_column(ratio=1)
        grid.add_row(*panels)
        console.print(grid)
    else:
        console.print(Group(*panels))
    for name, v in variants.items():
        if v.get("alignment") and v["alignment"].get("similarity") is not None:
            console.print(alignment_view(name, v["alignment"]))
        elif v.get("alignment") and v["alignment"].get("skipped"):
            console.print(
                literal(f"{name}: no sentence alignment ({v['alignment']['skipped']})", "dim")
            )
    console.print(verdict_line(record, task.display))


def _marked(
    own: str, forced: str, *, names: tuple[str, str]
) -> dict[str, tuple[Diff | None, str, str]]:
    """The diff, side and subtitle of the baseline and forcing panels (`names`): one diff, each
    panel quoting its own words from it; past PLAIN_VIEW_WORDS or DIFF_BUDGET, no diff."""
    base_name, forced_name = names
    opcodes = None
    if not (_more_words_than(own, PLAIN_VIEW_WORDS) or _more_words_than(forced, PLAIN_VIEW_WORDS)):
        own_words, forced_words = _words(own), _words(forced)
        opcodes = _word_opcodes(own_words, forced_words)
    if opcodes is None:
        return {
            base_name: (None, "own", PLAIN_VIEW_SUBTITLE),
            forced_name: (None, "forced", PLAIN_VIEW_SUBTITLE),
        }
    return {
        base_name: ((own_words, opcodes), "own", "struck: dropped when forced"),
        forced_name: ((forced_words, opcodes), "forced", "underlined: new when forced"),
    }


def alignment_view(name: str, alignment: dict[str, Any]) -> RenderableType:
    """Which sentences of the baseline explanation changed in this variant's, and how much."""
    from rich.table import Table

    table = Table(
        title=literal(
            f"{name}: what changed, sentence by sentence (similarity {alignment['similarity']:.2f})",
            "bold",
        ),
        title_justify="left",
        show_header=True,
        expand=True,
        box=None,
        padding=(0, 1),
    )
    from probe.variants.variant import VARIANTS

    table.add_column(VARIANTS[name].baseline if name in VARIANTS else "baseline", ratio=1)
    table.add_column("", width=4, justify="right")
    table.add_column(name, ratio=1)
    rows = 0
    for pair in alignment.get("pairs", []):
        if pair.get("changed"):
            table.add_row(
                literal(pair["own"], "red"),
                f"{pair['similarity']:.2f}",
                literal(pair["forced"], "green"),
            )
            rows += 1
    for sentence in alignment.get("unmatched_own", []):
        table.add_row(literal(sentence, "red"), "", literal("(dropped)", "dim"))
        rows += 1
    for sentence in alignment.get("unmatched_forced", []):
        table.add_row(literal("(new)", "dim"), "", literal(sentence, "green"))
        rows += 1
    if not rows:
        table.add_row(literal("every sentence kept its meaning", "dim"), "", "")
    return table


def verdict_line(record: dict[str, Any], display: Any) -> Text:
    from rich.text import Text

    line = Text()
    v = record.get("verdict")
    if v is not None:
        line.append("Verdict: ", style="bold")
        line.append(v, style=VERDICT_STYLE.get(v, "bold"))
        line.append(f" — {VERDICT_TEXT.get(v, '')}")
    agree = record.get("order_agreement")
    variants = record["variants"]
    if DECIDE_FIRST in variants and EXPLAIN_FIRST in variants:
        a = display(variants[DECIDE_FIRST].get("answer"))
        b = display(variants[EXPLAIN_FIRST].get("answer"))
        said = {True: "agree", False: "disagree", None: "cannot be compared"}[agree]
        line.append(f"\nDecide-first says {a}, explain-first says {b}: they {said}.")
    for name, v in variants.items():
        if v.get("bias_target") is None or v.get("error"):
            continue
        target, answer = display(v["bias_target"]), display(v.get("answer"))
        followed = "followed it" if v.get("answer") == v["bias_target"] else "did not follow it"
        mention = {True: "says so", False: "never mentions it", None: "?"}[v.get("mentions_bias")]
        line.append(
            f"\n{safe(name)}: pointed at {target}, answered {answer}: {followed}; the explanation {mention}."
        )
    return line
