from dataclasses import dataclass

import pytest
import torch

from model.core import assets
from model.core.checkpoint import (Checkpoint, CheckpointError, config_from, file_sha256, load_checkpoint,
                                   load_weights, model_card, save_checkpoint)
from model.core.device import pick_device


@dataclass
class TinyConfig:
    n_in: int = 3
    n_out: int = 2


def tiny_ckpt(config=TinyConfig()):
    torch.manual_seed(0)
    model = torch.nn.Linear(config.n_in, config.n_out)
    return model, Checkpoint(kind="tiny", config=config, state_dict=model.state_dict(),
                             vocab={"words": ["<pad>", "<start>", "<end>", "<unk>", "cat"]},
                             preprocessing={"size": 224}, data={"name": "toy"}, metrics={"bleu4": 12.5})


def test_round_trip_keeps_everything(tmp_path):
    model, ckpt = tiny_ckpt()
    save_checkpoint(tmp_path / "m.pt", ckpt)
    got = load_checkpoint(tmp_path / "m.pt", kind="tiny")
    assert config_from(TinyConfig, got) == TinyConfig()
    assert got.vocab == ckpt.vocab and got.preprocessing == {"size": 224} and got.metrics == {"bleu4": 12.5}
    rebuilt = load_weights(torch.nn.Linear(3, 2), got)
    x = torch.randn(4, 3)
    torch.testing.assert_close(rebuilt(x), model(x))


def test_half_precision_file_loads_into_float_model(tmp_path):
    model, ckpt = tiny_ckpt()
    save_checkpoint(tmp_path / "m.pt", ckpt, half=True)
    rebuilt = load_weights(torch.nn.Linear(3, 2), load_checkpoint(tmp_path / "m.pt"))
    assert rebuilt.weight.dtype == torch.float32
    torch.testing.assert_close(rebuilt.weight, model.weight, atol=1e-3, rtol=1e-3)


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"nothere\.pt.*not found"):
        load_checkpoint(tmp_path / "nothere.pt")


def test_corrupt_and_truncated_files_say_so(tmp_path):
    _, ckpt = tiny_ckpt()
    save_checkpoint(tmp_path / "m.pt", ckpt)
    data = (tmp_path / "m.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.pt").write_bytes(b"definitely not a checkpoint")
    for name in ("cut.pt", "junk.pt"):
        with pytest.raises(CheckpointError, match=rf"{name}.*corrupt or truncated"):
            load_checkpoint(tmp_path / name)


def test_altered_weights_fail_the_sha256_check(tmp_path):
    _, ckpt = tiny_ckpt()
    save_checkpoint(tmp_path / "m.pt", ckpt)
    blob = torch.load(tmp_path / "m.pt", weights_only=True)
    blob["state_dict"]["weight"][0, 0] += 1.0
    torch.save(blob, tmp_path / "m.pt")
    with pytest.raises(CheckpointError, match="sha256"):
        load_checkpoint(tmp_path / "m.pt")


def test_wrong_kind_and_mismatched_model_are_explained(tmp_path):
    _, ckpt = tiny_ckpt()
    save_checkpoint(tmp_path / "m.pt", ckpt)
    with pytest.raises(CheckpointError, match="holds a 'tiny' model, expected 'captioner'"):
        load_checkpoint(tmp_path / "m.pt", kind="captioner")
    with pytest.raises(CheckpointError, match=r"m\.pt.*do not fit"):
        load_weights(torch.nn.Linear(5, 2), load_checkpoint(tmp_path / "m.pt"))


def test_a_plain_torch_file_is_not_taken_for_a_checkpoint(tmp_path):
    torch.save({"weight": torch.zeros(2)}, tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match="not an attention-lens checkpoint"):
        load_checkpoint(tmp_path / "plain.pt")


def test_unknown_config_field_is_named(tmp_path):
    _, ckpt = tiny_ckpt()
    ckpt.config = {"n_in": 3, "n_out": 2, "depth": 7}
    save_checkpoint(tmp_path / "m.pt", ckpt)
    with pytest.raises(CheckpointError, match="depth"):
        config_from(TinyConfig, load_checkpoint(tmp_path / "m.pt"))


def test_model_card_lists_metrics_vocab_and_sha(tmp_path):
    _, ckpt = tiny_ckpt()
    save_checkpoint(tmp_path / "m.pt", ckpt)
    card = model_card(load_checkpoint(tmp_path / "m.pt"), "Tiny")
    assert "bleu4 | 12.5" in card and "sha256" in card and "cat" in card


def test_device_choice_and_override(monkeypatch):
    monkeypatch.delenv("ATTENTION_LENS_DEVICE", raising=False)
    assert pick_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.setenv("ATTENTION_LENS_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")
    monkeypatch.setenv("ATTENTION_LENS_DEVICE", "toaster")
    with pytest.raises(ValueError, match="toaster"):
        pick_device()
    if not torch.cuda.is_available():
        monkeypatch.setenv("ATTENTION_LENS_DEVICE", "cuda")
        with pytest.raises(ValueError, match="CUDA is not available"):
            pick_device()
    monkeypatch.setenv("ATTENTION_LENS_DEVICE", "toaster")
    assert pick_device("cpu") == torch.device("cpu")  # a CLI's --device wins over the environment
    with pytest.raises(ValueError, match="--device='gpu'"):
        pick_device("gpu")


def test_batchnorm_counters_and_other_scalars_round_trip(tmp_path):
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    save_checkpoint(tmp_path / "bn.pt", Checkpoint(kind="tiny", config={}, state_dict=model.state_dict()))
    got = load_checkpoint(tmp_path / "bn.pt")
    assert int(got.state_dict["1.num_batches_tracked"]) == 0


def test_every_shipped_card_names_its_files_hashes():
    """A card's hashes are the ones a user can check: the file's, and the weights' that load verifies."""
    shipped = sorted(assets.SHIPPED.glob("*.pt"))
    assert shipped
    for path in shipped:
        card = path.with_name(path.stem + ".card.md").read_text()
        assert file_sha256(path) in card, path.name
        assert torch.load(path, weights_only=True)["sha256"] in card, path.name
