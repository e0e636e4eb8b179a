"""Train an ST-CNN (or its CNN baseline) on a distorted MNIST variant and ship the best one.

    python -m train.stn.train --data ../shared/data/mnist --variant rts               # ST-CNN
    python -m train.stn.train --data ../shared/data/mnist --variant rts --model cnn   # the baseline
    python -m train.stn.train ... --resume --ship   # go on after a stop, then ship the best to assets/
    python -m train.stn.train ... --init assets/stn_rts.pt --elastic 0.5 --ema 0.9995 --lr 2e-4   # fine-tune

Each epoch sees new distortions of 55,000 training digits (seed, epoch); the last 5,000
training digits, distorted once, are the validation set that picks the best epoch. The run
directory keeps last.pt (to resume) and best.pt; with ``--ship`` the best is then scored on the
fixed 10,000-digit test set and written, in fp16, to assets/stn_<variant>[_cnn].pt with its card.
"""
import argparse
import copy
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from model.core import assets
from model.core.checkpoint import (Checkpoint, config_from, fp16, load_checkpoint, load_weights, model_card,
                                   save_checkpoint)
from model.core.device import pick_device
from model.stn.net import STCNN, Preprocessing, STNConfig, weights
from train.stn.mnist import SIZES, TEST_SEED, VAL_SEED, VARIANTS, distort, fixed_set, load_mnist

N_VAL = 5000
PAPER = {  # Jaderberg et al. 2015, Table 1 (ST-CNN Aff, CNN) and section 4.1 (cluttered), test error %
    "r": (0.7, 1.2), "rts": (0.5, 0.8), "p": (0.8, 1.5), "e": (1.2, 1.4), "cluttered": (1.7, 3.5)}


def shipped(variant: str, kind: str) -> Path:
    """Where a variant's ST-CNN (kind 'st') or CNN baseline ('cnn') ships."""
    return assets.stn(variant, baseline=kind == "cnn")


def lr_at(step: int, progress: float, peak: float, warmup: int = 200) -> float:
    """Linear warm-up over the first steps, then cosine down to 2 % of the peak as progress goes 0 -> 1."""
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def batches(images: np.ndarray, labels: np.ndarray, size: int, rng=None):
    """(x (B, 1, S, S) float in [0, 1], y) batches; shuffled when rng is given."""
    order = rng.permutation(len(images)) if rng is not None else np.arange(len(images))
    for i in range(0, len(order), size):
        idx = order[i:i + size]
        yield (torch.from_numpy(images[idx]).float().div_(255).unsqueeze(1),
               torch.from_numpy(labels[idx].astype(np.int64)))


class EMA:
    """Exponential moving average of a model's weights and batch-norm statistics, updated after
    every step. Late in training the weights still wander between nearby minima from batch to
    batch; their average generalises better than any one of them (Polyak averaging)."""

    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.module = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int | None = None) -> None:
        """``step``: the training step, for a warm-up of the decay, (1 + step) / (10 + step) while
        that is lower. Without it a run from scratch keeps its random first weights in the average
        for thousands of steps, and the mix of those with the trained weights and batch-norm
        statistics is no classifier (RTS, decay 0.9995: 90 % validation error after 8 epochs while
        the weights themselves were at 1.6 %)."""
        decay = self.decay if step is None else min(self.decay, (1 + step) / (10 + step))
        for avg, now in zip(self.module.state_dict().values(), model.state_dict().values()):
            if avg.is_floating_point():
                avg.lerp_(now, 1 - decay)
            else:
                avg.copy_(now)


def training_digits(digits: np.ndarray, variant: str, rng, elastic: float = 0.0) -> np.ndarray:
    """One epoch's distorted training digits. ``elastic``: the fraction of digits first given Simard et
    al.'s elastic warp, an extra augmentation against memorising the 55,000 digits' shapes (the
    test digits are the variant's alone)."""
    if elastic:
        pick = rng.random(len(digits)) < elastic
        digits = digits.copy()
        digits[pick] = distort(digits[pick], "e", rng)
    return distort(digits, variant, rng)


def train_epoch(model, opt, data, device, schedule, step: int = 0, progress=None,
                ema: EMA | None = None) -> tuple[float, int]:
    """One pass over ``data`` (an iterable of batches), or less if ``schedule(step)``, the learning
    rate, turns None; returns (mean loss, next step). ``ema`` is updated after every step."""
    model.train()
    total, count = 0.0, 0
    for x, y in data:
        lr = schedule(step)
        if lr is None:
            break
        for group in opt.param_groups:
            group["lr"] = lr
        loss = F.cross_entropy(model(x.to(device)), y.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)  # a wild θ early on must not blow up
        opt.step()
        if ema is not None:
            ema.update(model, step)
        total, count, step = total + loss.item() * len(y), count + len(y), step + 1
        if progress is not None:
            progress.update(len(y))
            progress.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    return total / max(count, 1), step


@torch.no_grad()
def error_rate(model, images, labels, device, batch: int = 500) -> float:
    """Test error in % (eval mode: dropout off, batch-norm running statistics)."""
    model.eval()
    wrong = 0
    for x, y in batches(images, labels, batch):
        wrong += (model(x.to(device)).argmax(1).cpu() != y).sum().item()
    return 100.0 * wrong / max(len(labels), 1)


def build(variant: str, kind: str, channels: int = STNConfig.channels, hidden: int = STNConfig.hidden) -> STNConfig:
    return STNConfig(input_size=SIZES[variant], transformer=(kind == "st"), channels=channels, hidden=hidden)


def write_cards(variant: str) -> None:
    """Cards for the variant's shipped ST-CNN and CNN; each names the other's test error."""
    paths = {k: shipped(variant, k) for k in ("st", "cnn")}
    ckpts = {k: load_checkpoint(p, kind="stn") for k, p in paths.items() if p.is_file()}
    st_paper, cnn_paper = PAPER[variant]
    for k, ckpt in ckpts.items():
        other = ckpts.get("cnn" if k == "st" else "st")
        versus = (f"The {'CNN baseline (same classifier, no transformer)' if k == 'st' else 'ST-CNN'} "
                  f"`{Path(other.path).name}` reaches {other.metrics['test_error_%']:.2f} % test error."
                  if other else "")
        notes = (f"{'ST-CNN' if k == 'st' else 'CNN baseline'} for the **{variant}** variant of distorted MNIST "
                 f"(Jaderberg et al. 2015, section 4.1): test error {ckpt.metrics['test_error_%']:.2f} % on the "
                 f"fixed 10,000-digit test set. {versus} Paper: ST-CNN {st_paper} %, CNN {cnn_paper} %. "
                 "Trained on a shared CPU; see the metrics for the budget.")
        title = f"{'ST-CNN' if k == 'st' else 'CNN baseline'}: MNIST {variant}"
        paths[k].with_suffix(".card.md").write_text(model_card(ckpt, title, notes))


def ship(run: Path, variant: str, kind: str, data_dir, device) -> Path:
    """Score best.pt on the fixed test set and write it to assets/ in fp16, then the cards."""
    best = load_checkpoint(run / "best.pt", kind="stn")
    model = load_weights(STCNN(config_from(STNConfig, best)), best)
    model.load_state_dict(fp16(model.state_dict()))  # score the weights as shipped
    model.to(device)
    images, labels = load_mnist(data_dir, "t10k")
    test = fixed_set(images, variant, TEST_SEED)
    metrics = dict(best.metrics, **{"test_error_%": round(error_rate(model, test, labels, device), 3)})
    out = shipped(variant, kind)
    save_checkpoint(out, Checkpoint(kind="stn", config=best.config, state_dict=weights(model),
                                    preprocessing=best.preprocessing, data=best.data, metrics=metrics), half=True)
    write_cards(variant)
    print(f"{out}: test error {metrics['test_error_%']:.2f} % (paper: {PAPER[variant][kind == 'cnn']} %)")
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/mnist", help="folder with the four MNIST IDX files")
    p.add_argument("--variant", choices=VARIANTS, default="rts")
    p.add_argument("--model", choices=("st", "cnn"), default="st", help="st: ST-CNN, cnn: the baseline")
    p.add_argument("--epochs", type=int, default=30, help="at most this many epochs")
    p.add_argument("--minutes", type=float, default=0,
                   help="training time budget; the learning rate anneals over it and training stops at its end "
                        "(0: epochs alone)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--channels", type=int, default=STNConfig.channels, help="classifier widths c, 2c, 2c")
    p.add_argument("--hidden", type=int, default=STNConfig.hidden, help="classifier's fully connected width")
    p.add_argument("--init", help="start from this ST-CNN/CNN checkpoint's weights and sizes (fine-tuning)")
    p.add_argument("--ema", type=float, default=0, metavar="DECAY",
                   help="validate and keep an exponential moving average of the weights, e.g. 0.9995 (0: off)")
    p.add_argument("--elastic", type=float, default=0, metavar="FRACTION",
                   help="elastically warp this fraction of training digits before the variant's distortion")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="CPU threads (the machine is shared)")
    p.add_argument("--resume", action="store_true", help="continue from the run directory's last.pt")
    p.add_argument("--runs", default="runs", help="folder of run folders")
    p.add_argument("--ship", action="store_true", help="at the end, score the best epoch on the test set and "
                                                       "write it to assets/ with its card")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = pick_device()
    run = Path(args.runs) / shipped(args.variant, args.model).stem
    images, labels = load_mnist(args.data, "train")
    train_x, train_y = images[:-N_VAL], labels[:-N_VAL]
    val_x, val_y = fixed_set(images[-N_VAL:], args.variant, VAL_SEED), labels[-N_VAL:]

    if args.init:
        init = load_checkpoint(args.init, kind="stn")
        cfg = config_from(STNConfig, init)
        if cfg != build(args.variant, args.model, cfg.channels, cfg.hidden):
            p.error(f"--init {args.init} is not a {args.variant} {args.model} model")
        model = load_weights(STCNN(cfg), init).to(device)
    else:
        cfg = build(args.variant, args.model, args.channels, args.hidden)
        model = STCNN(cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    ema = EMA(model, args.ema) if args.ema else None
    steps_per_epoch = math.ceil(len(train_x) / args.batch)
    total = args.epochs * steps_per_epoch
    state = {"epoch": 0, "step": 0, "best_val": float("inf"), "seconds": 0.0}
    if args.resume and (run / "last.pt").is_file():
        last = load_checkpoint(run / "last.pt", kind="stn")
        load_weights(model if ema is None else ema.module, last)  # with --ema last.pt holds the average
        if ema is not None:
            model.load_state_dict(last.extra["raw"])
        opt.load_state_dict(last.extra["optimizer"])
        state = last.extra["state"]
        print(f"resumed {run / 'last.pt'} after epoch {state['epoch']}")

    data_desc = {"name": f"MNIST, variant {args.variant} (Jaderberg et al. 2015, section 4.1)",
                 "license": "MNIST: CC BY-SA 3.0 (LeCun, Cortes, Burges)",
                 "train": f"{len(train_x)} training digits, new distortions every epoch (seed {args.seed}, epoch)",
                 "validation": f"last {N_VAL} training digits, distorted once (seed {VAL_SEED})",
                 "test": f"10,000 test digits, distorted once (seed {TEST_SEED})"}
    if args.init:
        data_desc["init"] = f"fine-tuned from {args.init} ({init.metrics.get('epochs', '?')} epochs)"
    if args.elastic:
        data_desc["augmentation"] = f"{args.elastic:.0%} of training digits elastically warped first (Simard et al.)"
    if ema is not None:
        data_desc["weights"] = f"exponential moving average of the training weights, decay {args.ema}"
    print(f"{run.name}: {sum(t.numel() for t in model.parameters()):,} parameters, "
          f"{args.epochs} epochs of {steps_per_epoch} steps on {device}")
    # on a shared CPU the speed is unknown in advance: the schedule follows whichever runs out
    # first, steps or time, so the learning rate has annealed when the budget ends
    budget = 60 * args.minutes if args.minutes else math.inf
    start = time.time() - state["seconds"]
    progress = lambda step: max(step / total, (time.time() - start) / budget)
    schedule = lambda step: None if progress(step) >= 1 else lr_at(step, progress(step), args.lr)
    while progress(state["step"]) < 1:
        epoch = state["epoch"]
        x = training_digits(train_x, args.variant, np.random.default_rng([args.seed, epoch]), args.elastic)
        rng = np.random.default_rng([args.seed, epoch, 1])
        with tqdm(total=len(x), desc=f"epoch {epoch + 1}/{args.epochs}", mininterval=10, unit="img") as bar:
            loss, state["step"] = train_epoch(model, opt, batches(x, train_y, args.batch, rng), device,
                                              schedule, state["step"], bar, ema)
            if bar.n == 0:  # the budget ran out while this epoch's data was being made
                break
        scored = model if ema is None else ema.module
        val = error_rate(scored, val_x, val_y, device)
        state.update(epoch=epoch + 1, seconds=time.time() - start)
        print(f"epoch {epoch + 1}: loss {loss:.4f}, validation error {val:.2f} %, {state['seconds'] / 60:.1f} min")
        metrics = {"val_error_%": round(val, 3), "epochs": epoch + 1, "steps": state["step"],
                   "train_minutes": round(state["seconds"] / 60, 1), "device": str(device), "threads": args.threads}
        ckpt = Checkpoint(kind="stn", config=cfg, state_dict=weights(scored),
                          preprocessing=Preprocessing(SIZES[args.variant]).to_dict(), data=data_desc,
                          metrics=metrics)
        if val <= state["best_val"]:
            state["best_val"] = val
            save_checkpoint(run / "best.pt", ckpt)
        ckpt.extra = {"optimizer": opt.state_dict(), "state": state}
        if ema is not None:
            ckpt.extra["raw"] = weights(model)
        save_checkpoint(run / "last.pt", ckpt)

    if args.ship and (run / "best.pt").is_file():
        ship(run, args.variant, args.model, args.data, device)


if __name__ == "__main__":
    main()
