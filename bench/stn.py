"""Speed of the spatial transformer models: ms per image at batch 1, images/s batched.

    python -m bench.stn [--repeats 20] [--batch 256] [--threads N]

Uses the shipped weights when present (else the same architecture, freshly initialised: speed
does not depend on the weights). Runs on the CPU, and on CUDA when there is one; each number is
the median of --repeats timed runs after warm-up.
"""
import argparse

import torch

from bench.timing import spread, timed_runs
from model.core import assets
from model.core.loader import load
from model.stn.net import STCNN, STNConfig
from model.stn.pipeline import MODELS
from train.stn.mnist import SIZES


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
          + (f", {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""))
    print(f"median (min–max) of {args.repeats} runs at batch 1, {max(3, args.repeats // 4)} batched")
    print(f"\n| model | input | device | ms / image (batch 1) | images / s (batch {args.batch}) |")
    print("|---|---|---|---:|---:|")
    for name in MODELS:
        for kind in ("ST-CNN", "CNN"):
            for device in devices:
                path = assets.stn(name, baseline=kind == "CNN")
                model = (load(path, device, kind="stn").model if path.is_file() else
                         STCNN(STNConfig(input_size=SIZES[name], transformer=kind == "ST-CNN")).to(device).eval())
                size = model.cfg.input_size
                one = torch.rand(1, 1, size, size, device=device)
                many = torch.rand(args.batch, 1, size, size, device=device)
                with torch.inference_mode():
                    single = [1000 * s for s in timed_runs(lambda: model(one), device, args.repeats, warmup=3)]
                    batched = [args.batch / s for s in
                               timed_runs(lambda: model(many), device, max(3, args.repeats // 4), warmup=3)]
                print(f"| {name} {kind} | {size}×{size} | {device.type} | {spread(single, 2)} | "
                      f"{spread(batched, 0)} |")


if __name__ == "__main__":
    main()
