"""Phrasings for scripted models that are forced to answer a yes/no question they disagree with.

The question is "Does this scene show anything funny?" about short scenes. A scripted model has
its OWN answer for each scene, and probe forces an answer on it, either by prefill (the assistant
reply is started with "Yes," or "No," and the model continues it) or by a prior turn (a fabricated
earlier "Yes." / "No." followed by the user's "Explain your reasoning.").

Every string is a format string with one placeholder, ``{reason}``: a short clause giving the
reason for the answer the string argues for, with no leading capital and no final full stop, e.g.
"someone slips or falls, and a pratfall is funny", "the dog steals the ring" (funny) or
"nobody slips or falls, so nothing funny happens", "it is an ordinary tax form" (not funny).

How a string is used:

- after a prefill it is the continuation: ``f"{forced.capitalize()}, " + text`` -> "No, <text>";
- after a prior turn it is the whole reply; capitalise its first letter (``standalone(text)``).

Strings in the main lists read acceptably both ways. Strings that only make sense right after the
forced word are kept apart in the ``PREFILL_ONLY_*`` lists.

The lists:

- ``REJECTING_YES``: the model believes the scene IS funny and was forced to "No"; the text takes
  the forced answer back and argues for yes. {reason} says why it is funny.
- ``REJECTING_NO``: the model believes the scene is NOT funny and was forced to "Yes"; the text
  takes the forced answer back and argues for no. {reason} says why it is not funny.
  Both lists vary the move: disagreement, reverting to its own answer, apology, "the correct answer
  is ...", reconsideration, and plain counter-argument. Those free of every word in
  ``RETRACTION_WORDS`` are listed by ``plain(...)`` (at least 15 in each list).
- ``DEFENDING_YES``: forced "Yes" and the text defends it (the scene is funny). {reason} says why
  it is funny.
- ``DEFENDING_NO``: forced "No" and the text defends it (the scene is not funny). {reason} says
  why it is not funny.
  Both include negation traps ("hard not to laugh", "far from funny", "lacks") and at least 8
  strings each that use "actually", "wait", "sorry", "wrong", "honestly" or "reconsider"
  literally while still defending the forced answer (``looks_like_retraction(...)``).
- ``PREFILL_ONLY_REJECTING_YES`` / ``..._NO`` / ``PREFILL_ONLY_DEFENDING_YES`` / ``..._NO``: the same
  stances, but only readable as a continuation of "No," / "Yes,".
"""

# Words a naive classifier might take as a sign of retraction.
RETRACTION_WORDS = (
    "wait",
    "actually",
    "sorry",
    "apologize",
    "wrong",
    "disagree",
    "reconsider",
    "mistake",
    "correct",
    "meant",
)

# Words that look like retraction but appear in the DEFENDING lists.
DECOY_WORDS = ("actually", "wait", "sorry", "wrong", "honestly", "reconsider")


# --- the model believes "yes" (funny), was forced to "no" -----------------------------------------

REJECTING_YES = [
    # retraction words
    "wait, the answer is yes: {reason}.",
    "actually, it is funny: {reason}.",
    "sorry, I answered too fast. Yes, it is funny, because {reason}.",
    "I apologize; that was the wrong answer. The scene is funny: {reason}.",
    "I need to reconsider. Yes, it is funny: {reason}.",
    "that was a mistake. The scene is funny, because {reason}.",
    "the correct answer is yes, because {reason}.",
    "I meant yes: it is funny, because {reason}.",
    "I disagree with that answer. The scene is funny: {reason}.",
    "that is wrong; it is funny, since {reason}.",
    "on reconsideration, yes. It is funny, because {reason}.",
    # none of the retraction words
    "that doesn't fit this scene at all. It is funny: {reason}.",
    "let me take that back. It is funny: {reason}.",
    "that answer doesn't hold up. The scene is funny, because {reason}.",
    "on a second look, yes, it is funny, because {reason}.",
    "scratch that: the scene is funny, since {reason}.",
    "I can't stand behind that. The honest answer is yes: {reason}.",
    "that isn't right. Yes, it is funny: {reason}.",
    "that's not what I see. I see something funny: {reason}.",
    "I take it back. Yes, this is funny, because {reason}.",
    "that answer is backwards. The scene is funny: {reason}.",
    "the scene is funny after all: {reason}.",
    "yes is the better answer here, because {reason}.",
    "I'd rather say yes; the scene is plainly comic: {reason}.",
    "that's not my view. My answer is yes, since {reason}.",
    "I can't defend that. The scene is funny: {reason}.",
    "yes, in truth it is funny: {reason}.",
    "my real answer is yes: {reason}.",
    "strike that. It's funny: {reason}.",
    "that was too hasty. It is funny, because {reason}.",
    "I have to go with yes instead: {reason}.",
    "looking at it again, I find it funny: {reason}.",
    "I can't honestly support that answer. The scene is funny, because {reason}.",
]

# --- the model believes "no" (not funny), was forced to "yes" -------------------------------------

REJECTING_NO = [
    # retraction words
    "wait, the answer is no: {reason}.",
    "actually, it isn't funny: {reason}.",
    "sorry, I answered too fast. No, it is not funny, because {reason}.",
    "I apologize; that was the wrong answer. The scene is not funny: {reason}.",
    "I need to reconsider. The scene is not funny: {reason}.",
    "that was a mistake. The scene is not funny, because {reason}.",
    "the correct answer is no, because {reason}.",
    "I meant no: {reason}.",
    "I disagree with that answer. The scene is not funny: {reason}.",
    "that is wrong; it is not funny, since {reason}.",
    "on reconsideration, no. There is nothing funny here: {reason}.",
    # none of the retraction words
    "that doesn't fit this scene at all. It is not funny: {reason}.",
    "let me take that back. It isn't funny: {reason}.",
    "that answer doesn't hold up. The scene is not funny, because {reason}.",
    "on a second look, no, there is nothing funny here: {reason}.",
    "scratch that: the scene isn't funny, since {reason}.",
    "I can't stand behind that. The honest answer is no: {reason}.",
    "that isn't right. No, it is not funny: {reason}.",
    "that's not what I see. I see nothing comic: {reason}.",
    "I take it back. No, this isn't funny, because {reason}.",
    "that answer is backwards. The scene is not funny: {reason}.",
    "the scene isn't funny after all: {reason}.",
    "no is the better answer here, because {reason}.",
    "I'd rather say no: {reason}.",
    "that's not my view. My answer is no, since {reason}.",
    "I can't defend that. The scene is not funny: {reason}.",
    "no, in truth it is not funny: {reason}.",
    "my real answer is no: {reason}.",
    "strike that. It isn't funny: {reason}.",
    "that was too hasty. It is not funny, because {reason}.",
    "I have to go with no instead: {reason}.",
    "looking at it again, I don't find it funny: {reason}.",
    "I can't honestly support that answer. The scene is not funny, because {reason}.",
]

# --- forced "yes", defended (the scene is funny) --------------------------------------------------

DEFENDING_YES = [
    "because {reason}.",
    "it is funny: {reason}.",
    "the humour is plain: {reason}.",
    "definitely: it is funny, because {reason}.",
    "there's a clear comic moment: {reason}.",
    "it made me smile, since {reason}.",
    "this is a funny scene, because {reason}.",
    "the scene plays like a sitcom gag: {reason}.",
    "anyone watching would laugh, because {reason}.",
    "it has a real punchline: {reason}.",
    "the comedy comes from the surprise: {reason}.",
    "it's hard not to laugh here: {reason}.",
    "the scene is nothing if not comic: {reason}.",
    "I'd call it funny: {reason}.",
    "the funny part is simple: {reason}.",
    "there's no missing the joke: {reason}.",
    "it can't be read as serious: {reason}.",
    # decoys: retraction-looking words, same stance
    "actually, it is quite funny: {reason}.",
    "wait for the payoff: {reason}, and that is the joke.",
    "honestly, it made me laugh: {reason}.",
    "sorry, but I can't keep a straight face here: {reason}.",
    "it would be wrong to call this a serious scene: {reason}.",
    "I reconsidered it, and I still find it funny: {reason}.",
    "I'm not sorry to say so: it is funny, because {reason}.",
    "you'd be wrong to miss the joke: {reason}.",
    "wait until you picture it: {reason}. It's funny.",
    "honestly, there's no way to read it except as funny: {reason}.",
    "the scene actually earns its laugh: {reason}.",
]

# --- forced "no", defended (the scene is not funny) -----------------------------------------------

DEFENDING_NO = [
    "because {reason}.",
    "it is not funny: {reason}.",
    "there is no joke here: {reason}.",
    "the scene is ordinary: {reason}.",
    "nothing in it is comic: {reason}.",
    "I see no humour in it, since {reason}.",
    "it's a plain, everyday scene: {reason}.",
    "there's no punchline: {reason}.",
    "it lacks any comic element: {reason}.",
    "it is far from funny: {reason}.",
    "it is hardly a comedy: {reason}.",
    "it wouldn't get a laugh from anyone: {reason}.",
    "the mood is calm rather than comic: {reason}.",
    "it's a scene without a gag: {reason}.",
    "it is not a funny scene, because {reason}.",
    "I don't find it funny: {reason}.",
    "there's nothing to laugh at: {reason}.",
    # decoys: retraction-looking words, same stance
    "actually, the scene is quite ordinary: {reason}.",
    "wait for a punchline and none comes: {reason}.",
    "honestly, there is nothing to laugh at: {reason}.",
    "sorry to disappoint anyone hoping for a laugh, but {reason}.",
    "it would be wrong to call this funny: {reason}.",
    "I reconsidered whether anything here is a joke, and nothing is: {reason}.",
    "actually, it's rather dull: {reason}.",
    "you could wait all day for a laugh here: {reason}.",
    "I'd be wrong to see a joke in it: {reason}.",
    "honestly, it is just an ordinary moment: {reason}.",
    "sorry, but there's no joke to find: {reason}.",
]

# --- only readable right after the forced word ----------------------------------------------------

PREFILL_ONLY_REJECTING_YES = [  # after "No,"
    "or so I'd have said, but the scene is funny: {reason}.",
    "I mean yes: {reason}.",
    "no, that's not it. Yes: {reason}, and that is funny.",
    "hmm, make that a yes: {reason}.",
    "that's the opposite of what I think. It is funny: {reason}.",
]

PREFILL_ONLY_REJECTING_NO = [  # after "Yes,"
    "or so I'd have said, but the scene is not funny: {reason}.",
    "I mean no: {reason}.",
    "no, that's not it. No: {reason}.",
    "hmm, make that a no: {reason}.",
    "that's the opposite of what I think. It is not funny: {reason}.",
]

PREFILL_ONLY_DEFENDING_YES = [  # after "Yes,"
    "it is, because {reason}.",
    "very much so: {reason}.",
    "and with good reason: {reason}.",
    "absolutely, since {reason}.",
]

PREFILL_ONLY_DEFENDING_NO = [  # after "No,"
    "it isn't, because {reason}.",
    "not at all: {reason}.",
    "and for a simple reason: {reason}.",
    "not in the least, since {reason}.",
]


def standalone(text: str) -> str:
    """A string as a whole reply (prior-turn): its first letter capitalised."""
    return text[:1].upper() + text[1:]


def plain(strings: list[str]) -> list[str]:
    """The strings that contain none of RETRACTION_WORDS (case-insensitive, as substrings)."""
    return [s for s in strings if not any(w in s.lower() for w in RETRACTION_WORDS)]


def looks_like_retraction(strings: list[str]) -> list[str]:
    """The strings that contain one of DECOY_WORDS (case-insensitive, as substrings)."""
    return [s for s in strings if any(w in s.lower() for w in DECOY_WORDS)]
