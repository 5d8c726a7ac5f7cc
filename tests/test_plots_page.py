"""The offline plots page (tools/plots_page.py) and the embedding-map template
(.dvc/plots/labelled_scatter.json). No browser: bench/plots_browser.py is that check."""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from dvc_project import GIT_IDENTITY, ROOT, run

SCATTER = ROOT / ".dvc/plots/labelled_scatter.json"
CHARS = ".abcdefghijklmnopqrstuvwxyz"
PLOTS = """plots:
  - loss curves:
      template: linear
      x: step
      y: {metrics/loss/mlp.csv: log10_loss, metrics/loss/wavenet.csv: log10_loss}
  - embedding map (mlp):
      template: labelled_scatter
      x: x
      y: {metrics/embedding/mlp.csv: y}
  - learning-rate finder:
      template: linear
      x: exponent
      y: {metrics/lr_find/mlp.csv: loss, metrics/lr_find/wavenet.csv: loss}
"""


def load_tool():
    spec = importlib.util.spec_from_file_location("plots_page", ROOT / "tools/plots_page.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The offline HTML template, generated once for the module."""
    pytest.importorskip("vl_convert")
    return load_tool().ensure_template(tmp_path_factory.mktemp("template") / "offline.html")


def external_scripts(html: str) -> list[str]:
    return re.findall(r"<script[^>]*\bsrc\s*=[^>]*>", html, re.I)


def specs(page: str) -> list[dict]:
    """The Vega-Lite specs of a page DVC wrote (`var spec = {...};` in each plot div)."""
    return [json.loads(s) for s in re.findall(r"var spec = (\{.*?\});\s*vegaEmbed", page, re.S)]


def test_template_inlines_vega_and_loads_nothing(template):
    html = template.read_text(encoding="utf-8")
    assert "{plot_divs}" in html and "{scripts}" not in html  # {scripts}: DVC's CDN tags
    assert external_scripts(html) == []
    assert "window.vegaEmbed=" in html
    assert re.search(r'"5\.\d+\.\d+"', html)  # Vega-Lite 5: DVC's specs declare the v5 schema
    assert html.startswith("<!DOCTYPE html>")


def test_template_is_rewritten_only_when_stale(template, tmp_path):
    tool = load_tool()
    copy = tmp_path / "offline.html"
    shutil.copy2(template, copy)
    before = copy.stat().st_mtime_ns
    assert tool.ensure_template(copy) == copy and copy.stat().st_mtime_ns == before  # up to date
    stale = template.read_text(encoding="utf-8").replace("vl-convert-python", "vl-convert-python 0")
    copy.write_text(stale, encoding="utf-8")
    tool.ensure_template(copy)  # made by another vl-convert: rewritten
    assert copy.read_text(encoding="utf-8") == template.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["offline.html"]  # no temporary file left


def test_scatter_template_has_dvc_anchors_and_char_labels():
    from dvc_render.vega_templates import Template

    content = json.loads(SCATTER.read_text())
    template = Template(content, name="labelled_scatter")
    for anchor in ("data", "x", "y", "title", "x_label", "y_label", "color"):
        assert template.has_anchor(anchor), anchor
    texts = [layer for layer in content["layer"] if layer["mark"]["type"] == "text"]
    assert [layer["encoding"]["text"]["field"] for layer in texts] == ["char"]


def test_scatter_template_draws_a_label_per_point_coloured_by_rev():
    """DVC fills the template for a two-revision diff; Vega-Lite draws it: 2 x 27 labels."""
    vl_convert = pytest.importorskip("vl_convert")
    from dvc_render.vega import VegaRenderer

    rows = [{"char": c, "x": str(i % 5), "y": str(i // 5), "rev": rev}
            for rev in ("HEAD", "workspace") for i, c in enumerate(CHARS)]
    renderer = VegaRenderer(rows, "embedding map", template="labelled_scatter",
                            template_dir=str(SCATTER.parent), x="x", y="y")
    spec = json.loads(renderer.partial_html())
    assert "<DVC_METRIC_" not in json.dumps(spec)
    (color,) = [lay["encoding"]["color"] for lay in spec["layer"] if "color" in lay["encoding"]]
    assert color["field"] == "rev" and color["scale"]["domain"] == ["HEAD", "workspace"]
    svg = vl_convert.vegalite_to_svg(spec, vl_version="v5.21")
    marks = re.search(r'<g class="mark-text role-mark[^>]*>(.*?)</g>', svg, re.S).group(1)
    labels = re.findall(r'aria-roledescription="text mark"[^>]*>([^<]*)</text>', marks)
    assert sorted(labels) == sorted(CHARS * 2)
    assert len(re.findall(r'aria-roledescription="circle"', svg)) == 2 * len(CHARS)


def write_csvs(project, shift: float) -> None:
    for d in ("loss", "lr_find", "embedding"):
        (project / "metrics" / d).mkdir(parents=True, exist_ok=True)
    for model in ("mlp", "wavenet"):
        (project / f"metrics/loss/{model}.csv").write_text(
            "step,log10_loss\n" + "".join(f"{s},{0.5 - s / 1e4 + shift}\n" for s in range(1, 20)))
        (project / f"metrics/lr_find/{model}.csv").write_text(
            "exponent,loss,smoothed\n" + "".join(f"{e},{3 + e},{3 + e}\n" for e in range(-3, 1)))
        (project / f"metrics/embedding/{model}.csv").write_text(
            "char,x,y\n" + "".join(f"{c},{i % 5 + shift},{i // 5}\n" for i, c in enumerate(CHARS)))


def test_show_and_diff_pages_draw_the_labelled_map_offline(template, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    env = {**os.environ, **GIT_IDENTITY, "DVC_NO_ANALYTICS": "1"}
    run(["git", "init", "-q", "-b", "main"], project, env)
    run([sys.executable, "-m", "dvc", "init", "-q"], project, env)
    (project / ".dvc/plots").mkdir()
    shutil.copy2(SCATTER, project / ".dvc/plots")
    (project / ".dvc/tmp").mkdir(exist_ok=True)
    shutil.copy2(template, project / ".dvc/tmp/plots_offline.html")  # up to date: reused
    (project / "dvc.yaml").write_text(PLOTS)
    write_csvs(project, 0.0)
    run(["git", "add", "-A"], project, env)
    run(["git", "commit", "-qm", "plots"], project, env)
    write_csvs(project, 0.5)

    tool = [sys.executable, str(ROOT / "tools/plots_page.py")]
    for args, revs in ((["show"], ["workspace"]), (["diff", "HEAD"], ["HEAD", "workspace"])):
        out = run([*tool, *args, "--out", "page"], project, env).strip()
        assert out == str(project / "page/index.html")
        page = (project / "page/index.html").read_text(encoding="utf-8")
        assert external_scripts(page) == [] and "window.vegaEmbed=" in page
        found = specs(page)
        assert len(found) == 3
        (scatter,) = [s for s in found if s["title"]["text"] == "embedding map (mlp)"]
        assert {layer["mark"]["type"]: layer["encoding"] for layer in scatter["layer"]}["text"] \
            == {"text": {"field": "char", "type": "nominal"}}
        assert sorted(row["char"] for row in scatter["data"]["values"]) == sorted(CHARS * len(revs))
        assert sorted({row["rev"] for row in scatter["data"]["values"]}) == revs


def test_outside_a_dvc_project_is_a_one_line_error(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "tools/plots_page.py"), "show"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"plots_page: not in a DVC project: no .dvc directory in {tmp_path} or above")
