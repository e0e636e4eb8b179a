"""Test-split scores of the translators, one table: score function x (BLEU, chrF, ms per sentence).

    python -m train.translate.evaluate --data ../shared/data/eng-fra
    python -m train.translate.evaluate --data ../shared/data/eng-fra --ship   # runs/ -> assets/

BLEU and chrF are sacreBLEU's corpus scores (default 13a tokenisation) of the
detokenised output against the detokenised reference, both lower-cased and
normalised by the model's tokenizer, one reference per test pair (a source
sentence with several translations is several pairs; "all refs" scores each
distinct source once against all of them). Greedy scores use the
whole test split; ms per sentence is the median time to translate one sentence
alone (no batching), over ``--timing`` evenly spaced test sentences; beam
search runs on at most ``--beam-limit`` evenly spaced test pairs (it decodes one
sentence at a time, which is slow on a CPU).

``--models`` takes any shipped translator name (``transformer`` too; by default the four GRUs).
``--ship`` copies ``<runs>/translator_<direction>_<name>[_tutorial]/best.pt``
to ``assets/<same name>.pt`` (fp16 weights), scores that file, writes the
metrics into it, its ``.card.md`` model card and ``assets/TATOEBA_ATTRIBUTION.md``.
"""
import argparse
import statistics
import time
from pathlib import Path

import sacrebleu
import torch

from model.core import assets
from model.core.attention import SCORES
from model.core.checkpoint import CheckpointError
from model.core.checkpoint import load_checkpoint, model_card, save_checkpoint
from model.core.loader import Bundle, load as load_bundle
from model.core.vocab import END
from model.translate.pipeline import KINDS, decoders_of
from model.translate.transformer import KIND as TRANSFORMER
from model.translate.text import detokenize
from train.translate.data import ATTRIBUTION, batches, encode_batch, load

TUTORIAL = {"bleu": 48.2, "chrf": 59.6, "exact_match": 32.0, "ms_greedy": 1.5}  # its own code, 2-core CPU, 688 s


def decode_all(t: Bundle, pairs, beam: int = 1, batch_size: int = 128) -> dict:
    """Every distinct source's decoding (greedy in batches, beam one sentence at a time), by source tokens."""
    src_vocab, tgt_vocab = t.vocab["src"], t.vocab["tgt"]
    start, end = tgt_vocab.start, tgt_vocab.end
    greedy, beam_search = decoders_of(t).greedy, decoders_of(t).beam_search
    out = {}
    if beam == 1:
        for batch in batches(pairs, batch_size):
            src, lengths, _, _ = encode_batch(batch, src_vocab, tgt_vocab, t.device)
            for (s, _), d in zip(batch, greedy(t.model, src, lengths, start, end)):
                out[tuple(s)] = d
    else:
        for s, _ in pairs:
            if tuple(s) not in out:
                src = torch.tensor([src_vocab.encode(s) + [src_vocab.end]], device=t.device)
                out[tuple(s)] = beam_search(t.model, src, torch.tensor([src.size(1)]), start, end, beam)
    return out


def output_words(t: Bundle, pairs, decoded: dict) -> list[list[str]]:
    """Each pair's output words, without the end token."""
    words = [[t.vocab["tgt"].itos[i] for i in decoded[tuple(s)].ids] for s, _ in pairs]
    return [w[:-1] if w and w[-1] == END else w for w in words]


def attention_peak(decoded: dict) -> float:
    """Mean, over output words, of the largest alignment weight: 1 when the softmax is saturated (one source
    word takes all the weight, and the others get almost no gradient), lower when attention is spread."""
    return round(statistics.fmean(w for d in decoded.values() for w in d.alignment.max(-1).values.tolist()), 3)


def ms_per_sentence(t: Bundle, pairs, beam: int, n: int) -> float:
    """Median wall time to translate one sentence alone (encoder + decoder), in ms."""
    device, src_vocab, tgt_vocab = t.device, t.vocab["src"], t.vocab["tgt"]
    greedy, beam_search = decoders_of(t).greedy, decoders_of(t).beam_search
    times = []
    for s, _ in pairs[::max(1, len(pairs) // n)][:n]:  # short and long sentences alike
        src = torch.tensor([src_vocab.encode(s) + [src_vocab.end]], device=device)
        lengths = torch.tensor([src.size(1)])
        start = time.perf_counter()
        if beam == 1:
            greedy(t.model, src, lengths, tgt_vocab.start, tgt_vocab.end)
        else:
            beam_search(t.model, src, lengths, tgt_vocab.start, tgt_vocab.end, beam)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def scores(hyps: list[list[str]], pairs) -> dict:
    refs = [detokenize(t) for _, t in pairs]
    out = [detokenize(h) for h in hyps]
    return {"bleu": round(sacrebleu.corpus_bleu(out, [refs]).score, 1),
            "chrf": round(sacrebleu.corpus_chrf(out, [refs]).score, 1),
            "exact_match": round(100 * sum(h == t for h, (_, t) in zip(hyps, pairs)) / len(pairs), 1),
            "bleu_allrefs": all_refs_bleu(out, pairs)}


def all_refs_bleu(out: list[str], pairs) -> float:
    """BLEU per distinct source sentence against all its test translations (Tatoeba often has several)."""
    groups = {}
    for hyp, (src, tgt) in zip(out, pairs):
        groups.setdefault(tuple(src), (hyp, []))[1].append(detokenize(tgt))
    n = max(len(refs) for _, refs in groups.values())
    streams = [[refs[i] if i < len(refs) else None for _, refs in groups.values()] for i in range(n)]
    return round(sacrebleu.corpus_bleu([hyp for hyp, _ in groups.values()], streams).score, 1)


def evaluate(t, pairs, beam: int = 5, timing: int = 200, beam_limit: int | None = None) -> dict:
    """Greedy and beam scores on ``pairs`` and single-sentence decoding times."""
    greedy = decode_all(t, pairs)
    m = {f"test_{k}_greedy": v for k, v in scores(output_words(t, pairs, greedy), pairs).items()}
    m["attention_peak_greedy"] = attention_peak(greedy)
    if beam > 1:
        step = -(-len(pairs) // beam_limit) if beam_limit else 1
        sub = pairs[::step]  # evenly spaced: the file runs from short to long sentences
        hyps = output_words(t, sub, decode_all(t, sub, beam))
        m.update({f"test_{k}_beam{beam}": v for k, v in scores(hyps, sub).items()})
        if len(sub) < len(pairs):
            m[f"test_beam{beam}_pairs"] = f"{len(sub)} (every {step}th test pair)"
    m["test_pairs"] = len(pairs)
    m["ms_per_sentence_greedy"] = round(ms_per_sentence(t, pairs, 1, timing), 2)
    if beam > 1:
        m[f"ms_per_sentence_beam{beam}"] = round(ms_per_sentence(t, pairs, beam, timing), 2)
    m["sacrebleu"] = f"sacrebleu {sacrebleu.__version__}, corpus_bleu/corpus_chrf defaults (13a), 1 reference"
    return m


def ship(run_ckpt: Path, name: str) -> Path:
    """fp16 copy of a run's best checkpoint, with the run's step count and minutes; scored afterwards."""
    ckpt = translator_checkpoint(run_ckpt)
    last = run_ckpt.parent / "last.pt"  # the run's step count and how long it trained in all
    if last.is_file():
        extra = load_checkpoint(last, kind=ckpt.kind).extra
        ckpt.metrics = {"run_steps": extra.get("step"), "run_minutes": round(extra.get("elapsed", 0) / 60, 1),
                        **ckpt.metrics}
    ckpt.extra = {"history": ckpt.extra.get("history", [])}
    path = assets.assets_dir() / f"{name}.pt"
    save_checkpoint(path, ckpt, half=True)
    return path


def translator_checkpoint(path: Path):
    """A checkpoint of either translator kind (GRU or Transformer)."""
    ckpt = load_checkpoint(path)
    if ckpt.kind not in KINDS:
        raise CheckpointError(path, f"holds a {ckpt.kind!r} model, expected a translator")
    return ckpt


def record(path: Path, metrics: dict) -> None:
    """Add the test metrics of the shipped (fp16) file to it and write its card."""
    ckpt = translator_checkpoint(path)
    ckpt.metrics = {**ckpt.metrics, **metrics}
    save_checkpoint(path, ckpt, half=True)
    write_card(path)


def write_card(path: Path) -> None:
    """The model card of a shipped checkpoint, and the data attribution next to it."""
    ckpt = translator_checkpoint(path)
    pre, c, m = ckpt.preprocessing, ckpt.config, ckpt.metrics
    history = "; ".join(f"epoch {h['epoch']}" + (f" ({h['score']})" if "score" in h else "")
                        + f": train loss {h['train_loss']}, val loss {h['val_loss']} after {h['minutes']} min"
                        for h in ckpt.extra.get("history", []))
    if ckpt.kind == "translator":
        what = (f"Seq2seq GRU translator ({pre.get('direction')}), attention score `{c['score']}`, "
                f"data protocol `{pre.get('protocol')}`. Trained with `python -m train.translate.train`")
    else:
        what = (f"Encoder-decoder Transformer translator ({pre.get('direction')}), pre-norm, {c['encoder_layers']}+"
                f"{c['decoder_layers']} layers, d_model {c['d_model']}, {c['heads']} heads, FFN {c['ffn_dim']}, "
                f"sinusoidal positions, tied target embeddings; the same tokenizer, split and vocabularies as the "
                f"GRU translators. Trained with `python -m train.translate.transformer`")
    shared = m.get("shared_epochs")
    if shared:
        what += (f" (`--init --fresh-score`): the first {shared} epochs are the base all four score functions share "
                 f"(the encoder, decoder and output layer trained with the additive score); then its own "
                 f"`{c['score']}` score, newly initialised, and every weight trained {m['epochs'] - shared} more "
                 f"epochs: one recipe for the four score functions (the README compares them)")
    notes = (f"{what}, evaluated and shipped with `python -m train.translate.evaluate --ship`.\n\n"
             f"Training budget: {m.get('epochs')} epochs ({m.get('run_steps') or m.get('steps')} steps), "
             f"{m.get('train_minutes')} min on {m.get('device')} with {m.get('threads')} thread(s).\n\n"
             f"Data: {ATTRIBUTION}. See `assets/TATOEBA_ATTRIBUTION.md`.\n\n"
             "BLEU/chrF: sacreBLEU corpus scores on the test split described below, lower-cased text normalised "
             "by the model's tokenizer, one reference per pair.\n\n"
             f"Training history (an epoch cut short by the time budget counts as one): {history or 'not recorded'}.")
    path.with_name(f"{path.stem}.card.md").write_text(model_card(ckpt, f"Translator {path.stem}", notes))
    path.with_name("TATOEBA_ATTRIBUTION.md").write_text(
        "# Tatoeba attribution\n\nThe `translator_*` models in this folder were trained on English-French "
        f"sentence pairs.\n\n{ATTRIBUTION}.\n\nLicense: Creative Commons Attribution 2.0 France "
        "(https://creativecommons.org/licenses/by/2.0/fr/). The pairs were collected by the Tatoeba Project and "
        "distributed as `eng-fra.txt` by manythings.org/anki; the models are derived from them and are not "
        "endorsed by either. The data contains some errors, as any crowd-sourced corpus does.\n")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/eng-fra")
    p.add_argument("--direction", default="fr-en", choices=["fr-en", "en-fr"])
    p.add_argument("--models", nargs="*", default=list(SCORES), choices=assets.TRANSLATORS,
                   help="translators to evaluate (default: the four GRUs)")
    p.add_argument("--tutorial", action="store_true", help="also the tutorial-protocol model (additive)")
    p.add_argument("--beam", type=int, default=5, help="beam width for the second set of scores (1: greedy only)")
    p.add_argument("--beam-limit", type=int, default=1000, help="beam-search at most N evenly spaced test pairs")
    p.add_argument("--timing", type=int, default=200, help="sentences timed one by one")
    p.add_argument("--ship", action="store_true", help="evaluate runs/*/best.pt and write them to assets/")
    p.add_argument("--runs", default="runs")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    jobs = [(assets.translator(s, args.direction).stem, "ours") for s in args.models]
    if args.tutorial:
        jobs.append((assets.translator("additive", "fr-en", "tutorial").stem, "tutorial"))
    data = {}
    rows = []
    for name, protocol in jobs:
        if protocol not in data:
            data[protocol] = load(args.data, protocol, args.direction)[0]["test"]
        path = Path(args.runs) / name / "best.pt" if args.ship else assets.assets_dir() / f"{name}.pt"
        if not path.is_file():
            print(f"skipping {name}: {path} not found")
            continue
        if args.ship:  # score the weights as shipped, in fp16
            path = ship(path, name)
        kind = TRANSFORMER if name == assets.translator("transformer", args.direction).stem else "translator"
        m = evaluate(load_bundle(path, kind=kind), data[protocol], args.beam, args.timing, args.beam_limit)
        if args.ship:
            record(path, m)
            print("wrote", path)
        rows.append((name, m))
    b = args.beam
    head = ["model", "BLEU", "chrF", "exact %", "BLEU all refs", "peak weight", "ms/sent"]
    head += [f"BLEU b{b}", f"chrF b{b}", f"ms/sent b{b}"] if b > 1 else []
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for name, m in rows:
        cells = [name, m["test_bleu_greedy"], m["test_chrf_greedy"], m["test_exact_match_greedy"],
                 m["test_bleu_allrefs_greedy"], m["attention_peak_greedy"], m["ms_per_sentence_greedy"]]
        if b > 1:
            cells += [m[f"test_bleu_beam{b}"], m[f"test_chrf_beam{b}"], m[f"ms_per_sentence_beam{b}"]]
        print("| " + " | ".join(map(str, cells)) + " |")
    if args.tutorial:
        print(f"| PyTorch tutorial (its code, greedy) | {TUTORIAL['bleu']} | {TUTORIAL['chrf']} | "
              f"{TUTORIAL['exact_match']} | | | {TUTORIAL['ms_greedy']} |" + (" | | |" if b > 1 else ""))


if __name__ == "__main__":
    main()
