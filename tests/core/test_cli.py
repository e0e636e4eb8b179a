"""What every command line shares (model.core.cli): JSON from plain types, one-line failures, safe input."""
import json
import os

import numpy as np
import pytest
import torch

from model.core.cli import UsageError, dumps, out_dir, read_input, unique_stems
from model.core.images import ImageLoadError


def test_numpy_and_torch_values_become_valid_json():
    value = {"flag": np.bool_(True), "n": np.int64(3), "x": np.float32(0.5), "grid": np.eye(2),
             "t": torch.tensor([1.5, 2.0]), "nan": float("nan"), 7: (np.uint8(1),)}
    assert json.loads(dumps(value)) == {"flag": True, "n": 3, "x": 0.5, "grid": [[1.0, 0.0], [0.0, 1.0]],
                                        "t": [1.5, 2.0], "nan": None, "7": [1]}


def test_text_that_is_not_valid_unicode_still_gives_valid_json():
    line = dumps({"word": "caf\udce9"})  # what a Latin-1 byte in a command-line argument becomes
    line.encode("ascii")  # printable on any terminal
    assert json.loads(line)["word"] == "caf\udce9"


def test_input_files_are_checked_before_they_are_read(tmp_path):
    with pytest.raises(UsageError, match="cannot read"):
        read_input(tmp_path / "missing.png")
    with pytest.raises(UsageError, match="not a regular file"):
        read_input(tmp_path)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="not a regular file"):  # would block for ever if opened
        read_input(fifo)
    big = tmp_path / "big.png"
    big.write_bytes(b"x" * 2048)
    with pytest.raises(ImageLoadError, match="limit"):
        read_input(big, max_bytes=1024)
    assert read_input(big) == b"x" * 2048


def test_out_folder_is_made_or_refused_in_one_line(tmp_path):
    assert out_dir(None) is None
    assert out_dir(tmp_path / "a" / "b").is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="not a folder"):
        out_dir(tmp_path / "file")
    with pytest.raises(UsageError, match="cannot create"):
        out_dir(tmp_path / "file" / "sub")


def test_two_inputs_with_the_same_name_get_different_picture_names(tmp_path):
    paths = [tmp_path / "a" / "cat.jpg", tmp_path / "b" / "cat.png", tmp_path / "dog.jpg"]
    assert unique_stems(paths) == ["cat", "cat-2", "dog"]


def test_text_arguments_that_are_not_utf8_are_decoded_byte_by_byte():
    import os
    from model.core.cli import argument_text
    typed = os.fsdecode("il est fatigué, le café".encode("utf-8") + b" caf\xe9")  # as Python reads argv
    assert argument_text(typed) == "il est fatigué, le café café"
    assert argument_text("x\ud800y").startswith("x") and "\ud800" not in argument_text("x\ud800y")
    assert argument_text("déjà vu") == "déjà vu"
