"""Train the Transformer translator: python -m train.translate.transformer --data ../shared/data/eng-fra

Same tokenizer, split and vocabularies as the RNN translators (train.translate.data; the vocabularies
are rebuilt from the training split and must equal those of ``--vocab-from``, the shipped additive
model by default, so that every translator reads the same words). Label-smoothed cross-entropy,
Adam (0.9, 0.98), a linear warm-up then a cosine decay over the run (its epochs or its minutes,
whichever ends first), length-bucketed batches. Validation loss after every epoch; ``best.pt`` keeps
the best epoch, ``last.pt`` (every ``--save-every`` steps and each epoch) holds the optimizer, the step
and the place in the epoch, so ``--resume`` goes on from the batch where a killed run stopped.
``--minutes`` caps the total training time across resumes. Ship with ``train.translate.evaluate``.
"""
import argparse
import math
import random
import time
from pathlib import Path

import torch
from tqdm import tqdm

from model.core import assets
from model.core.checkpoint import Checkpoint, config_from, load_checkpoint, load_weights, save_checkpoint
from model.core.device import pick_device
from model.core.vocab import Vocab
from model.translate.text import Preprocessing
from model.translate.transformer import KIND, TransformerConfig, TransformerTranslator
from train.translate.data import batches, encode_batch, evaluate_loss, load


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="folder with eng-fra.txt.gz, or the file")
    p.add_argument("--max-len", type=int, default=15, help="tokens per side")
    p.add_argument("--min-count", type=int, default=2, help="rarer training words become <unk>")
    p.add_argument("--vocab-from", default=str(assets.translator("additive")),
                   help="checkpoint whose vocabularies these must equal ('' to skip the check)")
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--layers", type=int, default=3, help="encoder layers")
    p.add_argument("--decoder-layers", type=int, default=None, help="default: --layers")
    p.add_argument("--ffn", type=int, default=1024)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--batch", type=int, default=128, help="sentence pairs per step")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate, after the warm-up")
    p.add_argument("--warmup", type=int, default=1000, help="warm-up steps")
    p.add_argument("--smoothing", type=float, default=0.1, help="label smoothing")
    p.add_argument("--clip", type=float, default=1.0, help="gradient norm clip")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--minutes", type=float, default=None, help="stop after this much training time")
    p.add_argument("--steps", type=int, default=None, help="stop after this many steps in all (timing, tests)")
    p.add_argument("--save-every", type=int, default=200, help="write last.pt every this many steps")
    p.add_argument("--limit", type=int, default=None, help="use only this many training pairs")
    p.add_argument("--threads", type=int, default=1, help="CPU threads (torch.set_num_threads)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs", default="runs", help="folder of run folders")
    p.add_argument("--name", default="translator_fr-en_transformer", help="run name")
    p.add_argument("--resume", action="store_true", help="continue from <runs>/<name>/last.pt")
    return p.parse_args(argv)


def lr_at(step: int, progress: float, args) -> float:
    """Linear warm-up to ``args.lr``, then cosine decay to 5 % of it as ``progress`` goes 0 -> 1."""
    warm = min(1.0, (step + 1) / max(args.warmup, 1))
    return args.lr * warm * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def vocabularies(train_pairs, args) -> tuple[Vocab, Vocab]:
    src = Vocab.build((s for s, _ in train_pairs), args.min_count)
    tgt = Vocab.build((t for _, t in train_pairs), args.min_count)
    if args.vocab_from and not args.limit:
        ref = load_checkpoint(args.vocab_from).vocab
        if ref["src"] != src.itos or ref["tgt"] != tgt.itos:
            raise SystemExit(f"the vocabularies built here differ from those of {args.vocab_from}; "
                             "same data, --max-len and --min-count are needed")
    return src, tgt


def make_checkpoint(model, src_vocab, tgt_vocab, args, data_desc, metrics, extra) -> Checkpoint:
    return Checkpoint(
        kind=KIND, config=model.config, state_dict=model.state_dict(),
        vocab={"src": src_vocab.itos, "tgt": tgt_vocab.itos},
        preprocessing=Preprocessing("ours", data_desc["direction"], model.config.max_len,
                                    min_count=args.min_count).to_dict(),
        data=data_desc, metrics=metrics, extra=extra)


def make_optimizer(model, args):
    return torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.98), eps=1e-9)


def train(args) -> Path:
    torch.set_num_threads(args.threads)  # the CPU is shared: one thread unless told otherwise
    torch.manual_seed(args.seed)
    device = pick_device()
    splits, data_desc = load(args.data, "ours", "fr-en", args.max_len)
    train_pairs = splits["train"][:args.limit] if args.limit else splits["train"]
    run_dir = Path(args.runs) / args.name
    last_path, best_path = run_dir / "last.pt", run_dir / "best.pt"

    # batch: batches of the current epoch already trained (a resumed epoch skips them);
    # validated_step: the step whose weights were last validated (-1: none yet)
    state = {"epoch": 0, "batch": 0, "step": 0, "elapsed": 0.0, "best_val": math.inf, "history": [],
             "validated_step": -1}
    if args.resume and last_path.is_file():
        ckpt = load_checkpoint(last_path, kind=KIND)
        model = load_weights(TransformerTranslator(config_from(TransformerConfig, ckpt)), ckpt).to(device)
        src_vocab, tgt_vocab = Vocab(ckpt.vocab["src"]), Vocab(ckpt.vocab["tgt"])
        state = {k: ckpt.extra.get(k, v) for k, v in state.items()}
        optimizer = make_optimizer(model, args)
        optimizer.load_state_dict(ckpt.extra["optimizer"])
        print(f"resumed {last_path} at epoch {state['epoch'] + 1}, batch {state['batch']}, step {state['step']} "
              f"({state['elapsed'] / 60:.1f} min trained)")
    else:
        src_vocab, tgt_vocab = vocabularies(train_pairs, args)
        config = TransformerConfig(len(src_vocab), len(tgt_vocab), args.d_model, args.heads, args.layers,
                                   args.decoder_layers or args.layers, args.ffn, args.dropout, args.max_len)
        model = TransformerTranslator(config).to(device)
        optimizer = make_optimizer(model, args)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{args.name}: {len(train_pairs):,} training pairs, vocab {len(src_vocab)}/{len(tgt_vocab)}, "
          f"{n_params / 1e6:.1f} M parameters, device {device}, {args.threads} thread(s)", flush=True)

    budget = args.minutes * 60 if args.minutes else math.inf
    max_steps = args.steps or math.inf
    epoch_steps = math.ceil(len(train_pairs) / args.batch)
    total_steps = args.epochs * epoch_steps
    metrics_base = {"train_pairs": len(train_pairs), "device": str(device), "threads": args.threads,
                    "parameters": n_params, "batch": args.batch, "peak_lr": args.lr, "label_smoothing": args.smoothing}

    def save_last(val=None):
        metrics = {**metrics_base, "epochs": round(state["epoch"] + state["batch"] / epoch_steps, 2),
                   "steps": state["step"], "train_minutes": round(state["elapsed"] / 60, 1)}
        if val is not None:
            metrics["val_loss"] = round(val, 4)
        ckpt = make_checkpoint(model, src_vocab, tgt_vocab, args, data_desc, metrics,
                               {**state, "optimizer": optimizer.state_dict()})
        save_checkpoint(last_path, ckpt)
        return ckpt

    def validate(train_loss):
        """Validation loss of the weights now; best.pt if they are the best so far. An epoch cut
        short (by --minutes or --steps) is validated too, as a fraction of an epoch."""
        val = evaluate_loss(model, splits["val"], src_vocab, tgt_vocab, device)
        epochs = round(state["epoch"] + state["batch"] / epoch_steps, 2)
        state["history"].append({"epoch": epochs, "step": state["step"], "train_loss": train_loss,
                                 "val_loss": round(val, 4), "minutes": round(state["elapsed"] / 60, 2)})
        print(f"epoch {epochs}: train loss {train_loss} (smoothed), val loss {val:.3f}, "
              f"step {state['step']}, {state['elapsed'] / 60:.1f} min", flush=True)
        improved = val < state["best_val"]
        state["best_val"], state["validated_step"] = min(val, state["best_val"]), state["step"]
        ckpt = save_last(val)
        if improved:
            ckpt.extra = {"history": state["history"]}
            save_checkpoint(best_path, ckpt)

    stopped = False
    while state["epoch"] < args.epochs and state["elapsed"] < budget and state["step"] < max_steps:
        model.train()
        epoch_batches = batches(train_pairs, args.batch, random.Random(args.seed * 1000 + state["epoch"]))
        skip = state["batch"]  # same batches in the same order when an epoch is resumed
        start, loss_sum, n = time.time(), 0.0, 0
        bar = tqdm(epoch_batches[skip:], desc=f"epoch {state['epoch'] + 1}", initial=skip,
                   total=len(epoch_batches), mininterval=10)
        for batch in bar:
            now = state["elapsed"] + time.time() - start
            progress = max(state["step"] / total_steps, now / budget)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(state["step"], progress, args)
            src, lengths, tin, tout = encode_batch(batch, src_vocab, tgt_vocab, device)
            loss = model.loss(model(src, lengths, tin), tout, args.smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
            state["step"] += 1
            state["batch"] += 1
            loss_sum, n = loss_sum + loss.item(), n + 1
            bar.set_postfix(loss=f"{loss_sum / n:.3f}", lr=f"{optimizer.param_groups[0]['lr']:.1e}", refresh=False)
            if state["elapsed"] + time.time() - start >= budget or state["step"] >= max_steps:
                stopped = True
                break
            if state["step"] % args.save_every == 0:
                state["elapsed"] += time.time() - start
                start = time.time()
                save_last()
        state["elapsed"] += time.time() - start
        if state["batch"] >= len(epoch_batches):
            state["epoch"], state["batch"] = state["epoch"] + 1, 0
        validate(round(loss_sum / max(n, 1), 4))  # mid-epoch (stopped): --resume finishes the epoch
        if stopped:
            break
    if state["validated_step"] != state["step"]:  # a run killed mid-epoch, resumed with its time spent
        validate(None)
    return best_path


if __name__ == "__main__":
    print("best checkpoint:", train(parse_args()))
