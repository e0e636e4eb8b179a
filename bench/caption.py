"""Captioner speed: python -m bench.caption [--dir FOLDER] [--repeats 5] [--batch 16] [--threads N]

Loads captioner_soft.pt / captioner_hard.pt from assets/ (or --dir) and times,
in ms per image over the sample photos in assets/samples: the encoder; the
decoder alone with greedy and beam 1 / 3 / 5 decoding; the overlays of all
words of one caption at the image's own size; end to end at beam 3 (encoder,
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

from model.caption_decode import beam_search, greedy  # noqa: E402
from model.caption_pipeline import CHECKPOINTS, CaptionPipeline  # noqa: E402
from viz.images import load_image  # noqa: E402
from viz.overlay import attention_overlay  # noqa: E402
from bench.timing import timed_runs  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "assets" / "samples"


def ms_per_item(fn, items, device, repeats: int) -> list[float]:
    """Run fn over every item, ``repeats`` times after a warm-up; ms per item for each pass."""
    return [1000 * t / len(items) for t in timed_runs(lambda: [fn(item) for item in items], device, repeats)]


def row(device, step: str, model: str, runs: list[float], unit: str = "ms/image"):
    print(f"| {device.type} | {step} | {model} | {statistics.median(runs):.1f} | {min(runs):.1f} | "
          f"{max(runs):.1f} | {unit} |")


def bench_device(paths: dict, device: torch.device, images: list, args):
    pipe = CaptionPipeline(paths, device)
    feats = {id(im): pipe.encode([im]) for im in images}
    row(device, "encoder", "-", ms_per_item(lambda im: pipe.encode([im]), images, device, args.repeats))
    for name, m in pipe.models.items():
        start, end = m.vocab.start, m.vocab.end
        row(device, "decoder greedy", name, ms_per_item(
            lambda im: greedy(m.decoder, feats[id(im)], start, end), images, device, args.repeats))
        for beam in (1, 3, 5):
            row(device, f"decoder beam {beam}", name, ms_per_item(
                lambda im: beam_search(m.decoder, feats[id(im)], start, end, beam=beam), images, device,
                args.repeats))
        alphas = {id(im): pipe.caption(im, name, beam=3, feats=feats[id(im)]).alphas for im in images}
        words = statistics.mean(len(a) for a in alphas.values())
        row(device, f"overlays, all words ({words:.1f} on average)", name, ms_per_item(
            lambda im: [attention_overlay(im, a) for a in alphas[id(im)]], images, device, args.repeats))

        def end_to_end(im):
            c = pipe.caption(im, name, beam=3)
            return [attention_overlay(im, a) for a in c.alphas]
        row(device, "end to end, beam 3", name, ms_per_item(end_to_end, images, device, args.repeats))

        batch = [images[i % len(images)] for i in range(args.batch)]
        per_image = ms_per_item(lambda b: greedy(m.decoder, pipe.encode(b), start, end), [batch], device,
                                args.repeats)
        row(device, f"encoder + greedy, batches of {args.batch}", name,
            [1000 * args.batch / ms for ms in per_image], "images/s")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dir", type=Path, default=None, help="folder with captioner_soft.pt / captioner_hard.pt")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's choice)")
    p.add_argument("--cpu-only", action="store_true")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    paths = {n: (args.dir / f.name if args.dir else f) for n, f in CHECKPOINTS.items()}
    paths = {n: f for n, f in paths.items() if f.is_file()}
    if not paths:
        sys.exit(f"no captioner checkpoint in {args.dir or CHECKPOINTS['soft'].parent}")
    images = [load_image(f.read_bytes()) for f in sorted(SAMPLES.glob("*.jpg"))]
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
