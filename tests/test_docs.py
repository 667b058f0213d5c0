"""The README's and docs/'s links lead somewhere: every relative link or picture names a file
of the repository, and every `#anchor` a heading of the page it points into (GitHub's slugs)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)|<img src=\"([^\"]+)\"")  # [text](target), ![alt](target), <img>


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def prose(page: Path) -> str:
    """A page without its code blocks (where `#` starts a comment and `](` is code)."""
    return re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)


def anchors(page: Path) -> set[str]:
    """The anchors of a page's headings."""
    return {slug(line.lstrip("#")) for line in prose(page).splitlines() if re.match(r"#+ ", line)}


def links(page: Path) -> list[str]:
    """Every link target of a page that is neither a web address nor mail."""
    return [target for pair in LINK.findall(prose(page)) for target in pair
            if target and not re.match(r"[a-z]+:", target)]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_link_leads_to_a_file_and_a_heading(page: Path) -> None:
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        into = (page.parent / path).resolve() if path else page
        if not into.exists():
            broken.append(f"{target}: no such file")
        elif anchor and into.suffix == ".md" and anchor not in anchors(into):
            broken.append(f"{target}: no such heading")
    assert not broken, f"{page.name}: {broken}"


def test_a_heading_slug_is_github_s() -> None:
    assert slug(" The study at the seed's budget") == "the-study-at-the-seeds-budget"
    assert slug("Resuming, interrupts and errors") == "resuming-interrupts-and-errors"
    assert slug('What "the seed, exactly" means') == "what-the-seed-exactly-means"


def test_every_option_of_a_config_group_is_in_the_training_page_s_table() -> None:
    # setup=r3gan_adam, setup=pacgan2_slot_norm and experiment=study_stacked_mnist_r3gan_adam
    # were missing from docs/training.md's table of groups and options.
    rows = {match.group(1): match.group(2) for match in re.finditer(
        r"^\| `([\w/]+)` \| (.*?) \|", (ROOT / "docs" / "training.md").read_text(), re.MULTILINE)}
    missing = [f"{group.name}={option.stem}"
               for group in sorted((ROOT / "conf").iterdir()) if group.is_dir()
               and group.name not in ("hydra", "classifier")  # classifier: gan.train_classifier's
               for option in sorted(group.glob("*.yaml"))
               if f"`{option.stem}`" not in rows.get(group.name, "")]
    assert not missing, f"docs/training.md's table does not name {missing}"
