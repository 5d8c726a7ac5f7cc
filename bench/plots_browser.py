"""Open the plots page in headless Chromium, offline, and check every plot drew
(run by hand, not a test: it needs Chromium).

    python bench/plots_browser.py [PAGE] [--screenshot PNG] [--compare-default]

Without PAGE it builds one with `tools/plots_page.py show` into a temporary folder.
Chromium runs with the network blocked (a dead proxy, every host name unresolvable),
so a page that draws here draws offline. It writes a PNG screenshot of the whole page
(look at it), then reads the DOM after the scripts ran and prints, for each plot div,
whether vega-embed put a <canvas> or <svg> in it; the exit status is 1 if any did not.
--compare-default also builds DVC's own page (Vega from cdn.jsdelivr.net) and shows
that it draws nothing offline. Run it in the project (or any DVC project).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROW_HEIGHT = 460  # px per row of plots (two a row at 1400 px): 300 px plot, title, axes, slider


class PlotDivs(HTMLParser):
    """Each top-level <div id=...> in <body> (DVC's plot divs): did it draw?"""

    def __init__(self):
        super().__init__()
        self.plots: dict[str, dict] = {}
        self.depth = 0  # depth of <div>s, inside the current plot div
        self.current = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div":
            if self.current is None and attrs.get("id"):
                self.current = self.plots.setdefault(attrs["id"], {"drawn": False, "text": ""})
                self.depth = 0
            self.depth += 1
        elif self.current is not None and tag in ("canvas", "svg"):
            self.current["drawn"] = True

    def handle_endtag(self, tag):
        if tag == "div" and self.current is not None:
            self.depth -= 1
            if self.depth == 0:
                self.current = None

    def handle_data(self, data):
        if self.current is not None and data.strip():
            self.current["text"] += " " + data.strip()


def chromium_binary(given: str | None) -> str:
    for name in ([given] if given else ["chromium", "chromium-browser", "google-chrome"]):
        if path := shutil.which(name):
            return path
    sys.exit("plots_browser: Chromium not found (apt-get install chromium, or --chromium PATH)")


def chromium(binary: str, page: Path, *extra: str) -> subprocess.CompletedProcess:
    """Run headless Chromium on `page` with the network blocked; a fresh profile each time."""
    with tempfile.TemporaryDirectory(prefix="plots_browser-profile-") as profile:
        cmd = [binary, "--headless", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
               "--disable-extensions", "--disable-background-networking", "--mute-audio",
               f"--user-data-dir={profile}", "--proxy-server=127.0.0.1:9",
               "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=15000",
               "--enable-logging=stderr", "--v=0"]
        if os.geteuid() == 0:
            cmd.append("--no-sandbox")  # Chromium refuses to run as root otherwise
        return subprocess.run([*cmd, *extra, page.resolve().as_uri()], capture_output=True,
                              text=True, timeout=180)


def check(binary: str, page: Path) -> tuple[dict[str, dict], list[str]]:
    """The plot divs of `page` after its scripts ran, and the page's console errors."""
    done = chromium(binary, page, "--dump-dom")
    parser = PlotDivs()
    parser.feed(done.stdout)
    errors = [line.split("] ", 1)[-1] for line in done.stderr.splitlines()
              if "CONSOLE" in line or "Uncaught" in line]
    return parser.plots, errors


def build(args: list[str], cwd: Path) -> Path:
    done = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"plots_browser: {' '.join(args)} failed: {done.stderr.strip()}")
    return Path(done.stdout.strip().splitlines()[-1].removeprefix("file://"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", nargs="?", type=Path, help="an HTML page (default: build one)")
    parser.add_argument("--screenshot", type=Path, help="PNG to write (default: beside the page)")
    parser.add_argument("--compare-default", action="store_true",
                        help="also show that DVC's default page draws nothing offline")
    parser.add_argument("--chromium", help="the browser binary (default: chromium on PATH)")
    args = parser.parse_args()
    binary = chromium_binary(args.chromium)
    workdir = Path(tempfile.mkdtemp(prefix="plots_browser-"))

    start = time.perf_counter()
    page = args.page or build([str(ROOT / "tools/plots_page.py"), "show", "--out",
                               str(workdir / "offline")], Path.cwd())
    if not page.is_file():
        sys.exit(f"plots_browser: no page at {page}")
    built = time.perf_counter()
    n = len(re.findall(r"<div id\s*=", page.read_text(encoding="utf-8")))
    shot = (args.screenshot or page.with_name("screenshot.png")).resolve()
    height = 120 + ROW_HEIGHT * -(-n // 2)
    chromium(binary, page, f"--screenshot={shot}", f"--window-size=1400,{height}")
    shot_done = time.perf_counter()
    plots, errors = check(binary, page)
    checked = time.perf_counter()

    print(f"page: {page} ({page.stat().st_size / 1e3:.0f} KB, {n} plot divs)")
    print(f"screenshot: {shot}" + ("" if shot.is_file() else " (NOT WRITTEN)"))
    for name, plot in plots.items():
        print(f"  {'drew' if plot['drawn'] else 'BLANK'}  {name}"
              + ("" if plot["drawn"] else f"  {plot['text'][:120].strip()}"))
    for line in errors[:5]:
        print(f"  console: {line[:200]}")
    print(f"timings: build {built - start:.1f} s, screenshot {shot_done - built:.1f} s, "
          f"DOM check {checked - shot_done:.1f} s")
    ok = bool(plots) and len(plots) == n and all(p["drawn"] for p in plots.values()) \
        and shot.is_file()

    if args.compare_default:
        default = workdir / "default" / "index.html"
        subprocess.run([sys.executable, "-m", "dvc", "plots", "show", "-o", str(default.parent)],
                       capture_output=True, check=True)
        drawn = sum(p["drawn"] for p in check(binary, default)[0].values())
        print(f"DVC's default page ({default}), offline: {drawn}/{n} plots drew"
              " (it loads Vega from cdn.jsdelivr.net)")

    print("all plots drew" if ok else "SOME PLOTS DID NOT DRAW")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
