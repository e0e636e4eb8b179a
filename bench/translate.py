"""Translator speed: python -m bench.translate [--models additive dot] [--threads 1]

Per device (CPU, and CUDA when present) and score function: median ms to
translate one sentence alone, greedy and beam 5, and sentences per second
with batched greedy decoding. Every number is the median of ``--repeats``
runs over the same sentences; no data set needed.
"""
import argparse

import torch

from bench.timing import spread, timed_runs
from model.core import assets
from model.core.attention import SCORES
from model.core.loader import load
from model.translate.decode import beam_search, greedy

SENTENCES = [
    "je suis très fatigué .", "il fait froid aujourd'hui .", "où est la gare ?", "j'aime les chats .",
    "elle est plus grande que moi .", "nous allons à la plage demain .", "il ne sait pas nager .",
    "j'ai oublié mon parapluie dans le train .", "est-ce que tu parles français ?", "tom a acheté une voiture .",
    "je ne comprends pas ce que tu dis .", "ils sont arrivés en retard hier soir .",
    "pourquoi est-ce que tu ne m'as pas appelé ?", "c'est le meilleur livre que j'ai jamais lu .",
    "il faut que nous partions avant la nuit .", "ma sœur travaille dans un hôpital .",
]


def encoded(t, device):
    src = t.vocab["src"]
    return [torch.tensor([src.encode(t.preprocessing.tokenize(s)) + [src.end]], device=device) for s in SENTENCES]


def ms_per_sentence(t, sources, device, beam: int, repeats: int) -> list[float]:
    start, end = t.vocab["tgt"].start, t.vocab["tgt"].end

    def one_pass():
        for src in sources:
            lengths = torch.tensor([src.size(1)])
            if beam == 1:
                greedy(t.model, src, lengths, start, end)
            else:
                beam_search(t.model, src, lengths, start, end, beam)
    return [1000 * s / len(sources) for s in timed_runs(one_pass, device, repeats, warmup=0)]


def sentences_per_second(t, sources, device, batch: int, repeats: int) -> list[float]:
    rows = [sources[i % len(sources)][0] for i in range(batch)]
    lengths = torch.tensor([len(r) for r in rows])
    src = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True, padding_value=t.vocab["src"].pad)
    start, end = t.vocab["tgt"].start, t.vocab["tgt"].end
    return [batch / s for s in timed_runs(lambda: greedy(t.model, src, lengths, start, end), device, repeats,
                                          warmup=0)]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=list(SCORES), choices=SCORES, help="score functions")
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
        for score in args.models:
            path = assets.translator(score, args.direction)
            if not path.is_file():
                print(f"| {device.type} | {score} | (no {path.name}) | | |")
                continue
            t = load(path, device, kind="translator")
            sources = encoded(t, device)
            ms_per_sentence(t, sources[:2], device, 5, 1)  # warm-up (CUDA kernels, allocator)
            row = [ms_per_sentence(t, sources, device, 1, args.repeats),
                   ms_per_sentence(t, sources, device, 5, args.repeats),
                   sentences_per_second(t, sources, device, args.batch, args.repeats)]
            print(f"| {device.type} | {score} | {spread(row[0])} | {spread(row[1])} | {spread(row[2], 0)} |")


if __name__ == "__main__":
    main()
