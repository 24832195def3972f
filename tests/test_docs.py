"""The documentation holds together: every relative link in README.md and docs/*.md reaches a file
and, where it names one, a heading; docs/cli.md is what the commands' own --help prints; the
README stays a page a newcomer reads (≤ 300 lines) and links every page of docs/."""

import importlib.util
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^()\s]+)(?:\s+\"[^\"]*\")?\)")


def _without_fences(text: str) -> str:
    """The text outside fenced code blocks."""
    return re.sub(r"^ *```.*?^ *```[^\n]*$", "", text, flags=re.M | re.S)


def _without_code(text: str) -> str:
    """The text outside fenced code blocks and inline code spans (where a `](` is not a link)."""
    return re.sub(r"`[^`\n]*`", "", _without_fences(text))


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors for the page's headings: lower case, punctuation dropped, spaces as
    hyphens, a repeated heading numbered -1, -2, …"""
    seen: dict[str, int] = {}
    anchors = set()
    for line in _without_fences(page.read_text(encoding="utf-8")).splitlines():
        match = re.match(r"#{1,6} (.+?)\s*#*\s*$", line)
        if not match:
            continue
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", match.group(1))  # a link: its text
        slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _relative_links(page: Path) -> list[str]:
    links = LINK.findall(_without_code(page.read_text(encoding="utf-8")))
    return [
        link for link in links if not re.match(r"[a-z][a-z0-9+.-]*:", link)
    ]  # no http:, mailto:


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_reaches_a_file_and_its_heading(page):
    broken = []
    for link in _relative_links(page):
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        if not path.exists():
            broken.append(f"{link}: no file {path.relative_to(ROOT)}")
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(f"{link}: no heading #{anchor} in {path.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: broken links:\n" + "\n".join(broken)


def test_the_link_checker_sees_a_broken_link_and_anchor(tmp_path):
    (tmp_path / "a.md").write_text(
        "# Title\n\n## Your own question: `probe ask`\n\n## Notes\n\n## Notes\n\n"
        "[ok](#your-own-question-probe-ask) [ok](#notes-1) [`code`](b.md) [bad](#nope) "
        "[web](https://example.org) `[not](a link)`\n\n```\n[fenced](nowhere.md)\n```\n"
    )
    page = tmp_path / "a.md"
    assert _anchors(page) == {"title", "your-own-question-probe-ask", "notes", "notes-1"}
    assert _relative_links(page) == ["#your-own-question-probe-ask", "#notes-1", "b.md", "#nope"]


def test_the_readme_is_a_short_page_that_links_every_page_of_the_docs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 300
    linked = {
        (ROOT / link.partition("#")[0]).resolve() for link in _relative_links(ROOT / "README.md")
    }
    unlinked = [p.name for p in sorted((ROOT / "docs").glob("*.md")) if p.resolve() not in linked]
    assert not unlinked, f"README.md links no page {unlinked}"


def test_the_cli_reference_is_the_commands_own_help():
    spec = importlib.util.spec_from_file_location(
        "make_cli_reference", ROOT / "docs" / "make_cli_reference.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.render()
    current = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == expected, f"docs/cli.md is out of date: run `{module.COMMAND}`"
