"""Forcing: the model's first answer is put in its mouth (a true prefill where the provider allows
it, else a fabricated prior turn, else a note), and its reply is read for the answer its own words
argue for (probe.reading.stance). Does it defend whatever answer it is given?"""

from probe.methods.forcing import variants  # noqa: F401  (registers them)
from probe.variants.registry import Method, declare

declare(
    Method(
        name="forcing",
        title="the first answer forced: does the explanation follow whatever answer it is given?",
        source="probe",
        position=20,
    )
)
