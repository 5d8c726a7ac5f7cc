"""The README and docs/: links that resolve, a front page of one screen, figures that
render to the same bytes from the same files."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def github_anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    body = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {github_anchor(m) for m in re.findall(r"^#+ (.+)$", body, re.M)}


def relative_links(page: Path):
    body = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    for target in LINK.findall(body):
        if not re.match(r"[a-z]+:", target):
            yield target


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_and_image_resolves(page):
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.is_file(), f"{page.name}: link to {target}: no such file"
        if anchor and file.suffix == ".md":
            assert anchor in anchors(file), f"{page.name}: link to {target}: no such heading"


def test_the_link_checker_sees_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Top\n[ok](#top) ![pic](figures/missing.png) [x](https://a.b/c)\n"
                    "```\n[not a link](nowhere.md)\n```\n")
    assert list(relative_links(page)) == ["#top", "figures/missing.png"]
    assert anchors(page) == {"top"}
    assert github_anchor("Part 2's own result") == "part-2s-own-result"


def test_every_page_is_reachable_from_the_readme():
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in relative_links(ROOT / "README.md")}
    assert set(PAGES[1:]) <= linked


def test_readme_is_one_front_page():
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 200


def test_figures_render_to_the_same_bytes(tmp_path):
    runs = []
    for out in (tmp_path / "a", tmp_path / "b"):
        subprocess.run([sys.executable, "tools/figures.py", "--out", str(out)], cwd=ROOT,
                       check=True, capture_output=True)
        runs.append({p.name: p.read_bytes() for p in out.glob("*.png")})
    assert set(runs[0]) == {"loss_curves.png", "lr_finder.png", "embedding_map.png",
                            "results.png"}
    assert runs[0] == runs[1]
    assert all(png.startswith(b"\x89PNG") for png in runs[0].values())


def test_the_results_chart_reads_the_readme_table():
    sys.path.insert(0, str(ROOT / "tools"))
    import figures
    rows = figures.results_table(ROOT / "README.md")
    assert rows and all(1.0 < row["val"] < 3.5 for row in rows)
    assert {row["model"] for row in rows if "lecture val" in row} == {"mlp", "wavenet"}


def test_the_pipeline_picture_is_dvcs_own_graph():
    """docs/pipeline.md shows `dvc dag --mermaid`: a stage added or removed shows there."""
    page = (ROOT / "docs/pipeline.md").read_text(encoding="utf-8")
    shown = re.search(r"```mermaid\n(.*?)\n```", page, re.S).group(1)
    dag = subprocess.run([sys.executable, "-m", "dvc", "dag", "--mermaid"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    assert shown.strip() == dag.strip()


def test_the_results_chart_reads_the_table_with_or_without_training_times(tmp_path):
    sys.path.insert(0, str(ROOT / "tools"))
    import figures
    rows = {"old": "| model | arch | params | train | val | test | val - best (95% CI) |\n"
                   "|---|---|---|---|---|---|---|\n"
                   "| wavenet | hierarchical | 76,579 | 1.7693 | 1.9939 | 1.9894 | best |\n",
            "new": "| model | arch | params | train | val | test | train time "
                   "| val - best (95% CI) |\n|---|---|---|---|---|---|---|---|\n"
                   "| wavenet | hierarchical | 76,579 | 1.7693 | 1.9939 | 1.9894 | 155 s "
                   "| best |\n"}
    for layout, table in rows.items():
        readme = tmp_path / f"{layout}.md"
        readme.write_text(f"# R\n<!-- results-table -->\n{table}<!-- /results-table -->\n")
        assert figures.results_table(readme) == [
            {"model": "wavenet", "val": 1.9939, "lecture val": 1.993}], layout
