"""Train a translator: python -m train.translate.train --data ../shared/data/eng-fra --score additive

Validation loss after every epoch; ``<out>/<name>/best.pt`` keeps the best
epoch, ``last.pt`` the latest one with its optimizer, so ``--resume`` goes on
where a killed run stopped (at the start of the epoch it was in). ``--minutes``
caps the total training time across resumes; the learning rate is constant
for the first 70 % of the run (of its epochs or its minutes, whichever ends
first) and then decays linearly, which is worth a few BLEU over a constant rate.
Ship the result with ``python -m train.translate.evaluate --ship``.
"""
import argparse
import dataclasses
import math
import random
import time
from pathlib import Path

import torch
from tqdm import tqdm

from model.core.attention import SCORES
from model.core.checkpoint import Checkpoint, config_from, load_checkpoint, load_weights, save_checkpoint
from model.core.device import pick_device
from model.translate.rnn import Translator, TranslatorConfig
from model.translate.text import PROTOCOLS, Preprocessing
from model.core.vocab import Vocab
from train.translate.data import batches, encode_batch, evaluate_loss, load



def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="folder with eng-fra.txt.gz, or the file")
    p.add_argument("--protocol", choices=PROTOCOLS, default="ours")
    p.add_argument("--direction", choices=["fr-en", "en-fr"], default="fr-en")
    p.add_argument("--score", choices=SCORES, default="additive")
    p.add_argument("--max-len", type=int, default=15, help="tokens per side (protocol ours)")
    p.add_argument("--min-count", type=int, default=2, help="rarer training words become <unk>")
    p.add_argument("--emb", type=int, default=256)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--minutes", type=float, default=None, help="stop after this much training time")
    p.add_argument("--teacher-forcing", type=float, default=1.0, help="share of steps fed the true word")
    p.add_argument("--clip", type=float, default=1.0, help="gradient norm clip")
    p.add_argument("--limit", type=int, default=None, help="use only this many training pairs (timing)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads (torch.set_num_threads)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs", default="runs", help="folder of run folders")
    p.add_argument("--name", default=None, help="run name; default translator_<direction>_<score>[_tutorial]")
    p.add_argument("--resume", action="store_true", help="continue from <out>/<name>/last.pt")
    p.add_argument("--init", help="start from this checkpoint's weights and vocabularies (e.g. a shipped model); "
                                  "fresh optimizer and schedule, its training history is kept")
    p.add_argument("--fresh-score", action="store_true",
                   help="with --init: keep every weight but the attention score's, which starts afresh as --score "
                        "(how the four score functions continue one shared base equally)")
    return p.parse_args(argv)


def run_name(args) -> str:
    direction = "fr-en" if args.protocol == "tutorial" else args.direction
    return args.name or f"translator_{direction}_{args.score}" + ("_tutorial" if args.protocol == "tutorial" else "")


def lr_at(progress: float, base: float) -> float:
    """Constant, then linear decay to 5 % over the last 30 % of the run."""
    return base * max(0.05, min(1.0, (1.0 - progress) / 0.3))


def make_checkpoint(model, src_vocab, tgt_vocab, args, data_desc, metrics, extra) -> Checkpoint:
    return Checkpoint(
        kind="translator", config=model.config, state_dict=model.state_dict(),
        vocab={"src": src_vocab.itos, "tgt": tgt_vocab.itos},
        preprocessing=Preprocessing(args.protocol, data_desc["direction"], model.config.max_len,
                                    min_count=args.min_count).to_dict(),
        data=data_desc, metrics=metrics, extra=extra)


def restore(ckpt, device) -> tuple[Vocab, Vocab, Translator]:
    """The vocabularies and model a checkpoint holds; an fp16 (shipped) file loads into fp32 weights."""
    model = load_weights(Translator(config_from(TranslatorConfig, ckpt)), ckpt).to(device)
    return Vocab(ckpt.vocab["src"]), Vocab(ckpt.vocab["tgt"]), model


def with_fresh_score(ckpt, score: str, device) -> tuple[Vocab, Vocab, Translator]:
    """The checkpoint's vocabularies and weights, except its score function, which is `score`, newly initialised."""
    model = Translator(dataclasses.replace(config_from(TranslatorConfig, ckpt), score=score))
    kept = {k: v.float() for k, v in ckpt.state_dict.items() if ".attention." not in k}
    missing, unexpected = model.load_state_dict(kept, strict=False)
    if unexpected or any(".attention." not in k for k in missing):
        raise ValueError(f"{score} scorer does not fit this checkpoint: missing {missing}, unexpected {unexpected}")
    return Vocab(ckpt.vocab["src"]), Vocab(ckpt.vocab["tgt"]), model.to(device)


def train(args) -> Path:
    torch.set_num_threads(args.threads)  # the CPU is shared: one thread unless told otherwise
    torch.manual_seed(args.seed)
    device = pick_device()
    splits, data_desc = load(args.data, args.protocol, args.direction, args.max_len)
    train_pairs = splits["train"][:args.limit] if args.limit else splits["train"]
    run_dir = Path(args.runs) / run_name(args)
    last_path, best_path = run_dir / "last.pt", run_dir / "best.pt"

    # start_*: where this run began (non-zero after --init), so --epochs and --minutes count this run only.
    # shared_epochs: the base's epochs when --fresh-score gave it a new score function (kept across --resume).
    state = {"epoch": 0, "step": 0, "elapsed": 0.0, "best_val": math.inf, "history": [],
             "start_epoch": 0, "start_elapsed": 0.0, "shared_epochs": 0}
    if args.resume and last_path.is_file():
        ckpt = load_checkpoint(last_path, kind="translator")
        src_vocab, tgt_vocab, model = restore(ckpt, device)
        state = {k: ckpt.extra.get(k, v) for k, v in state.items()}
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
        optimizer.load_state_dict(ckpt.extra["optimizer"])
        print(f"resumed {last_path} at epoch {state['epoch']} ({state['elapsed'] / 60:.1f} min trained)")
    elif args.init:
        ckpt = load_checkpoint(args.init, kind="translator")
        src_vocab, tgt_vocab, model = (with_fresh_score(ckpt, args.score, device) if args.fresh_score
                                       else restore(ckpt, device))
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
        # Epoch numbers and minutes go on from the initial model's, so the card tells the whole story.
        epochs, elapsed = ckpt.metrics.get("epochs", 0), ckpt.metrics.get("train_minutes", 0) * 60
        history = [{**h, "score": h.get("score", ckpt.config["score"])} for h in ckpt.extra.get("history", [])]
        state.update(epoch=epochs, elapsed=elapsed, start_epoch=epochs, start_elapsed=elapsed, history=history,
                     shared_epochs=epochs if args.fresh_score else 0)
        print(f"initialised from {args.init} ({state['epoch']} epochs, {state['elapsed'] / 60:.1f} min trained)")
    else:
        src_vocab = Vocab.build((s for s, _ in train_pairs), args.min_count)
        tgt_vocab = Vocab.build((t for _, t in train_pairs), args.min_count)
        max_len = 10 if args.protocol == "tutorial" else args.max_len
        config = TranslatorConfig(len(src_vocab), len(tgt_vocab), args.emb, args.hidden, args.hidden,
                                  args.score, args.dropout, max_len)
        model = Translator(config).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{run_name(args)}: {len(train_pairs):,} training pairs, vocab {len(src_vocab)}/{len(tgt_vocab)}, "
          f"{n_params / 1e6:.1f} M parameters, device {device}")

    budget = args.minutes * 60 if args.minutes else math.inf
    steps_per_epoch = math.ceil(len(train_pairs) / args.batch)
    total_steps = args.epochs * steps_per_epoch

    def run_time(now: float = 0.0) -> float:
        return state["elapsed"] - state["start_elapsed"] + now

    while state["epoch"] - state["start_epoch"] < args.epochs and run_time() < budget:
        model.train()
        epoch_rng = random.Random(args.seed * 1000 + state["epoch"])  # same batches when an epoch is resumed
        start, loss_sum, n = time.time(), 0.0, 0
        bar = tqdm(batches(train_pairs, args.batch, epoch_rng), desc=f"epoch {state['epoch'] + 1}", mininterval=5)
        for batch in bar:
            progress = max(state["step"] / total_steps, run_time(time.time() - start) / budget)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(progress, args.lr)
            src, lengths, tin, tout = encode_batch(batch, src_vocab, tgt_vocab, device)
            features, _ = model(src, lengths, tin, teacher_forcing=args.teacher_forcing)
            loss = model.loss(features, tout)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
            state["step"] += 1
            loss_sum, n = loss_sum + loss.item(), n + 1
            bar.set_postfix(loss=f"{loss_sum / n:.3f}", lr=f"{optimizer.param_groups[0]['lr']:.1e}", refresh=False)
            if run_time(time.time() - start) >= budget:
                break  # out of time: validate and save what we have
        state["elapsed"] += time.time() - start
        state["epoch"] += 1
        val = evaluate_loss(model, splits["val"], src_vocab, tgt_vocab, device)
        state["history"].append({"epoch": state["epoch"], "score": model.config.score,
                                 "train_loss": round(loss_sum / max(n, 1), 4), "val_loss": round(val, 4),
                                 "minutes": round(state["elapsed"] / 60, 2)})
        print(f"epoch {state['epoch']}: train loss {loss_sum / max(n, 1):.3f}, val loss {val:.3f}, "
              f"{state['elapsed'] / 60:.1f} min", flush=True)
        metrics = {"val_loss": round(val, 4), "epochs": state["epoch"],
                   "train_minutes": round(state["elapsed"] / 60, 1), "train_pairs": len(train_pairs),
                   "device": str(device), "threads": args.threads}
        if state["shared_epochs"]:
            metrics["shared_epochs"] = state["shared_epochs"]
        if val < state["best_val"]:
            state["best_val"] = val
            save_checkpoint(best_path, make_checkpoint(model, src_vocab, tgt_vocab, args, data_desc, metrics,
                                                       {"history": state["history"]}))
        save_checkpoint(last_path, make_checkpoint(model, src_vocab, tgt_vocab, args, data_desc, metrics,
                                                   {**state, "optimizer": optimizer.state_dict()}))
    return best_path


if __name__ == "__main__":
    print("best checkpoint:", train(parse_args()))
