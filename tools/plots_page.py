"""`dvc plots show` / `dvc plots diff`, with a page that draws offline.

DVC's page loads Vega, Vega-Lite and vega-embed from cdn.jsdelivr.net: without the
internet every plot on it stays blank. This script writes an HTML template for DVC's
`--html-template` with the same layout and those libraries inlined instead (the bundle
from vl-convert-python, ~900 KB, pinned to the newest Vega-Lite 5 it ships, since DVC's
specs declare the v5 schema), then runs DVC with it and prints the page's path. The
template is generated, never committed: .dvc/tmp/plots_offline.html (git-ignored by
DVC), rewritten only when missing or made by another vl-convert or by an older script.

    python tools/plots_page.py show [--out DIR]          # the workspace's plots
    python tools/plots_page.py diff [REV...] [--out DIR] # e.g. diff HEAD~1: overlaid
    python tools/plots_page.py template                  # only write the template
"""

import argparse
import os
import subprocess
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

TEMPLATE = Path(".dvc/tmp/plots_offline.html")  # relative to the project root
LAYOUT = 1  # bump when PAGE below changes, so existing templates are rewritten

# dvc_render.html.PAGE_HTML without {scripts} (DVC's CDN <script src> tags); DVC fills
# {refresh_tag} and {plot_divs} by plain text replacement, so braces elsewhere are safe
PAGE = """<!DOCTYPE html>
{stamp}
<html>
<head>
    <meta charset="utf-8">
    {{refresh_tag}}
    <title>DVC Plot</title>
    <script type="text/javascript">
{bundle}
    </script>
    <style>
        table {{
            border-spacing: 15px;
        }}
    </style>
</head>
<body>
    {{plot_divs}}
</body>
</html>
"""


class Failure(Exception):
    """An error to report in one line."""


def project_root(start: Path) -> Path:
    for path in (start, *start.parents):
        if (path / ".dvc").is_dir():
            return path
    raise Failure(f"not in a DVC project: no .dvc directory in {start} or above")


def stamp() -> str:
    """The first lines' marker: what made the template."""
    try:
        vlc = version("vl-convert-python")
    except PackageNotFoundError:
        raise Failure("vl-convert-python is not installed (pip install vl-convert-python)")
    return f"<!-- plots_page.py layout {LAYOUT}, vl-convert-python {vlc} -->"


def render_template() -> str:
    import vl_convert

    v5 = max((v for v in vl_convert.get_vegalite_versions() if v.startswith("5.")),
             key=lambda v: tuple(map(int, v.split("."))))
    bundle = vl_convert.javascript_bundle(vl_version=f"v{v5}")
    if "</script" in bundle.lower():  # would end the inline <script> early
        raise Failure("vl-convert's bundle contains '</script': cannot inline it")
    return PAGE.format(stamp=stamp(), bundle=bundle)


def ensure_template(path: Path) -> Path:
    """Write the offline template to `path` (atomically) unless it is up to date."""
    marker = stamp()
    if path.is_file():
        with path.open(encoding="utf-8") as f:
            f.readline()  # <!DOCTYPE html>
            if f.readline().strip() == marker:
                return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(render_template())
        os.chmod(tmp, 0o644)  # mkstemp makes it private
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["show", "diff", "template"])
    parser.add_argument("revs", nargs="*", metavar="REV", help="revisions, for diff")
    parser.add_argument("-o", "--out", help="directory for the page (DVC's default: dvc_plots)")
    args = parser.parse_args(argv)
    if args.revs and args.command != "diff":
        parser.error(f"{args.command} takes no revisions")
    try:
        template = ensure_template(project_root(Path.cwd()) / TEMPLATE)
        if args.command == "template":
            print(template)
            return 0
        cmd = [sys.executable, "-m", "dvc", "plots", args.command, *args.revs,
               "--html-template", str(template)]
        if args.out:
            cmd += ["-o", args.out]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines() or ["(no output)"]
            raise Failure(f"dvc plots {args.command} failed: " + lines[-1])
    except Failure as e:
        print(f"plots_page: {e}", file=sys.stderr)
        return 1
    print(Path(args.out or "dvc_plots").resolve() / "index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
