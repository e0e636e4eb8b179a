"""Train the Show, Attend and Tell captioner on Flickr8k (soft or hard attention).

    python -m train.caption.train --data ../shared/data/flickr8k --attention soft
    python -m train.caption.train --data ../shared/data/flickr8k --attention hard --init runs/captioner_soft/best.pt
    torchrun --nproc_per_node=2 -m train.caption.train --data ... --attention soft   # DDP (gloo on CPU)

Encoder features are cached once (``train.caption.features``). Each epoch ends
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
import torch.nn.functional as F
from tqdm import tqdm

from model.caption.decode import LOCATION_NAMES, beam_search, decoding_name, default_location, greedy
from model.caption.decoder import Captioner, CaptionerConfig, MovingBaseline, doubly_stochastic, reinforce_loss
from model.caption.encoder import ARCHS, PREPROCESSING, Preprocessing, annotations
from model.core.attention import SCORES
from model.core.checkpoint import Checkpoint, load_checkpoint, load_weights, save_checkpoint
from model.core.device import pick_device
from model.core.vocab import Vocab
from train.caption.data import (MAX_TOKENS, MIN_COUNT, CaptionSet, FeatureCache, build_vocab, collate,
                                default_cache, read_captions, read_splits)
from train.caption.metrics import caption_scores

DATA_NOTE = ("Flickr8k (Hodosh et al. 2013), official 6,000/1,000/1,000 split; research use only, "
             "the images belong to their Flickr owners")


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


class Run:
    """Everything a training run holds, so it can be saved and resumed as one."""

    def __init__(self, args, vocab: Vocab, pre: Preprocessing, device):
        self.args, self.vocab, self.pre, self.device = args, vocab, pre, device
        self.config = CaptionerConfig(vocab_size=len(vocab), feature_dim=pre.feature_dim,
                                      attention=args.attention, hidden_dim=args.hidden,
                                      embed_dim=args.embed, attn_dim=args.attn_dim, score=args.score)
        torch.manual_seed(args.seed)
        self.model = Captioner(self.config).to(device)
        self.optim = torch.optim.Adam(self.model.parameters(), lr=args.lr)
        self.baseline = MovingBaseline()
        self.epoch, self.step_in_epoch, self.global_step = 0, 0, 0
        self.start_epoch = 0  # the epoch this run began at (after --init), so --epochs counts this run's
        self.best, self.bad_epochs, self.history = -1.0, 0, []
        self.ddp = None  # the DistributedDataParallel wrapper under torchrun

    def checkpoint(self, metrics: dict, with_optim: bool) -> Checkpoint:
        extra = {"epoch": self.epoch, "start_epoch": self.start_epoch, "step_in_epoch": self.step_in_epoch,
                 "global_step": self.global_step,
                 "best": self.best, "bad_epochs": self.bad_epochs, "baseline": self.baseline.value,
                 "history": self.history, "args": vars(self.args)}
        if with_optim:
            extra["optim"] = self.optim.state_dict()
        return Checkpoint(kind="captioner", config=self.config, state_dict=self.model.state_dict(),
                          vocab={"words": self.vocab.itos}, preprocessing=self.pre.to_dict(),
                          data={"dataset": DATA_NOTE, "train": "6,000 images × 5 captions",
                                "tokenizer": f"lower case, [a-z0-9] words, min count {self.args.min_count}, "
                                             f"at most {MAX_TOKENS} tokens"},
                          metrics=metrics, extra=extra)

    def resume(self, path: Path):
        ck = load_checkpoint(path, kind="captioner", map_location=self.device)
        load_weights(self.model, ck)
        e = ck.extra
        if "optim" in e:
            self.optim.load_state_dict(e["optim"])
        self.epoch, self.step_in_epoch, self.global_step = e["epoch"], e["step_in_epoch"], e["global_step"]
        self.start_epoch = e.get("start_epoch", 0)
        self.best, self.bad_epochs, self.history = e["best"], e["bad_epochs"], e["history"]
        self.baseline = MovingBaseline(value=e["baseline"])
        self.baseline.started = self.global_step > 0


def loss_on_batch(run: Run, ann, ids, generator):
    a = run.args
    model = run.ddp or run.model
    logits, alphas, _, loc_lp = model(ann, ids, generator=generator, semi_sampling=a.semi_sampling)
    targets = ids[:, 1:]
    mask = (targets != run.vocab.pad).float()
    nll = F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=run.vocab.pad, reduction="none")
    tokens = mask.sum()
    loss = nll.sum() / tokens + a.alpha_c * doubly_stochastic(alphas, mask).mean() / alphas.size(-1)
    parts = {"nll": (nll.sum() / tokens).item()}
    if run.config.attention == "hard":
        reward = -nll.sum(1)  # log p(y | s, a): the caption's log-likelihood under the sampled locations
        b = run.baseline.value if run.baseline.started else reward.detach().mean().item()
        rl = reinforce_loss(loc_lp, reward, b, probs=alphas, mask=mask, entropy_weight=a.entropy)
        loss = loss + a.reinforce * rl / (tokens / ids.size(0))  # per token, like the NLL
        run.baseline.update(reward)
        parts["baseline"] = run.baseline.value
    return loss, parts


@torch.no_grad()
def validate(run: Run, cache: FeatureCache, names: list[str], captions, beam: int = 1, location: str = "expected",
             batch: int = 100) -> dict:
    run.model.eval()
    hyps = {}
    for i in range(0, len(names), batch):
        chunk = names[i:i + batch]
        fine, coarse = cache.load(chunk)
        ann = annotations(fine.to(run.device), coarse.to(run.device))
        if beam == 1:
            decoded = greedy(run.model, ann, run.vocab.start, run.vocab.end, location=location)
        else:
            decoded = [beam_search(run.model, ann[j:j + 1], run.vocab.start, run.vocab.end, beam=beam,
                                   location=location)
                       for j in range(len(chunk))]
        for n, d in zip(chunk, decoded):
            hyps[n] = " ".join(run.vocab.decode(d.tokens))
    run.model.train()
    scores = caption_scores({n: captions[n] for n in names}, hyps, meteor=False)
    scores["example"] = hyps[names[0]]
    return scores


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
    args.features = args.features or str(default_cache(args.arch))
    if not (Path(args.features) / "progress.json").is_file() and rank == 0:
        from train.caption import features as caption_features
        caption_features.main(["--data", args.data, "--arch", args.arch, "--features", args.features])
    if distributed:
        dist.barrier()
    cache = FeatureCache(args.features)
    vocab = build_vocab(captions, splits["train"], args.min_count)
    run = Run(args, vocab, cache.pre, device)
    if (out / "last.pt").is_file():
        run.resume(out / "last.pt")
        print(f"resumed {out / 'last.pt'} at epoch {run.epoch} step {run.step_in_epoch}")
    elif args.init:
        init = load_checkpoint(args.init, kind="captioner")
        if init.vocab["words"] != vocab.itos:
            raise SystemExit(f"{args.init} was trained with another vocabulary")
        if Preprocessing.from_dict(init.preprocessing) != cache.pre:
            raise SystemExit(f"{args.init} was trained on another encoder's features than {args.features}")
        load_weights(run.model, init)
        # Epochs count on from the initial model's and its history stays with the weights, so a model
        # card tells the whole training story; the best score starts afresh.
        run.epoch, run.history = init.extra.get("epoch", 0), list(init.extra.get("history", []))
        run.start_epoch = run.epoch
        print(f"initialised from {args.init} (epoch {run.epoch})")
    run.ddp = torch.nn.parallel.DistributedDataParallel(run.model) if distributed else None

    train_set = CaptionSet(splits["train"], captions, vocab)
    fine_all, coarse_all = cache.load(splits["train"])  # ~1 GB fp16, kept in RAM
    lengths = [len(c) for _, c in train_set.items]
    val_names = splits["val"][:args.val_images]
    gen = torch.Generator(device=device).manual_seed(args.seed * 7919 + rank)
    run.model.train()
    while run.epoch - run.start_epoch < args.epochs and run.bad_epochs < args.patience:
        for group in run.optim.param_groups:  # set each epoch, so a resumed run follows the same schedule
            group["lr"] = args.lr * args.lr_decay ** (run.epoch - run.start_epoch)
        batches = epoch_batches(lengths, args.batch, run.epoch, args.seed)[rank::world]
        bar = tqdm(batches, initial=run.step_in_epoch, total=len(batches), desc=f"epoch {run.epoch}",
                   disable=rank != 0, mininterval=5)
        t0 = time.time()
        for b in batches[run.step_in_epoch:]:
            rows, ids, _ = collate([train_set[k] for k in b], vocab.pad)
            ann = annotations(fine_all[rows].to(device), coarse_all[rows].to(device))
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
            scores = validate(run, cache, val_names, captions, args.val_beam, location)
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
