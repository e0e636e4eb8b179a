"""Translator speed: python -m bench.translate [--models additive dot] [--threads 1]

Per device (CPU, and CUDA when present) and score function: median ms to
translate one sentence alone, greedy and beam 5, and sentences per second
with batched greedy decoding. Every number is the median of ``--repeats``
runs over the same sentences; no data set needed.

Then, side by side with the PyTorch tutorial's decoder (TutorialSeq2seq below: the code of "NLP From
Scratch: Translation with a Sequence to Sequence Network and Attention", hidden size 128, its
vocabulary sizes, random weights: time does not depend on their values), greedy on the same
sentences at the same lengths: the tutorial reads the same source ids and runs as many decoder steps
as our model produced for each sentence. The two take turns on every sentence (interleaved), so a
busy machine slows both alike; the ratio is ours / tutorial per pass, its median over the passes.
"""
import argparse
import os
import statistics

import torch
import torch.nn as nn
import torch.nn.functional as F

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


class TutorialSeq2seq(nn.Module):
    """EncoderRNN + AttnDecoderRNN (BahdanauAttention) of the PyTorch seq2seq tutorial, as its code has them;
    ``greedy`` is its evaluate(): encode, decode ``steps`` steps feeding back topk(1), log_softmax at the end."""

    def __init__(self, src_vocab: int = 4345, tgt_vocab: int = 2803, hidden: int = 128, dropout: float = 0.1):
        super().__init__()  # defaults: the tutorial's hidden size and its fra/eng vocabulary sizes
        self.enc_embedding, self.enc_gru = nn.Embedding(src_vocab, hidden), nn.GRU(hidden, hidden, batch_first=True)
        self.embedding, self.dropout = nn.Embedding(tgt_vocab, hidden), nn.Dropout(dropout)
        self.Wa, self.Ua, self.Va = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, 1)
        self.gru, self.out = nn.GRU(2 * hidden, hidden, batch_first=True), nn.Linear(hidden, tgt_vocab)

    def attention(self, query, keys):
        scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys))).squeeze(2).unsqueeze(1)
        weights = F.softmax(scores, dim=-1)
        return torch.bmm(weights, keys), weights

    def forward_step(self, input, hidden, encoder_outputs):
        embedded = self.dropout(self.embedding(input))
        context, attn_weights = self.attention(hidden.permute(1, 0, 2), encoder_outputs)
        output, hidden = self.gru(torch.cat((embedded, context), dim=2), hidden)
        return self.out(output), hidden, attn_weights

    @torch.no_grad()
    def greedy(self, src: torch.Tensor, steps: int, start: int = 1):
        encoder_outputs, hidden = self.enc_gru(self.dropout(self.enc_embedding(src)))
        decoder_input = torch.full((src.size(0), 1), start, dtype=torch.long, device=src.device)
        outputs, attentions = [], []
        for _ in range(steps):
            output, hidden, attn = self.forward_step(decoder_input, hidden, encoder_outputs)
            outputs.append(output)
            attentions.append(attn)
            decoder_input = output.topk(1)[1].squeeze(-1).detach()
        outputs = F.log_softmax(torch.cat(outputs, dim=1), dim=-1)
        return outputs.topk(1)[1].squeeze(-1), torch.cat(attentions, dim=1)


def interleaved(fns, device, repeats: int) -> list[list[float]]:
    """Seconds of each of ``fns`` per pass, the functions taking turns within every pass (one warm-up pass)."""
    runs = [timed_runs(fn, device, 1, warmup=0)[0] for _ in range(repeats + 1) for fn in fns]
    return [runs[len(fns) + k::len(fns)] for k in range(len(fns))]


def side_by_side(t, sources, device, repeats: int, batch: int) -> str:
    """Ours vs the tutorial's greedy at the same source and target lengths, per sentence and batched."""
    torch.manual_seed(0)
    tutorial = TutorialSeq2seq().to(device).eval()
    start, end = t.vocab["tgt"].start, t.vocab["tgt"].end
    lengths = [torch.tensor([s.size(1)]) for s in sources]
    steps = [len(greedy(t.model, s, n, start, end)[0].ids) for s, n in zip(sources, lengths)]
    tut_src = [s.clamp_max(4344) for s in sources]  # its vocabulary is smaller; the ids' values do not matter
    ours_s, tut_s = [0.0] * (repeats + 1), [0.0] * (repeats + 1)
    for k, src in enumerate(sources):  # per sentence, the two take turns
        a, b = interleaved([lambda: greedy(t.model, src, lengths[k], start, end),
                            lambda: tutorial.greedy(tut_src[k], steps[k])], device, repeats)
        ours_s = [x + y for x, y in zip(ours_s, a)]
        tut_s = [x + y for x, y in zip(tut_s, b)]
    ours_ms, tut_ms = [1000 * x / len(sources) for x in ours_s], [1000 * x / len(sources) for x in tut_s]
    ratio = statistics.median(x / y for x, y in zip(ours_ms, tut_ms))
    src, src_lengths = padded(t, sources, batch)
    a, b = interleaved([lambda: greedy(t.model, src, src_lengths, start, end),
                        lambda: tutorial.greedy(src.clamp_max(4344), max(steps))], device, repeats)
    return (f"| {device.type} | {spread(ours_ms, 2)} | {spread(tut_ms, 2)} | ×{ratio:.2f} | "
            f"{spread([batch / x for x in a], 0)} | {spread([batch / x for x in b], 0)} |")


def encoded(t, device):
    src = t.vocab["src"]
    return [torch.tensor([src.encode(t.preprocessing.tokenize(s)) + [src.end]], device=device) for s in SENTENCES]


def padded(t, sources, batch: int):
    """A padded batch of ``batch`` rows cycling through ``sources``, and its lengths."""
    rows = [sources[i % len(sources)][0] for i in range(batch)]
    src = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True, padding_value=t.vocab["src"].pad)
    return src, torch.tensor([len(r) for r in rows])


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
    src, lengths = padded(t, sources, batch)
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
          f"CPU threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}")
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
    path = assets.translator("additive", args.direction)
    if args.direction == "fr-en" and path.is_file():
        print(f"\nOurs (additive, {path.name}) vs the PyTorch tutorial's decoder, greedy at the same lengths, "
              f"{len(SENTENCES)} sentences interleaved, median (min–max) of {args.repeats} passes, "
              f"CPU threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}")
        print("| device | ours ms/sentence | tutorial ms/sentence | ours / tutorial | ours batched sentences/s | "
              "tutorial batched sentences/s |")
        print("|---|---|---|---|---|---|")
        for device in devices:
            t = load(path, device, kind="translator")
            print(side_by_side(t, encoded(t, device), device, args.repeats, args.batch), flush=True)


if __name__ == "__main__":
    main()
