"""The pictures of README.md and docs/, rendered as PNG from the pipeline's own files.

    python tools/figures.py             # rewrite every figure in docs/figures/
    python tools/figures.py --out DIR   # write them elsewhere (the tests compare two runs)

Each figure is a Vega-Lite spec filled with the rows of tracked files (the loss curves,
the lr-finder curves and the embedding map under metrics/, and the results table of
README.md, between its `results-table` markers), rendered by vl-convert, which gives the
same bytes for the same data. Rerun it after `dvc repro` or after editing the table.
"""

import argparse
import csv
import re
from pathlib import Path

import vl_convert

MODELS = ("mlp", "wavenet")
VEGA_LITE = "5.21"  # the Vega-Lite version vl-convert renders with (its newest 5.x)
SCALE = 2  # pixels per unit: sharp on high-density screens
README = Path("README.md")


def read_csv(path, **extra) -> list[dict]:
    """Rows of a metrics CSV with numeric fields as floats, plus ``extra`` columns."""
    with open(path, newline="", encoding="utf-8") as f:
        return [{k: _number(v) for k, v in row.items()} | extra for row in csv.DictReader(f)]


def _number(text):
    try:
        return float(text)
    except ValueError:
        return text


def line_chart(rows, x, y, x_title, y_title, title) -> dict:
    return {
        "title": title, "width": 560, "height": 260,
        "data": {"values": rows},
        "mark": {"type": "line", "strokeWidth": 1.5},
        "encoding": {
            "x": {"field": x, "type": "quantitative", "title": x_title},
            "y": {"field": y, "type": "quantitative", "title": y_title,
                  "scale": {"zero": False}},
            "color": {"field": "model", "type": "nominal", "title": None},
        },
    }


def loss_curves() -> dict:
    rows = [r for m in MODELS for r in read_csv(f"metrics/loss/{m}.csv", model=m)]
    return line_chart(rows, "step", "log10_loss", "step", "log10(training loss)",
                      "Training loss of the default models (mean per 1,000 steps)")


def lr_finder() -> dict:
    rows = [r for m in MODELS for r in read_csv(f"metrics/lr_find/{m}.csv", model=m)]
    return line_chart(rows, "exponent", "smoothed", "log10(learning rate)",
                      "training loss (smoothed)",
                      "Learning-rate finder: 1,000 steps, lr rising from 0.001 to 1")


def embedding_map() -> dict:
    def panel(model):
        return {
            "title": model, "width": 300, "height": 300,
            "data": {"values": read_csv(f"metrics/embedding/{model}.csv")},
            "encoding": {"x": {"field": "x", "type": "quantitative", "title": "axis 1"},
                         "y": {"field": "y", "type": "quantitative", "title": "axis 2"}},
            "layer": [
                {"mark": {"type": "circle", "size": 260, "opacity": 0.25}},
                {"mark": {"type": "text", "fontSize": 14, "fontWeight": "bold"},
                 "encoding": {"text": {"field": "char"}}},
            ],
        }
    return {"title": "Character embeddings on their two principal axes",
            "hconcat": [panel(m) for m in MODELS]}


# the lectures' val losses of the default models (Part 5's performance log, rows 1 and 5)
LECTURE_VAL = {"mlp": 2.105, "wavenet": 1.993}


def results_table(readme=README) -> list[dict]:
    """The rows of README.md's results table (`makemore compare --format md`): model,
    val and, for the lecture's models, the lecture's val."""
    text = Path(readme).read_text(encoding="utf-8")
    found = re.search(r"<!-- results-table -->\n(.*?)<!-- /results-table -->", text, re.S)
    if not found:
        raise SystemExit(f"{readme}: no <!-- results-table --> ... <!-- /results-table -->")
    lines = [line for line in found.group(1).splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = []
    for line in lines[2:]:
        cells = dict(zip(header, (c.strip() for c in line.strip("|").split("|"))))
        row = {"model": cells["model"], "val": float(cells["val"])}
        if cells["model"] in LECTURE_VAL:
            row["lecture val"] = LECTURE_VAL[cells["model"]]
        rows.append(row)
    return rows


def results_chart() -> dict:
    rows = results_table()
    y = {"field": "model", "type": "nominal", "sort": None, "title": None,
         "axis": {"labelLimit": 400}}
    x = {"field": "val", "type": "quantitative", "title": "val loss (nats)",
         "scale": {"domain": [1.85, 2.5], "nice": False}}
    return {
        "title": "Validation loss: this project's runs (bars) and the lecture's (ticks)",
        "width": 420, "height": {"step": 28},
        "data": {"values": rows},
        "layer": [
            {"mark": {"type": "bar", "clip": True},
             "encoding": {"y": y, "x": x, "x2": {"datum": 1.85}}},
            {"mark": {"type": "text", "align": "left", "dx": 6},
             "encoding": {"y": y, "x": x, "text": {"field": "val", "format": ".4f"}}},
            {"mark": {"type": "tick", "color": "black", "thickness": 3},
             "encoding": {"y": y, "x": {"field": "lecture val", "type": "quantitative"}}},
        ],
    }


FIGURES = {
    "loss_curves.png": loss_curves,
    "lr_finder.png": lr_finder,
    "embedding_map.png": embedding_map,
    "results.png": results_chart,
}


def render(spec: dict) -> bytes:
    spec = {"$schema": "https://vega.github.io/schema/vega-lite/v5.json",
            "background": "white"} | spec
    return vl_convert.vegalite_to_png(spec, vl_version=VEGA_LITE, scale=SCALE)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/figures", type=Path,
                        help="folder for the PNG files (default: docs/figures)")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    for name, spec in FIGURES.items():
        path = out / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_bytes(render(spec()))
        tmp.replace(path)
        print(path)


if __name__ == "__main__":
    main()
