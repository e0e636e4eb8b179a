"""Every benchmark in one report: python -m bench [--only caption translate] [--out bench/RESULTS.md]

Runs each bench script in its own process (so one's threads, caches and GPU
memory cannot colour the next), keeps its Markdown tables, and writes them
under a header that says what they were measured on: machine, CPU, memory,
device (CUDA when present, otherwise the CPU, stated), torch version and the
load average, which matters on a shared machine.
"""
import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent

# name -> (module, what it measures); each prints Markdown tables of medians with min and max.
BENCHES = {
    "caption": ("bench.caption", "Captioner: encoder, decoder (greedy, beam 1/3/5), overlays, end to end, "
                                 "batched throughput"),
    "translate": ("bench.translate", "Translator: greedy and beam 5 per sentence, batched throughput"),
    "transformer": ("bench.transformer", "Transformer vs additive GRU: greedy and beam 5 per sentence, batched"),
    "explain": ("bench.explain", "Explanations: per-word gradient, deletion and rank correlation for a caption and a sentence"),
    "stn": ("bench.stn", "Spatial transformer: batch 1 and batched throughput"),
    "browser": ("bench.browser", "App in a real browser (Chromium): upload to last overlay shown"),
    "profile": ("bench.profile", "Profiles: caption end to end and translate greedy (torch.profiler, top operators)"),
    # needs Flickr8k (../shared/data/flickr8k) and ~1 hour on 2 cores: run it with --only precision
    "precision": ("bench.precision", "Captioner decoder precision on Flickr8k validation: time, BLEU-4, captions "
                                     "unchanged"),
}
OPT_IN = ("precision",)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def memory_gib() -> str:
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        return f"{kib / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        return "unknown"


def header() -> list[str]:
    cuda = torch.cuda.is_available()
    device = (f"CUDA: {torch.cuda.get_device_name(0)}" if cuda
              else "CPU only (no CUDA device here; every number below is CPU time)")
    return [
        "# Benchmark results",
        "",
        f"Written by `python -m bench` on {datetime.datetime.now():%Y-%m-%d %H:%M}.",
        "",
        "| | |",
        "|---|---|",
        f"| machine | {platform.node()} ({platform.platform()}) |",
        f"| CPU | {cpu_model()}, {os.cpu_count()} cores |",
        f"| memory | {memory_gib()} |",
        f"| device | {device} |",
        f"| torch | {torch.__version__} (Python {platform.python_version()}) |",
        f"| load average at start | {os.getloadavg()[0]:.1f} |",
        "",
        "Each cell is the median of repeated runs with (min–max) beside it, after warm-up.",
    ]


def run_one(module: str) -> tuple[bool, str, float]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", module], cwd=ROOT, capture_output=True, text=True)
    out = proc.stdout.strip()
    if proc.returncode != 0:
        out += f"\n\n**failed** (exit {proc.returncode}):\n\n```\n{proc.stderr.strip()[-2000:]}\n```"
    return proc.returncode == 0, out, time.perf_counter() - start


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", choices=list(BENCHES), default=[b for b in BENCHES if b not in OPT_IN])
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = p.parse_args(argv)
    lines, ok = header(), True
    for name in args.only:
        module, what = BENCHES[name]
        print(f"bench: {module} ...", flush=True)
        passed, out, seconds = run_one(module)
        ok &= passed
        lines += ["", f"## {what}", "", f"`python -m {module}` ({seconds:.0f} s)", "", out]
        print(out, flush=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"bench: wrote {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
