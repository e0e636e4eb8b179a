"""Train the Show, Attend and Tell captioner on Flickr8k (soft or hard attention).

    python -m train.caption.train --data ../shared/data/flickr8k --attention soft
    python -m train.caption.train --data ../shared/data/flickr8k --attention hard --init runs/captioner_soft/best.pt
    torchrun --nproc_per_node=2 -m train.caption.train --data ... --attention soft   # DDP (gloo on CPU)

Encoder features are cached once (``train.caption.features``); with ``--finetune-from N`` the
encoder's blocks N.. and head are trained too, from cached lower activations (train.caption.finetune).
The run's state, a batch's loss and validation are in train.caption.run. Each epoch ends
with a validation pass (BLEU-4 / CIDEr, decoded with the beam the test uses:
greedy scores ranked epochs differently) and writes ``last.pt``; a better
BLEU-4 also writes ``best.pt``; ``--patience`` epochs without gain stop the
run. ``last.pt`` is also written every ``--save-every`` steps, and a run
started again with the same ``--runs``/``--name`` resumes where it stopped.
"""
import argparse
import os
import random
import time
from pathlib import Path

import torch
import torch.distributed as dist
from tqdm import tqdm

from model.caption.decode import LOCATION_NAMES, decoding_name, default_location
from model.caption.encoder import ARCHS, PREPROCESSING, Preprocessing, annotations
from model.core.attention import SCORES
from model.core.checkpoint import load_checkpoint, load_weights, save_checkpoint
from model.core.device import pick_device
from train.caption.data import (MIN_COUNT, CaptionSet, FeatureCache, build_vocab, collate, default_cache,
                                read_captions, read_splits, word_counts)
from train.caption.finetune import ActivationCache, default_activations, top_features
from train.caption.run import Run, loss_on_batch, validate


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Train the Show, Attend and Tell captioner.")
    p.add_argument("--data", required=True, help="Flickr8k folder (images/, captions.tsv, splits.json)")
    p.add_argument("--arch", choices=tuple(ARCHS), default=PREPROCESSING.arch, help="encoder of a new feature cache")
    p.add_argument("--features", help="feature cache (default cache/flickr8k-<arch>; made if missing)")
    p.add_argument("--attention", choices=("soft", "hard"), default="soft")
    p.add_argument("--runs", default="runs", help="folder of run folders")
    p.add_argument("--name", help="run folder name (default captioner_<attention>)")
    p.add_argument("--init", help="start from this checkpoint's weights (e.g. the soft model for hard)")
    p.add_argument("--epochs", type=int, default=20, help="epochs in this run (after --init: on top of its)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=4e-4)
    p.add_argument("--finetune-from", type=int, default=0, metavar="BLOCK",
                   help="also train the encoder from this block up (Lite0: 1-10, e.g. 8), from cached "
                        "activations below it; 0: frozen encoder")
    p.add_argument("--encoder-lr", type=float, default=4e-5, help="--finetune-from: Adam lr of the encoder blocks")
    p.add_argument("--activations", help="--finetune-from: activation cache (default cache/flickr8k-<arch>-below<BLOCK>)")
    p.add_argument("--lr-decay", type=float, default=1.0, help="learning rate factor per epoch of this run")
    p.add_argument("--alpha-c", type=float, default=1.0, help="doubly stochastic regularisation weight")
    p.add_argument("--entropy", type=float, default=0.002, help="hard: entropy bonus weight on alpha")
    p.add_argument("--reinforce", type=float, default=1.0, help="hard: weight of the REINFORCE term")
    p.add_argument("--semi-sampling", type=float, default=0.5, help="hard: chance a step uses the expected context")
    p.add_argument("--patience", type=int, default=3)
    p.add_argument("--val-images", type=int, default=1000, help="validation images decoded each epoch")
    p.add_argument("--val-beam", type=int, default=3, help="beam size of the validation pass (1: greedy)")
    p.add_argument("--val-location", choices=tuple(LOCATION_NAMES), default="expected",
                   help="hard: where the validation pass attends; 'expected' (the weighted sum) is how the "
                        "authors' code decodes hard models, 'argmax' one location per word as the page shows")
    p.add_argument("--save-every", type=int, default=100)
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: no limit)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--embed", type=int, default=256)
    p.add_argument("--attn-dim", type=int, default=256)
    p.add_argument("--score", default="additive", choices=SCORES)
    p.add_argument("--min-count", type=int, default=MIN_COUNT, help="rarer training words become <unk>")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def epoch_batches(lengths: list[int], batch: int, epoch: int, seed: int) -> list[list[int]]:
    """Shuffled batches of similar-length captions (less padding), the same for a given epoch."""
    rng = random.Random(seed * 1000 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch * 50
    batches = []
    for i in range(0, len(order), pool):
        chunk = sorted(order[i:i + pool], key=lambda k: lengths[k])
        batches += [chunk[j:j + batch] for j in range(0, len(chunk), batch)]
    rng.shuffle(batches)
    return batches


def main(argv=None):
    args = parse_args(argv)
    distributed = "RANK" in os.environ
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    device = pick_device()
    if device.type == "cuda" and distributed:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.runs) / (args.name or f"captioner_{args.attention}")
    out.mkdir(parents=True, exist_ok=True)

    captions, splits = read_captions(args.data), read_splits(args.data)
    val_names = splits["val"][:args.val_images]
    if args.finetune_from:
        pre = Preprocessing(arch=args.arch)
        args.activations = args.activations or str(default_activations(args.arch, args.finetune_from))
        if rank == 0:
            ActivationCache(args.activations, args.data, splits["train"] + val_names, pre, args.finetune_from)
    else:
        args.features = args.features or str(default_cache(args.arch))
        if not (Path(args.features) / "progress.json").is_file() and rank == 0:
            from train.caption import features as caption_features
            caption_features.main(["--data", args.data, "--arch", args.arch, "--features", args.features])
    if distributed:
        dist.barrier()
    if args.finetune_from:
        acts = ActivationCache(args.activations, args.data, splits["train"] + val_names, pre, args.finetune_from)
    else:
        cache = FeatureCache(args.features)
        pre = cache.pre
    vocab = build_vocab(captions, splits["train"], args.min_count)
    run = Run(args, vocab, pre, device)
    run.word_counts = word_counts(captions, splits["train"], vocab)
    if (out / "last.pt").is_file():
        run.resume(out / "last.pt")
        print(f"resumed {out / 'last.pt'} at epoch {run.epoch} step {run.step_in_epoch}")
    elif args.init:
        init = load_checkpoint(args.init, kind="captioner")
        if init.vocab["words"] != vocab.itos:
            raise SystemExit(f"{args.init} was trained with another vocabulary")
        if Preprocessing.from_dict(init.preprocessing) != pre:
            raise SystemExit(f"{args.init} was trained on another encoder than {args.arch}")
        if run.model.top is not None and not init.config.get("finetune_from", 0):  # a frozen-encoder model:
            own = run.model.state_dict()  # its decoder, with the package's upper blocks to fine-tune from
            init.state_dict = {**{k: v for k, v in own.items() if k.startswith("top.")}, **init.state_dict}
        load_weights(run.model, init)
        # Epochs count on from the initial model's and its history stays with the weights, so a model
        # card tells the whole training story; the best score starts afresh.
        run.epoch, run.history = init.extra.get("epoch", 0), list(init.extra.get("history", []))
        run.start_epoch = run.epoch
        print(f"initialised from {args.init} (epoch {run.epoch})")
    run.ddp = torch.nn.parallel.DistributedDataParallel(run.model) if distributed else None

    train_set = CaptionSet(splits["train"], captions, vocab)
    lengths = [len(c) for _, c in train_set.items]
    gen = torch.Generator(device=device).manual_seed(args.seed * 7919 + rank)
    if args.finetune_from:
        flips = torch.Generator().manual_seed(args.seed * 7919 + rank + 1)  # a mirror image for half the captions

        def train_features(rows):
            names = [splits["train"][r] for r in rows.tolist()]
            return top_features(run.model, acts.load(names, torch.rand(len(names), generator=flips) < 0.5), device)

        val_features = lambda names: top_features(run.model, acts.load(names), device)
    else:
        fine_all, coarse_all = cache.load(splits["train"])  # ~1 GB fp16, kept in RAM
        train_features = lambda rows: annotations(fine_all[rows].to(device), coarse_all[rows].to(device))

        def val_features(names):
            fine, coarse = cache.load(names)
            return annotations(fine.to(device), coarse.to(device))
    run.model.train()
    while run.epoch - run.start_epoch < args.epochs and run.bad_epochs < args.patience:
        for group in run.optim.param_groups:  # set each epoch, so a resumed run follows the same schedule
            group["lr"] = group.get("base_lr", args.lr) * args.lr_decay ** (run.epoch - run.start_epoch)
        batches = epoch_batches(lengths, args.batch, run.epoch, args.seed)[rank::world]
        bar = tqdm(batches, initial=run.step_in_epoch, total=len(batches), desc=f"epoch {run.epoch}",
                   disable=rank != 0, mininterval=5)
        t0 = time.time()
        for b in batches[run.step_in_epoch:]:
            rows, ids, _ = collate([train_set[k] for k in b], vocab.pad)
            ann = train_features(rows)
            loss, parts = loss_on_batch(run, ann, ids.to(device), gen)
            run.optim.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(run.model.parameters(), 5.0)
            run.optim.step()
            run.step_in_epoch += 1
            run.global_step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", **{k: f"{v:.3f}" for k, v in parts.items()})
            if rank == 0 and run.step_in_epoch % args.save_every == 0:
                save_checkpoint(out / "last.pt", run.checkpoint({}, with_optim=True))
            if args.max_steps and run.global_step >= args.max_steps:
                break
        bar.close()
        if args.max_steps and run.global_step >= args.max_steps and run.step_in_epoch < len(batches):
            if rank == 0:
                save_checkpoint(out / "last.pt", run.checkpoint({}, with_optim=True))
            break
        run.epoch, run.step_in_epoch = run.epoch + 1, 0
        if rank == 0:
            location = default_location(run.model, args.val_location)
            scores = validate(run, val_features, val_names, captions, args.val_beam, location)
            decoding = decoding_name(args.val_beam)
            if run.config.attention == "hard":
                decoding += f", {LOCATION_NAMES[location]}"
            # what the model card needs to tell each epoch's story
            story = {"attention": run.config.attention, "lr": run.optim.param_groups[0]["lr"],
                     "val decoding": decoding, "epoch_minutes": round((time.time() - t0) / 60, 1)}
            run.history.append({**scores, **story})
            improved = scores["BLEU-4"] > run.best
            run.best = max(run.best, scores["BLEU-4"])
            run.bad_epochs = 0 if improved else run.bad_epochs + 1
            print(f"epoch {run.epoch}: val {scores}", flush=True)
            metrics = {f"val {k} ({decoding})": v for k, v in scores.items() if k != "example"}
            metrics["epochs"] = run.epoch
            if improved:
                save_checkpoint(out / "best.pt", run.checkpoint(metrics, with_optim=False))
            save_checkpoint(out / "last.pt", run.checkpoint(metrics, with_optim=True))
        if distributed:
            state = torch.tensor([run.bad_epochs], device=device)
            dist.broadcast(state, 0)
            run.bad_epochs = int(state)
    if distributed:
        dist.destroy_process_group()
    if rank == 0:
        print(f"best val BLEU-4 {run.best:.2f}; checkpoints in {out}")


if __name__ == "__main__":
    main()
