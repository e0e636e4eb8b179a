"""A classroom on one machine: N browser sessions caption N different photos at once.

    python -m bench.load [--sessions 1 5 10 20] [--threads 1] [--processes 1] [--timeout 240] [--write]

Starts the app (``streamlit run app.py`` on loopback, as bench.browser does), captions one photo
untimed so the models are loaded, then for each N opens N fresh browser contexts in one headless
Chromium, hands each its own photo at the same moment and follows all of them: the time from
handing over the file to the caption on screen, and to the last per-word overlay drawn; sessions
that show an error or a traceback, or have not finished within --timeout, count as failures. The
server's resident memory (with its children) is sampled throughout; its peak is reported.

``--threads`` is the torch threads per script run (``ATTENTION_LENS_THREADS``); ``--processes 2``
starts two servers and deals the sessions out in turn, as a load balancer with sticky sessions
would. Every level is bounded by --timeout and the whole run stops by itself. Prints a Markdown
table; ``--write`` also puts it into bench/RESULTS.md (section "Classroom load"), with the load
average at the start of each level, since the browser shares the machine with the server.
"""
import argparse
import contextlib
import io
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from bench.browser import ROOT, SAMPLES, THUMBS_JS, VIEWPORT, WAIT_MS, App, launch_chromium, serving, tree_rss_mb

RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Classroom load: N browser sessions captioning at once"
STATE_JS = f"""old => {{
    const app = document.querySelector('[data-testid="stApp"]');
    const fresh = e => !e.closest('[data-stale="true"]');
    const heads = [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stMarkdown"] h3')]
        .filter(fresh).map(h => h.innerText);
    const imgs = ({THUMBS_JS})();
    const idle = app.dataset.testScriptState === 'notRunning' && !document.querySelector('[data-stale="true"]');
    return {{heads,
             overlays: idle && imgs.length > 0 && imgs.every(i => i && i.complete && i.naturalWidth > 0
                                                             && !old.includes(i.src)),
             failed: !!document.querySelector('[data-testid="stException"]')
                     || [...document.querySelectorAll('[data-testid="stAlert"]')].some(a => /Could not|failed/.test(a.innerText))}};
}}"""


def photos(n: int) -> list[tuple[str, bytes]]:
    """n different JPEG photos: the samples, each cropped from a different corner and size."""
    out, samples = [], sorted(SAMPLES.glob("*.jpg"))
    for i in range(n):
        img = Image.open(samples[i % len(samples)]).convert("RGB")
        k, (w, h) = i // len(samples), img.size
        f = 1 - 0.08 * (k % 4) - 0.02 * (k // 4)
        x, y = (0 if k % 2 else w - round(w * f)), (0 if k % 3 else h - round(h * f))
        buf = io.BytesIO()
        img.crop((x, y, x + round(w * f), y + round(h * f))).save(buf, "JPEG", quality=90)
        out.append((f"class_{i:02d}.jpg", buf.getvalue()))
    return out


def new_context(browser):
    """A fresh browser context (a new Streamlit session) that waits as long as a busy machine needs."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(WAIT_MS)
    return context


def warm_photo() -> dict:
    """A photo none of the timed sessions uploads, and not a sample a page may open with: new overlays."""
    name, data = photos(25)[-1]
    return {"name": name, "mimeType": "image/jpeg", "buffer": data}


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))] if xs else float("nan")


def level(browser, urls: list[str], servers, n: int, timeout: float) -> dict:
    """One classroom of n sessions; times in seconds."""
    contexts = [new_context(browser) for _ in range(n)]
    try:
        apps = [App(c.new_page(), urls[i % len(urls)], wait=False) for i, c in enumerate(contexts)]
        failed, opened_by = [False] * n, time.monotonic() + timeout
        for i, app in enumerate(apps):  # a session whose page never opens is a failure, not the end of the run
            try:
                app.settle(0, timeout_ms=max(1000, int(1000 * (opened_by - time.monotonic()))))
            except Exception:
                failed[i] = True
        load = os.getloadavg()[0]
        files = photos(n)
        before = [(app.page.evaluate(STATE_JS, []), [t["src"] for t in app.thumbs()], app.starts)
                  if not f else None for app, f in zip(apps, failed)]
        t0 = []
        for app, (name, data), f in zip(apps, files, failed):
            t0.append(time.monotonic())
            if not f:
                app.set_file({"name": name, "mimeType": "image/jpeg", "buffer": data})
        caption, overlay = [None] * n, [None] * n
        peak, deadline, next_rss = 0.0, time.monotonic() + timeout, 0.0
        while time.monotonic() < deadline and any(o is None and not f for o, f in zip(overlay, failed)):
            if time.monotonic() >= next_rss:
                peak, next_rss = max(peak, sum(tree_rss_mb(s.proc.pid) for s in servers)), time.monotonic() + 0.5
            for i, app in enumerate(apps):
                if overlay[i] is not None or failed[i]:
                    continue
                (old, old_srcs, starts) = before[i]
                try:
                    state = app.page.evaluate(STATE_JS, old_srcs)
                except Exception:  # the tab crashed or was closed: a failure
                    failed[i] = True
                    continue
                now = time.monotonic() - t0[i]
                failed[i] = state["failed"]
                if caption[i] is None and app.starts > starts and set(state["heads"]) - set(old["heads"]):
                    caption[i] = now
                if state["overlays"]:
                    overlay[i] = now
                    caption[i] = caption[i] or now
            apps[0].page.wait_for_timeout(50)
        done = [i for i in range(n) if overlay[i] is not None and not failed[i]]
        caps, overs = [caption[i] for i in done], [overlay[i] for i in done]
        return {"n": n, "load": load, "failures": n - len(done), "peak_rss": peak,
                "caption_median": statistics.median(caps) if caps else float("nan"),
                "caption_p95": percentile(caps, 0.95),
                "overlay_median": statistics.median(overs) if overs else float("nan"),
                "overlay_p95": percentile(overs, 0.95)}
    finally:
        for c in contexts:
            with contextlib.suppress(Exception):
                c.close()


def run(sessions: list[int], threads: int, processes: int, timeout: float) -> list[dict]:
    from playwright.sync_api import sync_playwright
    env = {"ATTENTION_LENS_THREADS": str(threads), "MALLOC_ARENA_MAX": "2"}
    rows = []
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack, sync_playwright() as pw:
        servers = [stack.enter_context(serving(Path(tmp) / f"streamlit{i}.log", env)) for i in range(processes)]
        browser = launch_chromium(pw)
        try:
            for s in servers:  # untimed: each process loads its models before the class arrives
                warm = new_context(browser)
                App(warm.new_page(), s.url).caption_upload(warm_photo())
                warm.close()
            for n in sessions:
                row = level(browser, [s.url for s in servers], servers, n, timeout)
                row.update(threads=threads, processes=processes)
                print(table([row], header=not rows), flush=True)
                rows.append(row)
        finally:
            browser.close()
    return rows


def table(rows: list[dict], header: bool = True) -> str:
    lines = ["| processes | torch threads/run | sessions | load avg | caption median s | caption p95 s "
             "| last overlay median s | last overlay p95 s | failures | peak server RSS MiB |",
             "|---|---|---|---|---|---|---|---|---|---|"] if header else []
    lines += [f"| {r['processes']} | {r['threads']} | {r['n']} | {r['load']:.1f} | {r['caption_median']:.1f} "
              f"| {r['caption_p95']:.1f} | {r['overlay_median']:.1f} | {r['overlay_p95']:.1f} | {r['failures']} "
              f"| {r['peak_rss']:.0f} |" for r in rows]
    return "\n".join(lines)


def write(text: str, section: str = SECTION) -> None:
    """Put a section into bench/RESULTS.md, replacing an earlier one (python -m bench rewrites the rest)."""
    old = RESULTS.read_text() if RESULTS.is_file() else "# Benchmark results\n"
    body = f"{section}\n\n{text}\n"
    pattern = re.compile(re.escape(section) + r"\n.*?(?=\n## |\Z)", re.S)
    RESULTS.write_text(pattern.sub(lambda _: body, old) if pattern.search(old)
                       else old.rstrip("\n") + "\n\n" + body)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, nargs="+", default=[1, 5, 10, 20])
    p.add_argument("--threads", type=int, nargs="+", default=[1], help="torch threads per run; several: A/B")
    p.add_argument("--processes", type=int, nargs="+", default=[1], help="app processes; several: A/B")
    p.add_argument("--timeout", type=float, default=240, help="seconds per level before unfinished sessions fail")
    p.add_argument("--write", action="store_true", help="also write the table into bench/RESULTS.md")
    args = p.parse_args(argv)
    start = os.getloadavg()[0]
    rows = [r for procs in args.processes for threads in args.threads
            for r in run(args.sessions, threads, procs, args.timeout)]
    command = " ".join(["python -m bench.load", *(sys.argv[1:] if argv is None else argv)])
    text = (f"`{command}`, on {os.cpu_count()} cores; load average {start:.1f} at the start "
            "(the browser runs on the same machine).\n\n" + table(rows))
    print(text)
    if args.write:
        write(text)


if __name__ == "__main__":
    main()
