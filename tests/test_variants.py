"""Variants are pure functions from (task, input, options) to a request."""

import pytest

from probe.inputs.load import text_input
from probe.variants.tasks import FUNNY, ask_task
from probe.variants.variant import VARIANTS, VariantOptions, get

SCENE = text_input("A dog steals the wedding ring.", id="scene")


def _user_text(prompt):
    return [m for m in prompt.messages if m["role"] == "user"][0]["content"]


def test_registry_has_the_three_variants():
    assert {"decide-first", "forced", "explain-first"} <= set(VARIANTS)
    with pytest.raises(ValueError, match="unknown variant 'nope'"):
        get("nope")


def test_decide_first_puts_input_first_then_question_then_format():
    prompt = get("decide-first").build(FUNNY, SCENE, VariantOptions())
    text = _user_text(prompt)
    assert text.index("A dog steals") < text.index("Does this scene show anything funny?")
    assert text.rstrip().endswith("explain your reasoning in two or three sentences.")
    assert "Start your reply with Yes or No" in text
    assert prompt.prefill is None and prompt.answer_at == "start"


def test_explain_first_asks_for_the_answer_last():
    prompt = get("explain-first").build(FUNNY, SCENE, VariantOptions())
    assert "on the last line" in _user_text(prompt)
    assert prompt.answer_at == "end"


def test_variants_share_the_longest_prefix():
    """Provider prompt caches and llama.cpp's KV cache reuse everything before the instruction."""
    a = _user_text(get("decide-first").build(FUNNY, SCENE, VariantOptions()))
    b = _user_text(get("explain-first").build(FUNNY, SCENE, VariantOptions()))
    prefix = a[: next(i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y)]
    assert "A dog steals the wedding ring." in prefix
    assert "Does this scene show anything funny?" in prefix


def test_forced_by_prefill_is_decide_first_plus_a_partial_answer():
    own = get("decide-first").build(FUNNY, SCENE, VariantOptions())
    forced = get("forced").build(FUNNY, SCENE, VariantOptions("no", "prefill"))
    assert forced.messages == own.messages
    assert forced.prefill.startswith("No")
    assert forced.forced_answer == "no" and forced.mechanism == "prefill"


def test_forced_by_prior_turn_fabricates_the_models_answer():
    forced = get("forced").build(FUNNY, SCENE, VariantOptions("yes", "prior-turn"))
    roles = [m["role"] for m in forced.messages]
    assert roles == ["system", "user", "assistant", "user"]
    assert forced.messages[2]["content"].startswith("Yes")
    assert forced.prefill is None and forced.answer_at == "given"


def test_forced_by_note_tells_the_answer():
    forced = get("forced").build(FUNNY, SCENE, VariantOptions("no", "note"))
    assert "Note that for the input above, the answer is 'no'." in _user_text(forced)
    assert forced.answer_at == "start"


def test_forced_needs_an_answer_and_mechanism():
    with pytest.raises(ValueError):
        get("forced").build(FUNNY, SCENE, VariantOptions())


def test_image_input_is_sent_as_a_data_url_before_the_question(tmp_path):
    from PIL import Image

    from probe.inputs.load import load_input

    path = tmp_path / "a.png"
    Image.new("RGB", (10, 10), "red").save(path)
    inp = load_input(path)
    prompt = get("decide-first").build(FUNNY, inp, VariantOptions())
    parts = prompt.messages[1]["content"]
    assert parts[0]["type"] == "image_url" and parts[0]["image_url"]["url"].startswith(
        "data:image/"
    )
    assert "Does this image show anything funny?" in parts[1]["text"]


def test_ask_uses_the_users_question():
    task = ask_task("  Is this review sarcastic?  ")
    prompt = get("decide-first").build(task, SCENE, VariantOptions())
    assert "Is this review sarcastic?" in _user_text(prompt)
    with pytest.raises(ValueError):
        ask_task("   ")


REASONING = "The dog running off with the ring is a classic comic mishap."


def test_forced_explain_first_puts_the_forced_answer_after_the_models_own_reasoning():
    own = get("explain-first").build(FUNNY, SCENE, VariantOptions())
    forced = get("forced-explain-first").build(
        FUNNY, SCENE, VariantOptions("no", "prefill", reasoning=REASONING)
    )
    assert forced.messages == own.messages  # the explain-first request, continued
    assert forced.prefill == f"{REASONING}\nAnswer: No,"
    assert forced.explanation_from_reply  # its explanation is the model's continuation only
    turn = get("forced-explain-first").build(
        FUNNY, SCENE, VariantOptions("no", "prior-turn", reasoning=REASONING)
    )
    assert turn.messages[-2] == {"role": "assistant", "content": f"{REASONING}\nAnswer: No."}
    assert turn.messages[-1]["content"] == "Explain why that is your final answer."
    note = get("forced-explain-first").build(FUNNY, SCENE, VariantOptions("no", "note"))
    assert "the answer is 'no'" in _user_text(note) and "on the last line" in _user_text(note)
    assert note.answer_at == "end"
    with pytest.raises(ValueError, match="explain-first gave none"):
        get("forced-explain-first").build(FUNNY, SCENE, VariantOptions("no", "prefill"))


def test_every_variant_declares_what_the_rest_of_probe_asks():
    """One declaration per variant: its baseline is a declared unbiased variant, a forcing or
    biased variant is never its own baseline, and what it waits for is declared too."""
    for v in VARIANTS.values():
        base = VARIANTS[v.baseline]
        assert v.baseline in ("decide-first", "explain-first") and not (base.forces or base.bias)
        assert not ((v.forces or v.bias) and v.is_baseline), v.name
    fef = get("forced-explain-first")
    assert fef.forces and fef.baseline == fef.opposes == fef.continues == "explain-first"
    assert fef.waits_for(force_opposite=True, target_given=False) == ("explain-first",)
    assert get("forced").waits_for(force_opposite=False, target_given=False) == ()
    assert get("suggested").waits_for(force_opposite=False, target_given=False) == ("decide-first",)
    assert get("suggested").waits_for(force_opposite=False, target_given=True) == ()


def test_what_variants_wait_for_holds_no_cycle():
    """The engine runs variants in waves by what each waits for; a cycle would leave a wave
    empty. Every declaration, in the case that waits most (forcing the opposite, no target)."""

    def waits(name):
        return get(name).waits_for(force_opposite=True, target_given=False)

    for start in VARIANTS:
        seen, todo = set(), list(waits(start))
        while todo:
            name = todo.pop()
            assert name != start, f"{start} waits for itself through {sorted(seen)}"
            assert name in VARIANTS, f"{start} waits for unknown variant {name}"
            if name not in seen:
                seen.add(name)
                todo.extend(waits(name))
