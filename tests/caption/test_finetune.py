"""Encoder fine-tuning (--finetune-from): cached lower activations, trained upper blocks, one checkpoint."""
import dataclasses
import json

import numpy as np
import pytest
import torch
from PIL import Image

from model.caption.decode import beam_search
from model.caption.encoder import PREPROCESSING, Encoder, EncoderTop, annotations
from model.caption.pipeline import Captioners, caption
from model.core.checkpoint import load_checkpoint, save_checkpoint
from model.core.loader import load
from train.caption import evaluate as evaluate_captioner
from train.caption import train as train_captioner
from train.caption.finetune import ActivationCache

BLOCK = 8  # Lite0: blocks 8.. (the last stride-16 stage and all of stride 32) and the head are trained


@pytest.fixture(scope="module")
def tuned(tiny_flickr, tmp_path_factory):
    """A soft run with --finetune-from 8: 3 steps, then resumed to the end of 2 epochs."""
    tmp = tmp_path_factory.mktemp("finetune")
    common = ["--data", str(tiny_flickr), "--runs", str(tmp), "--name", "run", "--finetune-from", str(BLOCK),
              "--activations", str(tmp / "acts"), "--batch", "8", "--hidden", "32", "--embed", "16",
              "--attn-dim", "16", "--val-images", "2", "--min-count", "1", "--epochs", "2", "--lr", "1e-3",
              "--encoder-lr", "1e-4"]
    train_captioner.main(common + ["--max-steps", "3"])
    mid = load_checkpoint(tmp / "run" / "last.pt", kind="captioner")
    built = (tmp / "acts" / "acts.npy").stat().st_mtime_ns
    train_captioner.main(common)
    return tmp, mid, built


def test_the_activation_cache_is_built_once_with_a_mirrored_copy(tuned, tiny_flickr):
    tmp, _, built = tuned
    assert (tmp / "acts" / "acts.npy").stat().st_mtime_ns == built  # the resumed run reused it
    splits = json.loads((tiny_flickr / "splits.json").read_text())
    cache = ActivationCache(tmp / "acts", tiny_flickr, splits["train"] + splits["val"], PREPROCESSING, BLOCK)
    assert cache.acts.shape == (10, 2, 80, 14, 14) and cache.acts.dtype == np.float16
    name = splits["train"][0]
    image = np.asarray(Image.open(tiny_flickr / "images" / name).convert("RGB"))
    x = PREPROCESSING.image_tensor(image)[None]
    with torch.no_grad():
        plain, mirrored = (Encoder().lower(v, BLOCK) for v in (x, x.flip(-1)))
    torch.testing.assert_close(cache.load([name]).float(), plain, atol=2e-2, rtol=1e-2)
    torch.testing.assert_close(cache.load([name], torch.tensor([True])).float(), mirrored, atol=2e-2, rtol=1e-2)


def test_only_the_upper_blocks_and_decoder_learn_and_batch_norm_stays_frozen(tuned):
    tmp, mid, _ = tuned
    last = load_checkpoint(tmp / "run" / "last.pt", kind="captioner")
    assert last.extra["global_step"] == 10 and mid.extra["global_step"] == 3  # resumed, not restarted
    assert last.config["finetune_from"] == BLOCK
    package = EncoderTop(Encoder(), BLOCK).state_dict()
    top = {k[len("top."):]: v for k, v in last.state_dict.items() if k.startswith("top.")}
    assert set(top) == set(package)  # the upper blocks travel with the decoder; nothing from below does
    stats = [k for k in package if "running_" in k]
    weights = [k for k in package if k.endswith("weight") and "_bn" not in k and package[k].dim() == 4]
    assert stats and all(torch.equal(top[k].float(), package[k]) for k in stats)  # ImageNet statistics kept
    assert sum(not torch.equal(top[k].float(), package[k]) for k in weights) > len(weights) // 2  # trained
    assert not torch.equal(mid.state_dict["L_o.weight"], last.state_dict["L_o.weight"])
    lrs = [g["lr"] for g in last.extra["optim"]["param_groups"]]
    assert lrs == [1e-3, 1e-4]  # decoder, then the encoder blocks at their smaller rate


def test_a_tuned_checkpoint_round_trips_and_captions_as_in_memory(tuned, tiny_flickr):
    tmp, _, _ = tuned
    path = tmp / "run" / "best.pt"
    bundle = load(path, "cpu", kind="captioner")
    assert bundle.model.top is not None and path.stat().st_size < 50e6
    image = np.asarray(Image.open(next((tiny_flickr / "images").iterdir())).convert("RGB"))
    seen = PREPROCESSING.squash(image)
    with torch.no_grad():  # by hand: the package's lower blocks, the checkpoint's upper ones, the decoder
        ann = annotations(*bundle.model.top(Encoder().lower(PREPROCESSING.normalise(seen)[None], BLOCK)))
        frozen = annotations(*Encoder()(PREPROCESSING.normalise(seen)[None]))
    vocab = bundle.vocab["words"]
    expected = beam_search(bundle.model, ann, vocab.start, vocab.end, beam=3)
    assert not torch.allclose(ann, frozen)  # its own encoder, not the shared frozen one
    run = caption(Captioners.load({"soft": path}, "cpu"), image, ("soft",))
    assert run.captions["soft"].tokens == expected.tokens
    np.testing.assert_allclose(run.captions["soft"].alphas.reshape(len(expected.tokens), -1), expected.alphas,
                               atol=1e-5)


def test_a_frozen_and_a_tuned_model_share_the_lower_blocks_and_the_old_one_captions_unchanged(tuned, tiny_dir,
                                                                                            tiny_flickr, tmp_path):
    tmp, _, _ = tuned
    image = np.asarray(Image.open(next((tiny_flickr / "images").iterdir())).convert("RGB"))
    old = tmp_path / "old.pt"  # a checkpoint written before the option: no finetune_from in its config
    ckpt = load_checkpoint(tiny_dir / "captioner_soft.pt", kind="captioner")
    save_checkpoint(old, dataclasses.replace(ckpt, config={k: v for k, v in ckpt.config.items()
                                                             if k != "finetune_from"}))
    alone = caption(Captioners.load({"soft": old}, "cpu"), image, ("soft",)).captions["soft"]
    bundle = load(old, "cpu", kind="captioner")
    with torch.no_grad():
        ann = annotations(*Encoder()(PREPROCESSING.image_tensor(image)[None]))
    vocab = bundle.vocab["words"]
    assert alone.tokens == beam_search(bundle.model, ann, vocab.start, vocab.end, beam=3).tokens
    both = Captioners.load({"soft": old, "hard": tmp / "run" / "best.pt"}, "cpu")
    run = caption(both, image, ("soft", "hard"))
    assert run.captions["soft"].tokens == alone.tokens
    np.testing.assert_allclose(run.captions["soft"].alphas, alone.alphas, atol=1e-6)
    tuned_alone = caption(Captioners.load({"soft": tmp / "run" / "best.pt"}, "cpu"), image).captions["soft"]
    assert run.captions["hard"].tokens == tuned_alone.tokens


def test_the_evaluator_scores_a_tuned_model_through_its_own_blocks(tuned, tiny_flickr, tmp_path):
    tmp, _, _ = tuned
    evaluate_captioner.main(["--data", str(tiny_flickr), "--split", "test", "--soft", str(tmp / "run" / "best.pt"),
                             "--hard", str(tmp_path / "none.pt"), "--save-scores", str(tmp_path / "s.json")])
    scores = json.loads((tmp_path / "s.json").read_text())["soft"]
    assert {"BLEU-4", "repeated bigram %"} <= set(scores)
