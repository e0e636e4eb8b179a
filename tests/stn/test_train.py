"""The distortion generators and the training loop, on tiny digits drawn here (no MNIST needed)."""
import copy
import gzip
import struct

import cv2
import numpy as np
import pytest
import torch

from model.core.checkpoint import Checkpoint, load_checkpoint, load_weights, save_checkpoint
from model.stn.net import STCNN, STNConfig, weights
from train.stn.mnist import SIZES, VARIANTS, distort, fixed_set, load_mnist
from train.stn.train import EMA, batches, error_rate, lr_at, train_epoch, training_digits


def tiny_digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n 28×28 uint8 digits written with a Hershey font at a random size, thickness and offset."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    images = np.zeros((n, 28, 28), np.uint8)
    for img, label in zip(images, labels):
        scale, thick = rng.uniform(0.7, 0.9), int(rng.integers(1, 3))
        x, y = rng.integers(6, 10), rng.integers(20, 24)
        cv2.putText(img, str(label), (int(x), int(y)), cv2.FONT_HERSHEY_SIMPLEX, scale, 255, thick, cv2.LINE_AA)
    return images, labels.astype(np.uint8)


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_generator_is_deterministic_per_seed(variant):
    digits, _ = tiny_digits(12)
    a = distort(digits, variant, np.random.default_rng(7))
    b = distort(digits, variant, np.random.default_rng(7))
    c = distort(digits, variant, np.random.default_rng(8))
    size = SIZES[variant]
    assert a.shape == (12, size, size) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(fixed_set(digits, variant, 3), fixed_set(digits, variant, 3))
    assert (a.reshape(12, -1).max(1) > 100).all()  # every digit is still there


def test_rts_keeps_the_ink_inside_the_canvas():
    digits, _ = tiny_digits(200)
    out = distort(digits, "rts", np.random.default_rng(0)).astype(np.float64)
    # ink scales with the area (0.7-1.2)²; nothing may be cut off at the canvas edge
    ratio = out.sum((1, 2)) / digits.astype(np.float64).sum((1, 2))
    assert ratio.min() > 0.7 ** 2 * 0.85 and ratio.max() < 1.2 ** 2 * 1.15
    assert out[:, 0].max() < 50 and out[:, -1].max() < 50 and out[:, :, 0].max() < 50 and out[:, :, -1].max() < 50


def test_cluttered_has_the_whole_digit_and_some_clutter():
    digits, _ = tiny_digits(50)
    out = distort(digits, "cluttered", np.random.default_rng(0)).astype(np.int64)
    ink = digits.astype(np.int64).sum((1, 2))
    assert (out.sum((1, 2)) >= ink).all()  # combined by max: the digit is never dimmed
    assert (out.sum((1, 2)) > ink).mean() > 0.9  # and clutter was added almost always


def test_idx_files_round_trip(tmp_path):
    images, labels = tiny_digits(5)
    with gzip.open(tmp_path / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">IIII", 2051, 5, 28, 28) + images.tobytes())
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, 5) + labels.tobytes())
    got_images, got_labels = load_mnist(tmp_path, "t10k")
    assert np.array_equal(got_images, images) and np.array_equal(got_labels, labels)
    with pytest.raises(FileNotFoundError):
        load_mnist(tmp_path, "train")


def test_the_lr_schedule_warms_up_then_decays():
    lrs = [lr_at(s, s / 1000, 1e-3, warmup=100) for s in range(1000)]
    assert lrs[0] < lrs[50] < lrs[99] == pytest.approx(1e-3)
    assert lrs[100] > lrs[500] > lrs[999] >= 0.02e-3 * 0.999


@pytest.fixture
def one_thread():
    """Small batches on a busy shared CPU run far faster on one thread than on several."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_training_lowers_the_loss_on_a_tiny_set(tmp_path, one_thread):
    torch.manual_seed(0)
    digits, labels = tiny_digits(100)
    images = distort(digits, "rts", np.random.default_rng(0))
    model = STCNN(STNConfig(input_size=42, channels=8, hidden=32, loc_channels=8, loc_hidden=16, dropout=0.0))
    opt = torch.optim.Adam(model.parameters(), lr=4e-3)
    before = error_rate(model, images, labels, "cpu")
    losses, step = [], 0
    for epoch in range(20):
        loss, step = train_epoch(model, opt, batches(images, labels, 20, np.random.default_rng(epoch)), "cpu",
                                 lambda s: 4e-3, step)
        losses.append(loss)
    assert step == 20 * 5
    assert losses[-1] < 0.5 * losses[0], losses
    assert error_rate(model, images, labels, "cpu") < before

    # what the training run saves is what the app loads: same outputs after a round trip
    save_checkpoint(tmp_path / "m.pt", Checkpoint(kind="stn", config=model.cfg, state_dict=weights(model)))
    again = load_weights(STCNN(model.cfg), load_checkpoint(tmp_path / "m.pt", kind="stn")).eval()
    x = torch.from_numpy(images[:8]).float().div(255).unsqueeze(1)
    assert torch.allclose(model.eval()(x), again(x), atol=1e-5)


def train_tiny_st(*averages: float):
    """A fresh tiny ST-CNN trained one epoch (4 steps) on 40 RTS digits; returns the model, its weights
    before training, and moving averages of it with the given decays, made before training (the first
    one updated at every step, the others left for the test to update)."""
    torch.manual_seed(0)
    digits, labels = tiny_digits(40)
    images = distort(digits, "rts", np.random.default_rng(0))
    model = STCNN(STNConfig(input_size=42, channels=8, hidden=32, loc_channels=8, loc_hidden=16))
    start = copy.deepcopy(model.state_dict())
    emas = [EMA(model, d) for d in averages]
    opt = torch.optim.Adam(model.parameters(), lr=4e-3)
    train_epoch(model, opt, batches(images, labels, 10), "cpu", lambda s: 4e-3, 0, ema=emas[0])
    return model, start, emas


def test_the_moving_average_trails_the_weights_and_their_batch_norm_statistics(one_thread):
    model, start, (slow, exact) = train_tiny_st(0.9, 0.0)
    exact.update(model)
    now, avg = model.state_dict(), slow.module.state_dict()
    assert all(torch.equal(exact.module.state_dict()[k], v) for k, v in now.items())
    for name in ("classifier.head.1.weight", "classifier.features.0.1.running_mean"):
        moved, lag = (now[name] - start[name]).norm(), (now[name] - avg[name]).norm()
        assert 0 < lag < moved, name  # the average moved, but less far than the weights did
    assert not any(p.requires_grad for p in slow.module.parameters())


def test_the_moving_average_of_a_fresh_model_warms_up_instead_of_keeping_its_random_start(one_thread):
    model, start, (warm,) = train_tiny_st(0.9995)
    name = "classifier.head.1.weight"
    moved = (model.state_dict()[name] - start[name]).norm()
    assert (warm.module.state_dict()[name] - start[name]).norm() > 0.5 * moved  # 0.9995 alone: 0.2 %


def test_elastic_augmentation_warps_the_chosen_fraction_before_the_variant():
    digits, _ = tiny_digits(200)
    plain = training_digits(digits, "rts", np.random.default_rng(5))
    assert np.array_equal(plain, distort(digits, "rts", np.random.default_rng(5)))
    half = training_digits(digits, "rts", np.random.default_rng(5), elastic=0.5)
    assert half.shape == (200, 42, 42)
    assert np.array_equal(half, training_digits(digits, "rts", np.random.default_rng(5), elastic=0.5))
    assert not np.array_equal(half, plain)
    assert (half.reshape(200, -1).max(1) > 100).all()  # every digit is still there
