"""θ, the sampler and the drawn grid agree with each other and with torch's affine_grid."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from model.stn.net import ALIGN_CORNERS, IDENTITY, STCNN, STNConfig, sample, theta_from_params
from viz.grid import corners, draw_grid, sample_points

ROT90 = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0]])


def affine_grid_pixels(theta, out_hw, in_hw):
    """torch's sampling positions, converted to input pixel coordinates (pixel centres at integers)."""
    theta = torch.as_tensor(theta, dtype=torch.float64)[None]
    g = F.affine_grid(theta, (1, 1, *out_hw), align_corners=ALIGN_CORNERS)[0]
    return torch.stack([((g[..., 0] + 1) * in_hw[1] - 1) / 2, ((g[..., 1] + 1) * in_hw[0] - 1) / 2], -1).numpy()


def test_identity_theta_gives_the_input_back():
    x = torch.rand(2, 3, 17, 23)
    out = sample(x, torch.tensor(IDENTITY).view(1, 2, 3).expand(2, 2, 3), (17, 23))
    assert torch.allclose(out, x, atol=1e-5)


def test_a_fresh_st_cnn_starts_from_the_identity():
    model = STCNN(STNConfig(input_size=42)).eval()
    theta, out = model.transform(torch.rand(4, 1, 42, 42))
    assert torch.allclose(theta, torch.tensor(IDENTITY).view(1, 2, 3).expand(4, 2, 3))
    assert out.shape == (4, 1, 28, 28)


def test_a_90_degree_theta_rotates_the_image_and_its_corners():
    x = torch.arange(36.0).view(1, 1, 6, 6)
    out = sample(x, ROT90[None], (6, 6))[0, 0].numpy()
    # output (x, y) reads input (-y, x): the output's top-left is the input's top-right
    assert np.allclose(out, np.rot90(x[0, 0].numpy()), atol=1e-4)
    assert np.allclose(corners(ROT90.numpy(), (6, 6), (6, 6)), [[5, 0], [5, 5], [0, 5], [0, 0]], atol=1e-9)
    assert torch.allclose(theta_from_params(rotation_deg=90, in_hw=(6, 6)), ROT90, atol=1e-6)


def test_rotation_from_sliders_stays_rigid_on_a_wide_image():
    h, w = 20, 40
    theta = theta_from_params(rotation_deg=30, in_hw=(h, w)).numpy()
    tl, tr, br, bl = corners(theta, (h, w), (h, w))
    assert np.linalg.norm(tr - tl) == pytest.approx(w - 1, abs=1e-6)
    assert np.linalg.norm(bl - tl) == pytest.approx(h - 1, abs=1e-6)
    top = (tr - tl) / np.linalg.norm(tr - tl)
    assert np.degrees(np.arctan2(top[1], top[0])) == pytest.approx(30, abs=1e-6)  # y points down: clockwise on screen
    assert np.dot(tr - tl, bl - tl) == pytest.approx(0, abs=1e-6)


@pytest.mark.parametrize("out_hw,in_hw", [((28, 28), (42, 42)), ((10, 30), (60, 20))])
def test_drawn_grid_points_match_affine_grid(out_hw, in_hw):
    theta = np.array([[0.4, -0.3, 0.2], [0.25, 0.5, -0.1]])
    expected = affine_grid_pixels(theta, out_hw, in_hw)
    assert np.allclose(sample_points(theta, out_hw, in_hw), expected, atol=1e-9)
    assert np.allclose(corners(theta, out_hw, in_hw), expected[[0, 0, -1, -1], [0, -1, -1, 0]], atol=1e-9)


def test_the_outline_is_drawn_where_affine_grid_puts_the_corners():
    theta = np.array([[0.5, -0.2, 0.1], [0.2, 0.5, 0.15]])
    drawn = draw_grid(np.zeros((42, 42), np.float32), theta, (28, 28), min_side=336)
    k = drawn.shape[0] / 42
    assert drawn.shape == (336, 336, 3) and k == 8
    marked = drawn.max(2) > 0
    for x, y in affine_grid_pixels(theta, (28, 28), (42, 42))[[0, 0, -1, -1], [0, -1, -1, 0]]:
        bx, by = round((x + 0.5) * k - 0.5), round((y + 0.5) * k - 0.5)
        assert marked[by - 1:by + 2, bx - 1:bx + 2].any(), (x, y)
    assert not marked[:20, :20].any() and not marked[-20:, -20:].any()  # the image's corners lie outside the grid
