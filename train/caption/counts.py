"""Add the training-caption count of every vocabulary word to captioner checkpoints (and rewrite their cards).

    python -m train.caption.counts --data ../shared/data/flickr8k            # the shipped soft and hard files
    python -m train.caption.counts --data ../shared/data/flickr8k runs/captioner_soft/best.pt

The Caption page tells users how often each word it wrote was seen in training ("cat": in 41 of the
30,000 training captions, "dog": 5,612), since a rare word explains many mistakes that look like
attention's. New checkpoints get the counts from training; this command adds them to older files.
Only ``data["word_counts"]`` changes: the weights (and their sha256) stay as they are, and a file
whose vocabulary is not the one the training split gives is refused.
"""
import argparse
import sys
from pathlib import Path

from model.core import assets
from model.core.checkpoint import load_checkpoint, save_checkpoint, weights_sha256
from train.caption.data import MIN_COUNT, build_vocab, read_captions, read_splits, word_counts
from train.caption.evaluate import write_card


def add_counts(path: Path, counts_for) -> str:
    """Store the counts in ``path`` in place; returns the (unchanged) weights sha256."""
    ckpt = load_checkpoint(path, kind="captioner")  # read right before writing: other fields stay as found
    before = weights_sha256(ckpt.state_dict)
    counts = counts_for(ckpt)
    ckpt.data = {**ckpt.data, "word_counts": counts}
    after = save_checkpoint(path, ckpt)  # as stored (fp16 stays fp16): same bytes, same hash
    if after != before:
        raise SystemExit(f"{path}: the weights changed while adding counts ({before} -> {after})")
    return after


def main(argv=None):
    p = argparse.ArgumentParser(description="Store training-caption word counts in captioner checkpoints.")
    p.add_argument("--data", required=True, help="Flickr8k folder (captions.tsv, splits.json)")
    p.add_argument("files", nargs="*", type=Path, help="checkpoints (default: the shipped soft and hard ones)")
    p.add_argument("--min-count", type=int, default=MIN_COUNT, help="the vocabulary threshold of training")
    args = p.parse_args(argv)
    files = args.files or [assets.captioner(a) for a in ("soft", "hard")]
    captions, splits = read_captions(args.data), read_splits(args.data)
    vocab = build_vocab(captions, splits["train"], args.min_count)
    counts = word_counts(captions, splits["train"], vocab)

    def counts_for(ckpt):
        if ckpt.vocab["words"] != vocab.itos:
            raise SystemExit(f"{ckpt.path}: its vocabulary is not the training split's (min count {args.min_count})")
        return counts

    for path in files:
        sha = add_counts(path, counts_for)
        shipped = path.resolve().parent == assets.assets_dir().resolve()
        if shipped:  # a card states the file's sha256, which has just changed
            write_card(load_checkpoint(path, kind="captioner"), path.stem.split("_")[-1])
        print(f"{path}: counts of {len(counts):,} words stored, weights sha256 {sha[:12]}… unchanged"
              + (", card rewritten" if shipped else ""), file=sys.stderr)


if __name__ == "__main__":
    main()
