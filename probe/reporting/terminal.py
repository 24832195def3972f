"""The terminal view of a metrics report (`probe report FILE…`), for a reader new to the measures.

Reads the dict that `probe.measures.measures.compute_report` returns and prints it with Rich: a header (counts,
verdicts with their meanings, and warnings about records that are not measured or were run in
several configurations), the rates pooled over variants, each variant against its baseline, the
McNemar tests, order agreement and the noise floor; then, when there are several tasks, the same
more briefly for each. A baseline that cannot carry a finding (probe.measures.baselines) is named
beside the verdicts, and each rate or test it undermines is marked "!" with its note under the
table. Every rate is shown as value, Wilson 95% interval and n; a rate over
nothing shows "—". Names that came from records (models, tasks, variants, verdicts, run options)
enter Rich only as `Text`, never as markup.
docs/report.md explains each measure at length.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from probe.measures.measures import FORCED_RATES, describe_sources
from probe.pipeline.view import literal
from probe.records.verdict import VERDICTS
from probe.variants import registry as method

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

DASH = "—"

# One line each (at most 42 characters: one line at 100 columns), shortened from
# metrics.DEFINITIONS, which holds the full statements.
MEANINGS = {
    "error": "runs whose call failed",
    "parse_failure": "runs whose answer could not be read",
    "mentions_bias": "explanation mentions the bias or forcing",
    "not_honored": "the forcing did not take: nothing tested",
    "same_answer": "forced answer was its own: nothing tested",
    "unclear": "no stance could be read from its own text",
    "stance_conflict": "its own text asserts two answers",
    "compliance": "its own text argues for the forced answer",
    "pushback": "its own text argues for another answer",
    "rationalization": "complied and never mentions the forcing",
    "bias_following": "answer equals the bias target",
    "flip_to_bias": "left another answer for the bias target",
    "bias_mention_given_flip": "of flips to the bias, explanation says so",
    "judge_mention_given_flip": "the same, as a judge model sees it",
    "detector_agreement": "lexical and judge mention detectors agree",
    "order_agreement": "decide-first and explain-first agree",
    "noise_floor": "two runs of one unbiased prompt disagree",
    "noise_floor_any": "inputs whose repeated runs ever disagree",
}
KAPPA_MEANING = "1 perfect, 0 no better than chance"
# One line each, for the verdicts a run produced (README and docs/report.md say more).
VERDICT_MEANINGS = {
    "rationalizes": "its own text argues for the forced answer",
    "resists": "its own text argues for another answer, or retracts",
    "unclear": "no stance could be read: counted as neither",
    "not-honored": "the prefill or note did not take: nothing tested",
    "same-answer": "the forced answer was its own: nothing tested",
    "unparsed": "an answer the verdict needs could not be read",
    "error": "a call or the input failed",
}
LEGACY = "{n} forced {runs} stance detection and {are} not measured; re-run {them}"
CONFIGURATIONS = "{n} configurations, their items kept apart"
SPLIT = (
    "{n} {inputs} asked under more than one question, options or configuration: "
    "each way counts as its own input"
)
NOISE_FLOOR = (
    "answer changes among repeated samples of the same unbiased prompt: "
    "flip rates below this are noise"
)
NOT_MEASURED = "noise floor: not measured (repeat the unbiased prompt: --samples 2+)"
MARK = "! "  # in place of a row's indent: its baseline cannot carry it (a note under the table)
MARKED = "the rates marked ! below are compared with it"

POOLED_GROUPS = (
    ("every variant", ("error", "parse_failure", "mentions_bias")),
    ("forced variants", FORCED_RATES),
    (
        "biased variants",
        (
            "bias_following",
            "flip_to_bias",
            "bias_mention_given_flip",
            "judge_mention_given_flip",
            "detector_agreement",
        ),
    ),
)
BIAS_ROWS = ("bias_following", "bias_mention_given_flip", "judge_mention_given_flip")

OUTCOMES = {
    "correct": "answer equals gold",
    "target": "answer equals the forced answer or the bias target",
    "first-option": "answer is the task's first option (e.g. yes)",
}
INDENT = "  "
LABEL_WIDTH = 26  # INDENT + "judge mention given flip"


# --- cells ------------------------------------------------------------------------------------


def _label(key: str) -> str:
    return key.replace("_", " ")


def _num(x: float) -> str:
    return f"{x:.2f}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _p(p: float | None) -> str:
    """Two decimals, except below 0.01, where two decimals would say 0.00."""
    if p is None:
        return DASH
    return _num(p) if p >= 0.01 else f"{p:.1e}"


def _rate_cells(rate: dict[str, Any] | None) -> list[str]:
    """[value, interval, n] as shown; a rate over nothing is "—"."""
    n = (rate or {}).get("n") or 0
    if not n or rate is None or rate.get("value") is None:
        return [DASH, "", f"n={n}"]
    lo, hi = rate["ci"]
    return [_num(rate["value"]), f"[{_num(lo)}, {_num(hi)}]", f"n={n}"]


Justify = Literal["left", "right"]


def _table(label: str, columns: list[tuple[str, Justify]], last: str | None = None) -> Table:
    """A borderless table: a label column that folds, short columns that never wrap, and `last`,
    if given, wrapped to the width that is left."""
    from rich.table import Table

    # Right padding only: Rich's pad_edge=False miscounts the width of a wrapping last column.
    table = Table(box=None, padding=(0, 2, 0, 0), header_style="bold", show_edge=False)
    table.add_column(label, max_width=LABEL_WIDTH, overflow="fold")
    for name, justify in columns:
        table.add_column(name, justify=justify, no_wrap=True)
    if last:
        table.add_column(last, style="dim")
    return table


def rates_table(last: str | None) -> Table:
    """Label, value, interval, n: fixed widths, so that one rate table lines up with the next."""
    table = _table("measure", [("value", "right"), ("95% CI", "left"), ("n", "left")], last)
    for column, width in zip(table.columns, (LABEL_WIDTH, 5, 12, 5), strict=False):
        column.min_width = width
    return table


Marks = list[tuple[str, str]]  # (what a row measures, a baseline warning's note on it)


def add_rate(
    table: Table,
    label: str,
    rate: dict[str, Any] | None,
    note: str | None,
    marks: Marks | None = None,
    name: str = "",
) -> None:
    """A rate's row; one its baseline cannot carry is marked, and its notes go to `marks` (as
    `name`, else its label) for the lines under the table."""
    from rich.text import Text

    warned = (rate or {}).get("baseline_warnings") or []
    if warned and marks is not None:
        label = MARK + label.removeprefix(INDENT)
        marks.extend((name or label[len(MARK) :], w.get("note", "")) for w in warned)
    cells = [Text(label, style="bold yellow" if warned else ""), *map(Text, _rate_cells(rate))]
    if note is not None:
        cells.append(Text(note))
    table.add_row(*cells)


def print_heading(console: Console, title: str, note: str = "") -> None:
    from rich.text import Text

    line = Text(title, style="bold underline")
    if note:
        line.append("  " + note, style="dim")
    console.print()
    console.print(line)


def print_note(console: Console, *lines: str) -> None:
    from rich.text import Text

    console.print(Text("\n".join(lines), style="dim"))


def _marked(console: Console, marks: Marks) -> None:
    """Under a table, what each baseline warning does to the rows marked with it: one line per
    note, naming its rows."""
    from rich.text import Text

    rows: dict[str, list[str]] = {}
    for what, note in marks:
        if what not in rows.setdefault(note, []):
            rows[note].append(what)
    for note, names in rows.items():
        line = Text(MARK, style="bold yellow")
        line.append_text(literal(", ".join(names) + ": " + note, "yellow"))
        console.print(line)


# --- sections ---------------------------------------------------------------------------------


def _header(console: Console, section: dict[str, Any], records: int | None, detailed: bool) -> None:
    from rich.text import Text

    counts = [] if records is None else [_count(records, "record")]
    counts += [_count(section.get("n_inputs", 0), "input")]
    counts += [_count(section.get("input_errors", 0), "input error")]
    line = Text("  ·  ".join(counts))
    line.append("\nmodels: ", style="bold")
    models = section.get("models") or []
    for i, model in enumerate(models):
        line.append(", " if i else "")
        line.append_text(literal(str(model)))
    line.append("" if models else DASH)
    verdicts = section.get("verdicts") or {}
    line.append("\nverdicts:", style="bold")
    if detailed and verdicts:  # one per line, with what it means
        console.print(line)
        console.print(_verdict_table(verdicts))
    else:
        line.append(" ")
        line.append_text(_verdicts(verdicts))
        console.print(line)
    _baseline(console, section)
    _warnings(console, section, detailed)


def _baseline(console: Console, section: dict[str, Any]) -> None:
    """Each baseline that cannot carry a finding, next to the verdicts: what it does to them
    where it concerns them, else what it is; the rates it undermines are marked below."""
    from rich.text import Text

    for warning in section.get("baseline_warnings") or []:
        notes = warning.get("notes") or {}
        line = Text(MARK, style="bold yellow")
        line.append_text(literal(notes.get("verdicts") or warning.get("message", ""), "yellow"))
        if any(path != "verdicts" for path in notes):
            line.append(f" ({MARKED})", style="yellow")
        console.print(line)


def _ordered(verdicts: dict[str, int]) -> list[tuple[str, int]]:
    known = [(v, verdicts[v]) for v in VERDICTS if verdicts.get(v)]
    return known + [(v, n) for v, n in verdicts.items() if v not in VERDICTS and n]


def _verdicts(verdicts: dict[str, int]) -> Text:
    """The verdicts that occurred, with their counts, in the order VERDICTS gives."""
    from rich.text import Text

    if not verdicts:
        return Text("none (no forced variant)")
    out = Text()
    for i, (verdict, count) in enumerate(_ordered(verdicts)):
        out.append(", " if i else "")
        out.append_text(literal(str(verdict)))
        out.append(f" {count}", style="bold")
    return out


def _verdict_table(verdicts: dict[str, int]) -> Table:
    """The verdicts that occurred: count and meaning, one per line."""
    from rich.text import Text

    table = _table("verdict", [("n", "right")], "meaning")
    table.show_header = False
    for verdict, count in _ordered(verdicts):
        meaning = VERDICT_MEANINGS.get(verdict, "not a verdict this version of probe knows")
        table.add_row(literal(INDENT + str(verdict)), Text(str(count)), Text(meaning))
    return table


def _warnings(console: Console, section: dict[str, Any], detailed: bool) -> None:
    """What the reader must know before trusting the numbers: records that are not measured, and
    (whole run only) inputs run in several configurations."""
    from rich.text import Text

    legacy = section.get("legacy_forced_runs") or 0
    if legacy:
        plural = legacy != 1
        words = {
            "runs": "runs predate" if plural else "run predates",
            "are": "are" if plural else "is",
        }
        message = LEGACY.format(n=legacy, them="them" if plural else "it", **words)
        console.print(Text(message, style="bold yellow"))
    if not detailed:
        return
    for config in section.get("configurations") or []:
        if (config.get("n") or 0) < 2:
            continue
        line = Text()
        line.append_text(literal(str(config.get("model"))))
        line.append(" · ")
        line.append_text(literal(str(config.get("task"))))
        line.append(": " + CONFIGURATIONS.format(n=config["n"]))
        differ = config.get("differ") or {}
        if differ:
            line.append(" (")
            for i, (key, values) in enumerate(differ.items()):
                line.append("; " if i else "")
                line.append(key.replace("_", "-") + " ")
                line.append_text(literal(", ".join(map(_option, values))))
            line.append(")")
        console.print(line, style="yellow")
    split = section.get("split_inputs") or 0
    if split:
        inputs = "inputs were" if split != 1 else "input was"
        console.print(Text(SPLIT.format(n=split, inputs=inputs), style="yellow"))


def _option(value: Any) -> str:
    if isinstance(value, list):
        return "+".join(map(str, value))
    return DASH if value is None else str(value)


def _pooled(console: Console, rates: dict[str, Any], detailed: bool) -> None:
    """The pooled rates, grouped by the variants they apply to. In a task's section (not
    detailed) the meanings, already given above, and groups measured nowhere are left out."""
    from rich.text import Text

    print_heading(console, "Rates over all variants", "value, 95% interval, and the n it is out of")
    table = rates_table("meaning" if detailed else None)
    marks: Marks = []
    for title, keys in POOLED_GROUPS:
        if not detailed and not any((rates.get(key) or {}).get("n") for key in keys):
            continue
        table.add_row(Text(title + ":", style="bold"))
        for key in keys:
            note = MEANINGS[key] if detailed else None
            add_rate(table, INDENT + _label(key), rates.get(key), note, marks)
    console.print(table)
    _marked(console, marks)


def _variant_rows(variant: dict[str, Any], show_accuracy: bool) -> list[tuple[str, Any, str]]:
    """(label, rate, note) for one variant; the notes say what the pooled table does not."""
    rates, base = variant.get("rates", {}), variant.get("baseline")
    rows: list[tuple[str, Any, str]] = [("error", rates.get("error"), "")]
    rows.append(("parse failure", rates.get("parse_failure"), ""))
    if base:
        rows.append(("flip", rates.get("flip"), f"answer differs from {base}'s"))
    if show_accuracy:
        rows.append(("accuracy", rates.get("accuracy"), "answer equals gold"))
    rows += [(_label(key), rates[key], "") for key in FORCED_RATES if key in rates]
    for key in BIAS_ROWS:
        if key in rates and (key != "judge_mention_given_flip" or rates[key].get("n")):
            rows.append((_label(key), rates[key], ""))
    if "noise_floor" in rates:
        rows.append(("noise floor", rates["noise_floor"], "its own repeated runs disagree"))
    return rows


def _add_drop(table: Table, drop: dict[str, Any]) -> None:
    """Turpin et al.'s accuracy drop: a difference of two rates, so no interval of its own."""
    from rich.text import Text

    n = drop.get("n") or 0
    if not n or drop.get("drop") is None:
        cells, note = [DASH, "", f"n={n}"], "no bias-inconsistent input read in both"
    else:
        before, after = drop["unbiased"]["value"], drop["biased"]["value"]
        cells = [f"{drop['drop']:+.2f}", "", f"n={n}"]
        note = f"accuracy {_num(before)} → {_num(after)}, gold ≠ bias target"
    table.add_row(Text(INDENT + "accuracy drop"), *(Text(c) for c in cells), Text(note))


def _by_variant(console: Console, by_variant: dict[str, Any]) -> None:
    from rich.text import Text

    print_heading(console, "Per variant", "each against its baseline: the same prompt, unbiased")
    if not by_variant:
        console.print(Text("no variants"))
        return
    show_accuracy = any(v["rates"].get("accuracy", {}).get("n") for v in by_variant.values())
    table = rates_table("note")
    marks: Marks = []
    for name, variant in by_variant.items():
        inputs = Text(_count(variant.get("n_inputs", 0), "input"))
        table.add_row(literal(name, "bold"), Text(""), Text(""), Text(""), inputs)
        if variant.get("answer_sources"):  # where its answers were read (answer extraction)
            sources = describe_sources(variant["answer_sources"])
            table.add_row(Text(INDENT + "answers"), Text(""), Text(""), Text(""), Text(sources))
        for label, rate, note in _variant_rows(variant, show_accuracy):
            add_rate(table, INDENT + label, rate, note, marks, f"{name} · {label}")
        if show_accuracy and "accuracy_drop" in variant:
            _add_drop(table, variant["accuracy_drop"])
        for m in method.methods():  # rows a method adds to its variants' entries
            for label, cells, note in m.report_rows(variant) if m.report_rows else []:
                table.add_row(*(Text(c) for c in (INDENT + label, *cells, note)))
    console.print(table)
    _marked(console, marks)


def _mcnemar(console: Console, tests: dict[str, Any], detailed: bool) -> None:
    from rich.text import Text

    print_heading(console, "McNemar exact test", "does the variant move answers one way?")
    if not tests:
        console.print(Text("no variant with a baseline"))
        return
    counted: list[tuple[str, Justify]] = [(name, "right") for name in ("n", "b", "c", "p")]
    table = _table("variant", [("vs", "left"), ("outcome", "left"), *counted])
    marks: Marks = []
    for name, test in tests.items():
        counts = [test.get(key) for key in ("n", "b", "c")]
        warned = test.get("baseline_warnings") or []
        marks.extend((name, w.get("note", "")) for w in warned)
        table.add_row(
            literal(MARK + name, "bold yellow") if warned else literal(name),
            Text(str(test.get("baseline") or DASH)),
            literal(str(test.get("outcome") or DASH)),
            *(Text(DASH if x is None else str(x)) for x in counts),
            Text(_p(test.get("p_value"))),
        )
    console.print(table)
    _marked(console, marks)
    if not detailed:
        return
    used = [o for o in OUTCOMES if any(t.get("outcome") == o for t in tests.values())]
    print_note(
        console,
        *(f"outcome {o}: {OUTCOMES[o]}" for o in used),
        "b: the baseline had the outcome and the variant not; c: the reverse",
        "p: chance of a b/c split this uneven if the variant changed nothing",
        "   (below 0.05: unlikely to be chance)",
    )


def _consistency(console: Console, rates: dict[str, Any], detailed: bool) -> None:
    from rich.text import Text

    print_heading(console, "Order agreement and noise floor")
    table = rates_table("meaning" if detailed else None)
    order = rates.get("order_agreement") or {}
    meaning = MEANINGS["order_agreement"] if detailed else None
    marks: Marks = []
    add_rate(table, "order agreement", order, meaning, marks)
    kappa = order.get("kappa")
    cells = ["Cohen's κ", DASH if kappa is None else _num(kappa), "", f"n={order.get('n', 0)}"]
    table.add_row(*map(Text, cells + ([KAPPA_MEANING] if detailed else [])))
    measured = bool((rates.get("noise_floor") or {}).get("n"))
    if measured:
        for key in ("noise_floor", "noise_floor_any"):
            note = MEANINGS[key] if detailed else None
            add_rate(table, _label(key).replace(" any", " (any)"), rates.get(key), note)
    console.print(table)
    _marked(console, marks)
    if detailed:
        print_note(console, NOISE_FLOOR if measured else NOT_MEASURED)


def _section(
    console: Console, section: dict[str, Any], *, records: int | None, detailed: bool
) -> None:
    _header(console, section, records, detailed)
    rates = section.get("rates", {})
    _pooled(console, rates, detailed)
    _by_variant(console, section.get("by_variant", {}))
    _mcnemar(console, section.get("mcnemar", {}), detailed)
    _consistency(console, rates, detailed)
    for m in method.methods():  # each method's own section, where it has one
        if m.report_section is not None:
            m.report_section(console, section.get("by_variant", {}), detailed)


def _reader_agreement(console: Console, agreed: dict[str, Any] | None) -> None:
    """The labels of `probe review`: how many replies a person read, and how often probe agreed."""
    from rich.text import Text

    if not agreed or not agreed.get("n"):
        return
    print_heading(console, "Read by a person", "probe review's labels, used in every rate above")
    kappa = agreed.get("kappa")
    console.print(
        Text(
            f"{agreed['human_read']} forced replies; probe's reading agreed on "
            f"{int(agreed['k'])} of {agreed['n']} "
            f"({_num(agreed['value'])}, 95% CI {_num(agreed['ci'][0])}–{_num(agreed['ci'][1])})"
            + (f", κ {kappa:.2f}" if kappa is not None else "")
        )
    )


def _models(console: Console, by_model: dict[str, Any], between: list[dict[str, Any]]) -> None:
    """Several models (a run and its `probe rerun`, or files of two models): the headline
    numbers of each side by side, then the paired tests between them on their shared inputs."""
    from rich.text import Text

    from probe.reporting import headline

    print_heading(console, "Models side by side", "each model's own records; n: what it counts")
    found = {model: headline.facts(section)[0] for model, section in by_model.items()}
    labels = [fact.label for facts in found.values() for fact in facts]
    table = _table("measure", [])
    for model in by_model:
        table.add_column(literal(str(model), "bold"), no_wrap=True)
    for label in dict.fromkeys(labels):
        cells = []
        for facts in found.values():
            fact = next((f for f in facts if f.label == label), None)
            cells.append(
                Text(DASH)
                if fact is None
                else Text(f"{_num(fact.value)} [{_num(fact.lo)}, {_num(fact.hi)}] n={fact.n}")
            )
        table.add_row(Text(label), *cells)
    console.print(table)
    print_heading(
        console, "Between models, input by input", "exact McNemar test on the inputs both ran"
    )
    if not between:
        console.print(Text("no input was measured by two models"))
        return
    counted: list[tuple[str, Justify]] = [
        (name, "right") for name in ("n", "A has", "B has", "only A", "only B", "p")
    ]
    table = _table("outcome", [("A", "left"), ("B", "left"), *counted])
    for test in between:
        counts = [test.get(key) for key in ("n", "k_a", "k_b", "only_a", "only_b")]
        table.add_row(
            literal(str(test.get("outcome"))),
            literal(str(test.get("a"))),
            literal(str(test.get("b"))),
            *(Text(DASH if x is None else str(x)) for x in counts),
            Text(_p(test.get("p_value"))),
        )
    console.print(table)
    print_note(
        console,
        "A has / B has: of the n inputs both measured, how many have the outcome in each",
        "only A / only B: inputs where one model has it and the other not",
        "p: chance of a split this uneven if the two models did not differ (below 0.05: unlikely)",
    )


def _rule(console: Console, what: str, name: str) -> None:
    from rich.text import Text

    console.print()
    console.rule(Text.assemble((what, "bold"), literal(name, "bold")))


def render_report(report: dict[str, Any], console: Console) -> None:
    """Print the report: with several models, them side by side and each on its own first;
    then the whole run (every model pooled), then each task when there is more than one."""
    from rich.text import Text

    console.print(Text("probe report", style="bold"))
    by_model = report.get("by_model") or {}
    if len(by_model) > 1:
        _models(console, by_model, report.get("between_models") or [])
        for model, section in by_model.items():
            _rule(console, "model: ", str(model))
            _section(console, section, records=None, detailed=False)
            for task, part in (section.get("by_task") or {}).items():
                _rule(console, "model · task: ", f"{model} · {task}")
                _section(console, part, records=None, detailed=False)
        _rule(console, "", "all models pooled")
    _section(console, report, records=report.get("n_records", 0), detailed=True)
    _reader_agreement(console, report.get("reader_agreement"))
    by_task = report.get("by_task") or {}
    if len(by_task) > 1:
        for task, section in by_task.items():
            _rule(console, "task: ", str(task))
            _section(console, section, records=None, detailed=False)
