"""How soon a fresh ``streamlit run app.py`` is usable: python -m bench.startup [--repeats 3]

Per fresh start (a new server process each time; Chromium is launched beforehand and not counted),
seconds from starting the process to:

- health: /_stcore/health answers "ok";
- page interactive: the first page (Caption) has finished its script run and its file input is there;
- opening result: the first page's opening result (its per-word overlays) is drawn, when it shows one;
- first caption: a photo handed to the file input right after the page was interactive has its
  per-word overlays drawn (also given from the upload alone).

Prints a Markdown table: median (min–max) over --repeats starts, with the load average; ``--write``
also puts it into bench/RESULTS.md (section "Startup").
"""
import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.browser import THUMBS_JS, App, launch_chromium, serving
from bench.load import new_context, warm_photo

OPENING_WAIT_MS = 15_000  # a page that shows no opening result is not waited for longer than this


def one_start(browser, log: Path) -> dict:
    with serving(log) as server:
        t = {"health": server.health_s}
        context = new_context(browser)
        try:
            page = context.new_page()
            app = App(page, server.url, wait=False)
            app.settle(0)  # the first script run has finished and the page is drawn
            page.locator('input[type="file"]').first.wait_for(state="attached")
            t["page interactive"] = time.monotonic() - server.started
            try:
                page.wait_for_function(f"() => ({THUMBS_JS})().some(i => i && i.complete && i.naturalWidth > 0)",
                                       timeout=OPENING_WAIT_MS, polling="raf")
                t["opening result"] = time.monotonic() - server.started
            except Exception:  # this version of the page opens without a result
                t["opening result"] = None
            upload = time.monotonic()
            app.caption_upload(warm_photo())  # not a sample: the opening result may be one
            t["first caption"] = time.monotonic() - server.started
            t["first caption, from the upload"] = time.monotonic() - upload
        finally:
            context.close()
    return t


def table(starts: list[dict]) -> str:
    lines = ["| from process start to | median s | min | max |", "|---|---|---|---|"]
    for key in starts[0]:
        xs = [s[key] for s in starts if s[key] is not None]
        if not xs:
            lines.append(f"| {key} | — (not shown) | | |")
            continue
        lines.append(f"| {key} | {statistics.median(xs):.1f} | {min(xs):.1f} | {max(xs):.1f} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--write", action="store_true", help="also write the table into bench/RESULTS.md")
    args = p.parse_args(argv)
    from playwright.sync_api import sync_playwright
    load, starts = os.getloadavg()[0], []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            for i in range(args.repeats):
                starts.append(one_start(browser, Path(tmp) / f"streamlit{i}.log"))
        finally:
            browser.close()
    text = (f"`python -m bench.startup --repeats {args.repeats}`: median (min, max) of {args.repeats} fresh starts "
            f"on {os.cpu_count()} cores; load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end.\n\n"
            + table(starts))
    print(text)
    if args.write:
        from bench.load import write
        write(text, "## Startup: a fresh `streamlit run app.py` until the first caption")


if __name__ == "__main__":
    main()
