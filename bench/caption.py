"""Captioner speed: python -m bench.caption [--repeats 5] [--batch 16] [--threads N]

Loads captioner_soft.pt / captioner_hard.pt from assets/ (or $ATTENTION_LENS_ASSETS) and times,
in ms per image over the sample photos in assets/samples: the encoder; the
decoder alone with greedy and beam 1 / 3 / 5 decoding; the overlays of all
words of one caption at the page's display sizes; end to end at beam 3 (encoder,
decoder, overlays), which the page needs on every new image. Then images/s for
encoder + greedy decoding in batches. Each number is the median over
--repeats passes (min and max beside it), after one warm-up pass. CPU, and
CUDA when present. Target on CPU: end to end at beam 3 within 150 ms.
"""
import argparse
import os
import statistics
import sys
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as `python bench/caption.py`: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.timing import timed_runs  # noqa: E402
from model.caption.decode import beam_search, greedy  # noqa: E402
from model.caption.pipeline import ATTENTIONS, CaptionOptions, Captioners, caption  # noqa: E402
from model.core import assets  # noqa: E402
from model.core.images import load_image  # noqa: E402
from ui.caption_panels import THUMB  # noqa: E402
from ui.caption_words import LARGE  # noqa: E402
from viz.caption_views import fit  # noqa: E402
from viz.overlay import attention_overlay  # noqa: E402


def page_overlays(image, alphas) -> list:
    """What the Caption page draws for one model's caption, at the sizes it shows them (both models side
    by side): every word's thumbnail and the large overlay of the selected word (one per click)."""
    large, thumb = fit(image, *LARGE[2]), fit(image, THUMB)
    return [attention_overlay(large, alphas[0])] + [attention_overlay(thumb, a) for a in alphas]


def ms_per_item(fn, items, device, repeats: int) -> list[float]:
    """Run fn over every item, ``repeats`` times after a warm-up; ms per item for each pass."""
    return [1000 * t / len(items) for t in timed_runs(lambda: [fn(item) for item in items], device, repeats)]


def row(device, step: str, model: str, runs: list[float], unit: str = "ms/image"):
    print(f"| {device.type} | {step} | {model} | {statistics.median(runs):.1f} | {min(runs):.1f} | "
          f"{max(runs):.1f} | {unit} |")


def bench_device(paths: dict, device: torch.device, images: list, args):
    pipe = Captioners.load(paths, device)
    seen = {id(im): pipe.pre.squash(im) for im in images}
    feats = {id(im): pipe.encode([seen[id(im)]]) for im in images}
    row(device, "encoder", "-", ms_per_item(lambda im: pipe.encode([pipe.pre.squash(im)]), images, device,
                                            args.repeats))
    options = CaptionOptions(beam=3)
    for name, b in pipe.bundles.items():
        start, end = b.vocab["words"].start, b.vocab["words"].end
        row(device, "decoder greedy", name, ms_per_item(
            lambda im: greedy(b.model, feats[id(im)], start, end), images, device, args.repeats))
        for beam in (1, 3, 5):
            row(device, f"decoder beam {beam}", name, ms_per_item(
                lambda im: beam_search(b.model, feats[id(im)], start, end, beam=beam), images, device,
                args.repeats))
        alphas = {id(im): caption(pipe, im, (name,), options).captions[name].alphas for im in images}
        words = statistics.mean(len(a) for a in alphas.values())
        row(device, f"overlays, all words at display size ({words:.1f} on average)", name, ms_per_item(
            lambda im: page_overlays(im, alphas[id(im)]), images, device, args.repeats))

        def end_to_end(im):
            c = caption(pipe, im, (name,), options).captions[name]
            return page_overlays(im, c.alphas)
        row(device, "end to end, beam 3", name, ms_per_item(end_to_end, images, device, args.repeats))

        batch = [images[i % len(images)] for i in range(args.batch)]
        per_image = ms_per_item(lambda ims: greedy(b.model, pipe.encode([pipe.pre.squash(im) for im in ims]),
                                                   start, end), [batch], device, args.repeats)
        row(device, f"encoder + greedy, batches of {args.batch}", name,
            [1000 * args.batch / ms for ms in per_image], "images/s")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's choice)")
    p.add_argument("--cpu-only", action="store_true")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    paths = {a: assets.captioner(a) for a in ATTENTIONS if assets.captioner(a).is_file()}
    if not paths:
        sys.exit(f"no captioner checkpoint in {assets.assets_dir()}")
    images = [load_image(f.read_bytes()) for f in sorted(assets.SAMPLES.glob("*.jpg"))]
    sizes = ", ".join(f"{im.shape[1]}×{im.shape[0]}" for im in images)
    print(f"{len(images)} sample images ({sizes}); models: {', '.join(f'{n} = {f}' for n, f in paths.items())}")
    print(f"median (min, max) of {args.repeats} passes; CPU threads {torch.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("| device | step | model | median | min | max | unit |")
    print("|---|---|---|---|---|---|---|")
    devices = [torch.device("cpu")]
    if torch.cuda.is_available() and not args.cpu_only:
        devices.append(torch.device("cuda"))
    with torch.inference_mode():
        for device in devices:
            bench_device(paths, device, images, args)


if __name__ == "__main__":
    main()
