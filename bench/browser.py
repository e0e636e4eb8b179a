"""Caption page speed as a user sees it, in a real browser: python -m bench.browser [--repeats 5]

Starts the app (``streamlit run app.py`` on a free loopback port), opens it in
headless Chromium (Playwright, /usr/bin/chromium) and times, per setting, from
handing a photo to the page's file input to the moment the last per-word
overlay is drawn: upload, script run, model, overlays and the browser's
rendering. Each repeat uploads a different sample photo, so the page never
answers from its per-session cache. Prints a Markdown table: median, min and
max of --repeats uploads, after one untimed upload that loads the models.

The server and browser helpers here are shared with the end-to-end tests
(tests/e2e), so the benchmark and the tests drive the app the same way.
"""
import argparse
import contextlib
import itertools
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "assets" / "samples"
CHROMIUM = os.environ.get("ATTENTION_LENS_CHROMIUM", "/usr/bin/chromium")
# without the background-networking flags Chromium's own connections are refused on a closed network
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 1000}
WAIT_MS = 180_000  # a first model load on a busy CPU takes tens of seconds
MODES = {"soft": "soft", "hard": "hard", "both": "both, side by side"}  # setting -> radio label on the page
# the Caption page's per-word overlays: images captioned "1. word", "2. word", ...
THUMBS_JS = """() => [...document.querySelectorAll('[data-testid="stImage"]')]
    .filter(e => /^\\d+\\. /.test(e.querySelector('[data-testid="stImageCaption"]')?.innerText ?? ''))
    .map(e => e.querySelector('img'))"""


# ---------------------------------------------------------------------------- the server

@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    log: Path
    started: float = 0.0   # time.monotonic() when the process was started
    health_s: float = 0.0  # seconds from then until /_stcore/health answered "ok"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(log: Path, env: dict | None = None, timeout: float = 120) -> Server:
    """``streamlit run app.py`` on a free loopback port, with ``env`` added to this process's environment;
    returns once /_stcore/health answers "ok"."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    started = time.monotonic()
    with open(log, "wb") as out:  # its own session: stop_server ends it and anything it started, nothing else
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, **(env or {})})
    server = Server(proc, f"http://127.0.0.1:{port}/", log, started)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(server.url + "_stcore/health", timeout=2) as r:
                if r.read() == b"ok":
                    server.health_s = time.monotonic() - started
                    return server
        except OSError:
            pass
        time.sleep(0.3)
    stop_server(server)
    raise RuntimeError(f"streamlit did not answer on {server.url} within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def stop_server(server: Server) -> None:
    """End the server's process group: politely, then by force."""
    for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.proc.pid, sig)
        try:
            server.proc.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


@contextlib.contextmanager
def serving(log: Path, env: dict | None = None):
    server = start_server(log, env)
    try:
        yield server
    finally:
        stop_server(server)


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (VmRSS from /proc), in MiB."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "(comm)", which may hold spaces
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    todo, kb = [pid], 0
    while todo:
        p = todo.pop()
        todo += parents.get(p, [])
        with contextlib.suppress(OSError):
            kb += next((int(line.split()[1]) for line in Path(f"/proc/{p}/status").read_text().splitlines()
                        if line.startswith("VmRSS:")), 0)
    return kb / 1024


# ---------------------------------------------------------------------------- the browser

def launch_chromium(playwright):
    if not Path(CHROMIUM).is_file():
        raise RuntimeError(f"Chromium is not at {CHROMIUM}: install it (apt-get install chromium) "
                           "or point ATTENTION_LENS_CHROMIUM at a Chromium binary")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class App:
    """One browser tab on the app that knows when the server is done with what the user did.

    The page's own "running" flag lags behind a click or an upload, and one upload
    makes two script runs (one as the old file goes, one when the new one is up), so
    the tab follows the server's run starts and ends on the app's websocket and
    calls the app settled when a run has finished and no other started for a moment.
    """

    def __init__(self, page, url: str, wait: bool = True):
        """Load the app; ``wait=False`` returns at once, to open many tabs side by side (then call ``settle(0)``)."""
        self.page, self.runs, self.starts, self.running, self.last_event = page, 0, 0, False, time.monotonic()
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))
        page.goto(url, wait_until="commit" if not wait else "load")
        if wait:
            self.settle(0)

    def _frame(self, payload) -> None:
        if not isinstance(payload, bytes):
            return
        msg = ForwardMsg()
        msg.ParseFromString(payload)
        kind = msg.WhichOneof("type")
        if kind == "new_session":  # the server sends one at the start of every script run
            self.running, self.last_event, self.starts = True, time.monotonic(), self.starts + 1
        elif kind == "script_finished":
            self.running, self.last_event = False, time.monotonic()
            self.runs += msg.script_finished == ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY

    def settle(self, before: int, quiet_s: float = 0.5, timeout_ms: int = WAIT_MS) -> None:
        """Wait until a run finished after ``before`` runs, none started for ``quiet_s``, and the page is drawn."""
        deadline = time.monotonic() + timeout_ms / 1000
        while self.runs <= before or self.running or time.monotonic() - self.last_event < quiet_s:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the app did not settle within {timeout_ms / 1000:.0f} s")
            self.page.wait_for_timeout(20)
        self.idle(timeout_ms)

    def idle(self, timeout_ms: int = WAIT_MS) -> None:
        """Wait until the page says no script runs and no element is left over from an earlier run."""
        self.page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms)
        self.page.wait_for_selector('[data-stale="true"]', state="detached", timeout=timeout_ms)

    def act(self, action, quiet_s: float = 0.5, timeout_ms: int = WAIT_MS) -> None:
        """Do something that reruns the script (click, upload, type) and wait until the app settles.

        ``quiet_s=0`` is for actions known to make a single run (a click or typed text).
        """
        before = self.runs
        action()
        self.settle(before, quiet_s, timeout_ms)

    def open(self, page_name: str) -> None:
        self.act(lambda: self.page.locator('[data-testid="stSidebar"] label').filter(
            has_text=page_name).first.click(), quiet_s=0)

    def choose(self, label: str) -> None:
        """Pick a radio option in the main area by its exact text (no rerun when it is already picked)."""
        option = self.page.locator('[data-testid="stMain"] label').filter(
            has=self.page.get_by_text(label, exact=True))
        if not option.locator("input").is_checked():
            self.act(option.click, quiet_s=0)

    def slide(self, label: str, key: str) -> None:
        """Move a slider with the keyboard ("Home", "End", "ArrowRight", ...), as a user can."""
        self.act(lambda: self.page.get_by_role("slider", name=label).press(key), quiet_s=0)

    def set_file(self, file) -> None:
        """Hand a file (a path, or a dict with name, mimeType and buffer) to the page's first file input."""
        self.page.locator('input[type="file"]').first.set_input_files(file)

    def upload(self, file) -> None:
        """Set the file and wait until the app settles (an upload makes one or two runs)."""
        self.act(lambda: self.set_file(file))

    def thumbs(self) -> list[dict]:
        """The Caption page's per-word overlays: caption, src and natural size of each."""
        return self.page.evaluate(f"""() => ({THUMBS_JS})().map(i => ({{caption: i.parentElement.innerText.trim(),
            src: i.src, width: i.naturalWidth, height: i.naturalHeight}}))""")

    def wait_new_thumbs(self, old: list[str], timeout_ms: int = WAIT_MS) -> list[dict]:
        """Wait until the app is idle and shows per-word overlays, none of them in ``old``, all loaded.

        After uploading a different image this is exactly "its caption is on screen":
        no settling pause, so the benchmark can time it.
        """
        self.page.wait_for_function(f"""old => {{
            const app = document.querySelector('[data-testid="stApp"]');
            if (app.dataset.testScriptState !== 'notRunning' || document.querySelector('[data-stale="true"]'))
                return false;
            const imgs = ({THUMBS_JS})();
            return imgs.length > 0 && imgs.every(i => i && i.complete && i.naturalWidth > 0 && !old.includes(i.src));
        }}""", arg=old, timeout=timeout_ms, polling="raf")
        return self.thumbs()

    def caption_upload(self, file) -> list[dict]:
        """Upload an image different from the one shown and wait for its per-word overlays."""
        old = [t["src"] for t in self.thumbs()]
        self.set_file(file)
        return self.wait_new_thumbs(old)

    def device(self) -> str:
        text = self.page.locator('[data-testid="stSidebar"]').get_by_text("Device:").inner_text()
        return text.split(":", 1)[1].strip()


# ---------------------------------------------------------------------------- the benchmark

def rows(repeats: int = 5, modes=tuple(MODES)) -> list[dict]:
    """Per mode at the page's default beam: ms from setting the file on the input to the last overlay drawn.

    One dict per mode: device, measurement, median_ms, min_ms, max_ms and runs (every timing, in ms).
    """
    from playwright.sync_api import sync_playwright
    photos = sorted(SAMPLES.glob("*.jpg"))
    out = []
    with tempfile.TemporaryDirectory() as tmp, serving(Path(tmp) / "streamlit.log") as server, \
            sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            app = App(browser.new_page(viewport=VIEWPORT), server.url)
            uploads = itertools.cycle(photos)  # each upload differs from the photo shown before it
            app.caption_upload(next(uploads))  # untimed: loads the captioners
            for mode in modes:
                app.choose(MODES[mode])
                ms = []
                for _ in range(repeats):
                    photo = next(uploads)
                    start = time.perf_counter()
                    app.caption_upload(photo)
                    ms.append(1000 * (time.perf_counter() - start))
                beam = app.page.get_by_role("slider", name="Beam size (1 = greedy)").get_attribute("aria-valuetext")
                out.append({"device": app.device(), "measurement": f"upload → last word overlay, {mode}, beam {beam}",
                            "median_ms": statistics.median(ms), "min_ms": min(ms), "max_ms": max(ms),
                            "runs": ms})
        finally:
            browser.close()
    return out


def table(results: list[dict]) -> str:
    lines = ["| device | measurement | median ms | min | max |", "|---|---|---|---|---|"]
    lines += [f"| {r['device']} | {r['measurement']} | {r['median_ms']:.0f} | {r['min_ms']:.0f} | {r['max_ms']:.0f} |"
              for r in results]
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    args = p.parse_args(argv)
    print(f"median (min, max) of {args.repeats} uploads per row; load average {os.getloadavg()[0]:.1f}")
    print(table(rows(args.repeats, tuple(args.modes))))


if __name__ == "__main__":
    main()
