"""Translator speed: python -m bench.translate [--scores additive dot] [--threads 1]

Per device (CPU, and CUDA when present) and score function: median ms to
translate one sentence alone, greedy and beam 5, and sentences per second
with batched greedy decoding. Every number is the median of ``--repeats``
runs over the same sentences; no data set needed.
"""
import argparse

import torch

from bench.timing import spread, timed_runs
from model.translate import ASSETS, asset_name, load_translator
from model.translate_decode import beam_search, greedy

SENTENCES = [
    "je suis très fatigué .", "il fait froid aujourd'hui .", "où est la gare ?", "j'aime les chats .",
    "elle est plus grande que moi .", "nous allons à la plage demain .", "il ne sait pas nager .",
    "j'ai oublié mon parapluie dans le train .", "est-ce que tu parles français ?", "tom a acheté une voiture .",
    "je ne comprends pas ce que tu dis .", "ils sont arrivés en retard hier soir .",
    "pourquoi est-ce que tu ne m'as pas appelé ?", "c'est le meilleur livre que j'ai jamais lu .",
    "il faut que nous partions avant la nuit .", "ma sœur travaille dans un hôpital .",
]


def encoded(t, device):
    return [torch.tensor([t.src_vocab.encode(t.tokenize(s)) + [t.src_vocab.end]], device=device) for s in SENTENCES]


def ms_per_sentence(t, sources, device, beam: int, repeats: int) -> list[float]:
    def one_pass():
        for src in sources:
            lengths = torch.tensor([src.size(1)])
            greedy(t.model, src, lengths) if beam == 1 else beam_search(t.model, src, lengths, beam)
    return [1000 * s / len(sources) for s in timed_runs(one_pass, device, repeats, warmup=0)]


def sentences_per_second(t, sources, device, batch: int, repeats: int) -> list[float]:
    rows = [sources[i % len(sources)][0] for i in range(batch)]
    lengths = torch.tensor([len(r) for r in rows])
    src = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True, padding_value=t.src_vocab.pad)
    return [batch / s for s in timed_runs(lambda: greedy(t.model, src, lengths), device, repeats, warmup=0)]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scores", nargs="+", default=["additive", "dot", "general", "concat"])
    p.add_argument("--direction", default="fr-en")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's choice)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"{len(SENTENCES)} sentences, median (min–max) of {args.repeats} repeats, "
          f"CPU threads {torch.get_num_threads()}")
    print("| device | score | greedy ms/sentence | beam 5 ms/sentence | batched greedy sentences/s |")
    print("|---|---|---|---|---|")
    for device in devices:
        for score in args.scores:
            path = ASSETS / asset_name(args.direction, score)
            if not path.is_file():
                print(f"| {device.type} | {score} | (no {path.name}) | | |")
                continue
            t = load_translator(path, device)
            sources = encoded(t, device)
            ms_per_sentence(t, sources[:2], device, 5, 1)  # warm-up (CUDA kernels, allocator)
            row = [ms_per_sentence(t, sources, device, 1, args.repeats),
                   ms_per_sentence(t, sources, device, 5, args.repeats),
                   sentences_per_second(t, sources, device, args.batch, args.repeats)]
            print(f"| {device.type} | {score} | {spread(row[0])} | {spread(row[1])} | {spread(row[2], 0)} |")


if __name__ == "__main__":
    main()
