"""Translate a sentence, or a file of sentences, from the command line and show the attention.

    python -m model.translate "je suis très fatigué ." --model additive --beam 5 --json [--out DIR]
    python -m model.translate "je suis très fatigué ." --model transformer --json
    python -m model.translate --file sentences.txt --model transformer --json

prints the translation (with --json one object: translation, source_tokens, target_tokens,
alignment, unknown_words, truncated, and for the Transformer also attention; see
model.translate.pipeline). --model names any shipped translator (--score is the older name, for the
four GRU models). --file reads one sentence per line (UTF-8) and prints one line per input line,
decoding the sentences in batches; with --json each object also has "line" (from 1), and a line
that cannot be translated (empty, not UTF-8, no word) gets {"line": n, "error": "..."} instead of
stopping the run. --out DIR also writes the alignment matrix as a PNG. Bad input exits 2.
--explain (one sentence, GRU models) adds per target token loo and grad (one value per source token),
tau ({loo, grad}), permuted_tvd and the uniform-attention figures (model.translate.explain).
"""
import argparse
import sys
from dataclasses import fields
from pathlib import Path

from tqdm import tqdm

from model.core import assets
from model.core.attention import SCORES
from model.core.checkpoint import CheckpointError
from model.core.cli import UsageError, argument_text, common_args, dumps, fail, out_dir, read_input, setup_output
from model.core.decoding import MAX_BEAM, TRANSLATE_ALPHA
from model.core.device import pick_device
from model.core.loader import load
from model.translate.explain import explain_translation
from model.translate.pipeline import DIRECTIONS, TranslateOptions, check_translator, translate, translate_many
from viz.alignment import alignment_png


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Translate a sentence (or a file of them) and show its attention.")
    p.add_argument("text", nargs="?", type=argument_text, help="the sentence (or use --file)")
    p.add_argument("--file", type=Path, help="a UTF-8 text file, one sentence per line")
    p.add_argument("--model", default="additive", choices=assets.TRANSLATORS, help="the shipped translator")
    p.add_argument("--score", dest="model", choices=SCORES, default=argparse.SUPPRESS,
                   help="the same as --model, for the four GRU translators named by their score function")
    p.add_argument("--direction", default="fr-en", choices=DIRECTIONS)
    p.add_argument("--beam", type=int, default=1, help=f"1 = greedy; up to {MAX_BEAM}")
    p.add_argument("--length-alpha", type=float, default=TRANSLATE_ALPHA,
                   help="rank finished beams by log p / length**alpha (0: by the total)")
    p.add_argument("--checkpoint", type=Path, help="a checkpoint file instead of the shipped one")
    p.add_argument("--explain", action="store_true", help="add leave-one-out, gradient × input, Kendall tau and "
                                                          "permuted/uniform attention figures per target token")
    common_args(p)
    args = p.parse_args(argv)
    if args.explain and args.file is not None:
        p.exit(2, "error: --explain takes one sentence, not --file\n")
    if (args.text is None) == (args.file is None):
        p.error("give one sentence or --file, not both" if args.text is not None else "give a sentence or --file")
    try:
        args.options = TranslateOptions(args.beam, args.length_alpha)
    except ValueError as e:
        p.error(str(e))
    return args


def as_json(result) -> dict:
    """The result as JSON fields; ``attention`` only for the models that have it."""
    d = {f.name: getattr(result, f.name) for f in fields(result)}  # asdict would deep-copy every weight
    if d["attention"] is None:
        del d["attention"]
    return d


def read_lines(path: Path) -> list[str | UnicodeDecodeError]:
    """The file's lines, each decoded on its own, so one bad line does not cost the others."""
    data = read_input(path)
    pieces = data.split(b"\n")
    if pieces and pieces[-1] == b"":
        pieces.pop()  # the newline that ends the last line starts no new one
    lines = []
    for piece in pieces:
        try:
            lines.append(piece.rstrip(b"\r").decode("utf-8"))
        except UnicodeDecodeError as e:
            lines.append(e)
    if lines and isinstance(lines[0], str):
        lines[0] = lines[0].removeprefix("\ufeff")  # a byte-order mark is not part of the sentence
    return lines


def write_png(out: Path, bundle, result, name: str) -> None:
    title = f"{bundle.name}: {result.translation}"
    (out / name).write_bytes(alignment_png(result.alignment, result.source_tokens, result.target_tokens, title))


def show(result, args, extra: dict | None = None) -> None:
    if args.json:
        print(dumps(as_json(result) | (extra or {})), flush=True)
        return
    print(result.translation)
    if result.unknown_words:
        print(f"(unknown words, read as <unk>: {', '.join(result.unknown_words)})")
    if result.truncated:
        print(f"(input cut to its first {len(result.source_tokens) - 1} tokens)")


def run_file(bundle, lines, args, out) -> int:
    """One output line per input line, in order; bad lines are reported where they are."""
    texts = [line if isinstance(line, str) else "" for line in lines]
    with tqdm(total=len(texts), desc="translating", unit="line", disable=None, file=sys.stderr) as bar:
        results = translate_many(bundle, texts, args.options, progress=bar.update)
    for n, (line, result) in enumerate(zip(lines, results), start=1):
        if isinstance(line, UnicodeDecodeError):
            error = f"not UTF-8 text (byte {line.start + 1} of the line cannot be decoded)"
        elif isinstance(result, ValueError):
            error = "empty line" if not line.strip() else str(result)
        else:
            error = None
        if error is not None:
            if args.json:
                print(dumps({"line": n, "error": error}), flush=True)
            else:
                print()  # keeps output line n next to input line n
                print(f"line {n}: {error}", file=sys.stderr)
            continue
        if out:
            write_png(out, bundle, result, f"alignment_{args.direction}_{args.model}_{n}.png")
        if args.json:
            print(dumps({"line": n, **as_json(result)}), flush=True)
        else:
            print(result.translation)
    return 0


def main(argv=None) -> int:
    setup_output()
    args = parse_args(argv)
    try:
        out = out_dir(args.out)
        lines = read_lines(args.file) if args.file is not None else None  # a bad file fails before loading
        path = args.checkpoint or assets.translator(args.model, args.direction)
        bundle = check_translator(load(path, pick_device(args.device)))
        if lines is not None:
            return run_file(bundle, lines, args, out)
        result = translate(bundle, args.text, args.options)
        extra = explain_translation(bundle, result).to_json() if args.explain else {}
    except (CheckpointError, UsageError, ValueError) as e:
        return fail(str(e))
    if out:
        write_png(out, bundle, result, f"alignment_{args.direction}_{args.model}.png")
    show(result, args, extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
