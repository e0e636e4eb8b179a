"""Where the time goes: python -m bench.profile [--what caption translate] [--tool torch|cprofile] [--rows 15]

Profiles, on the CPU with one thread by default, the two paths users wait for:

* caption: the sample photos from their file bytes to the soft and the hard caption at beam 3 and
  every word's overlay at the photo's own size (load_image, caption, attention_overlay; the page draws
  them smaller, see bench.caption);
* translate: bench.translate's sentences, one at a time, greedy, through model.translate.pipeline.

``--tool torch`` prints torch.profiler's operators by self CPU time; ``--tool cprofile`` prints the
Python functions by their own time (where the interpreter, not a kernel, spends it). One warm-up
pass runs first, untimed; the profiled passes follow. bench/RESULTS.md keeps a before and an after.
"""
import argparse
import cProfile
import io
import os
import pstats

import torch

from bench.translate import SENTENCES
from model.caption.pipeline import CaptionOptions, Captioners, caption
from model.core import assets
from model.core.images import load_image
from model.translate.pipeline import TranslateOptions, load_translator, translate
from viz.overlay import attention_overlay


def caption_pass():
    pipe = Captioners.load(device="cpu")
    files = [f.read_bytes() for f in sorted(assets.SAMPLES.glob("*.jpg"))]
    options = CaptionOptions(beam=3)

    def one_pass():
        for data in files:
            image = load_image(data)
            run = caption(pipe, image, tuple(pipe.bundles), options)
            for c in run.captions.values():
                [attention_overlay(image, a) for a in c.alphas]
    return one_pass, f"{len(files)} sample photos, soft and hard, beam 3, overlays of every word"


def translate_pass():
    bundle = load_translator("additive", device="cpu")

    def one_pass():
        for s in SENTENCES:
            translate(bundle, s, TranslateOptions(beam=1))
    return one_pass, f"{len(SENTENCES)} sentences one at a time, additive fr-en, greedy"


PATHS = {"caption": caption_pass, "translate": translate_pass}


def profile(one_pass, tool: str, passes: int, rows: int) -> str:
    one_pass()  # warm-up: lazy imports, allocator, first-call caches
    if tool == "cprofile":
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(passes):
            one_pass()
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(rows)
        return "\n".join(line for line in out.getvalue().splitlines() if line.strip())
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(passes):
            one_pass()
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--what", nargs="+", default=list(PATHS), choices=list(PATHS))
    p.add_argument("--tool", default="torch", choices=("torch", "cprofile"))
    p.add_argument("--passes", type=int, default=3)
    p.add_argument("--rows", type=int, default=15)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    with torch.inference_mode():
        for what in args.what:
            one_pass, described = PATHS[what]()
            table = profile(one_pass, args.tool, args.passes, args.rows)
            print(f"### {what}: {described}; {args.passes} passes, {args.tool}, {torch.get_num_threads()} thread(s), "
                  f"load average {os.getloadavg()[0]:.1f}\n\n```\n{table}\n```\n", flush=True)


if __name__ == "__main__":
    main()
