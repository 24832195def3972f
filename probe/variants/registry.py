"""The registry of research methods and their variants. Methods are plug-ins: each one a folder
under probe/methods/, found here by its place.

A method's folder declares, in its `__init__.py`, one `Method` (its title, the paper it comes from,
its measures and its report sections) and registers its variants with `probe.variants.variant.
register`; each variant declares its own readers (`mentions`, `describe_bias`, `reads`). The engine,
`probe tasks`, `probe report` and the HTML page iterate over what is registered here and name no
method, so adding a method is adding a folder: nothing else changes.

The folders are found by listing the `probe.methods` package's path and imported by name
(`importlib`), which is also what keeps the layers apart: the core never imports a method; a
method imports the core.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from rich.console import Console


class Declared(Protocol):
    """What the registry needs of a variant (probe.variants.variant.Variant)."""

    @property
    def name(self) -> str: ...
    @property
    def method(self) -> str: ...


V = TypeVar("V", bound=Declared)

PACKAGE = "probe.methods"

# (items of one configuration, a variant's name) -> fields of that variant's report entry.
Measures = Callable[[list[Any], str], dict[str, Any]]
# A variant's report entry -> rows of the terminal's per-variant table: (label, cells, note).
Rows = Callable[[dict[str, Any]], list[tuple[str, list[str], str]]]
# (console, the report's by_variant, detailed) -> prints the method's own section.
Section = Callable[["Console", dict[str, Any], bool], None]


@dataclass(frozen=True)
class Method:
    name: str  # its folder's name
    title: str  # what it tests, in a reader's words
    source: str  # the paper it comes from ("Lanham et al. 2023"), or "probe"
    position: int = 100  # where its variants and sections stand among the others
    # Measure name -> what it means: merged into the report's `definitions`.
    definitions: Mapping[str, str] = field(default_factory=dict)
    # Field name -> what it means: the fields its variants' readers add to a variant's entry
    # beyond the record's own (probe.records.schema.VariantResult).
    fields: Mapping[str, str] = field(default_factory=dict)
    measures: Measures | None = None
    report_rows: Rows | None = None
    report_section: Section | None = None
    variants: tuple[str, ...] = ()  # filled in as its folder registers them


METHODS: dict[str, Method] = {}


class Registry(Mapping[str, V], Generic[V]):
    """Every variant by name, in the methods' order. The method folders register theirs when the
    registry is first read (not when this module is imported), so that a module of any layer can
    import it while the methods, which import those layers, are not yet loaded."""

    def __init__(self) -> None:
        self._all: dict[str, V] = {}
        self._state = "empty"  # "loading", then "loaded"

    def add(self, variant: V) -> None:
        self._all[variant.name] = variant

    def reorder(self, names: list[str]) -> None:
        self._all = {name: self._all[name] for name in names}

    def _loaded(self) -> dict[str, V]:
        if self._state == "empty":
            self._state = "loading"
            try:
                load_all()
            finally:
                self._state = "loaded"
            methods()  # orders the registry
        return self._all

    def __getitem__(self, name: str) -> V:
        return self._loaded()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())


VARIANTS: Registry[Any] = Registry()  # typed in probe.variants.variant


def declare(method: Method) -> Method:
    """Called once by a method's `__init__.py`."""
    METHODS[method.name] = method
    return method


def of_module(module: str) -> str:
    """The method a module belongs to: "lanham" for probe.methods.lanham.reasoning ("" for none)."""
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and ".".join(parts[:2]) == PACKAGE else ""


def folders() -> list[str]:
    """The method folders under probe/methods/, by name."""
    package = importlib.import_module(PACKAGE)
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.ispkg)


def load_all() -> None:
    """Import every method folder (a folder already being imported finishes on its own)."""
    for name in folders():
        module = f"{PACKAGE}.{name}"
        if module not in sys.modules:
            importlib.import_module(module)
            if name not in METHODS:
                raise RuntimeError(f"probe/methods/{name} declares no Method ({__name__}.declare)")


def methods() -> list[Method]:
    """Every method in position order, each with the variants it registered; the variant
    registry in the same order."""
    len(VARIANTS)  # loads the method folders on first use

    ordered = sorted(METHODS.values(), key=lambda m: m.position)
    rank = {m.name: i for i, m in enumerate(ordered)}
    ranked = sorted(VARIANTS.values(), key=lambda v: rank.get(v.method, len(rank)))
    VARIANTS.reorder([v.name for v in ranked])
    METHODS.clear()
    for m in ordered:
        mine = tuple(v.name for v in ranked if v.method == m.name)
        METHODS[m.name] = m if m.variants == mine else replace(m, variants=mine)
    return list(METHODS.values())


def fields() -> dict[str, str]:
    """The variant-entry fields the methods declare."""
    return {k: v for m in methods() for k, v in m.fields.items()}


def definitions() -> dict[str, str]:
    return {k: v for m in methods() for k, v in m.definitions.items()}
