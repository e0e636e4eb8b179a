"""The contract every command line keeps (model/core/cli.py): ``--json`` prints one valid JSON object
per input it accepts, and every input it refuses is one line on stderr and exit 2, never a traceback.

Each image CLI runs once as a user runs it (a subprocess, several inputs per call) over MNIST-like
digits (some where the ST-CNN is sure, some where ``low_confidence`` comes from the models' doubt,
not from the picture), photos, blank and noise pictures and the whole hostile table; the translator
over the hostile texts; then the path cases: a FIFO, /dev/zero, a 600 MB file, a bad --out, a text
file as --checkpoint, and text that is not UTF-8 on the command line.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model.core import assets
from model.core.images import MAX_ASPECT
from tests.hostile import HOSTILE, HOSTILE_TEXT, MAX_ASPECT as TABLE_ASPECT, noise

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONIOENCODING": "utf-8"}
TRACEBACK = "Traceback (most recent call last)"


def cli(*args, check_lines: bool = True) -> tuple[int, list[dict], list[str]]:
    """Run ``python -m <args>``; its exit status, parsed stdout lines and stderr lines."""
    proc = subprocess.run([sys.executable, "-m", *map(str, args)], cwd=ROOT, capture_output=True, env=ENV,
                          timeout=600)
    out, err = proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")  # valid UTF-8, or this raises
    assert TRACEBACK not in err, err[-3000:]
    return proc.returncode, [json.loads(line) for line in out.splitlines()], err.splitlines()


def digit_doubts(model, baseline, images) -> dict[str, list[int]]:
    """Indices of test digits per reason the pipeline gives (in this process, as the CLI will)."""
    from model.stn.pipeline import transform
    found: dict[str, list[int]] = {}
    for i, d in enumerate(images):
        found.setdefault(transform(model, baseline, np.repeat(d[..., None], 3, 2)).doubt, []).append(i)
    return found


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """name -> file: digits, photos, blank and noise pictures, and every hostile file."""
    from model.stn.pipeline import load_variant
    d = tmp_path_factory.mktemp("inputs")
    files = {}
    images = np.load(assets.SHIPPED / "stn_rts_test500.npz")["images"][:200]
    doubts = digit_doubts(*load_variant("rts", "cpu"), images)
    assert "" in doubts and "the models are unsure or disagree" in doubts  # both branches are reached
    for doubt, index in doubts.items():
        for i in index[:3]:
            files[f"digit {i} ({doubt or 'sure'})"] = d / f"digit_{i}.png"
            Image.fromarray(images[i]).save(files[f"digit {i} ({doubt or 'sure'})"])
    for p in sorted(assets.SAMPLES.glob("*.jpg")):
        files[f"photo {p.name}"] = p
    for name, img in [("blank white", Image.new("RGB", (64, 48), "white")), ("blank black", Image.new("L", (30, 30))),
                      ("noise", noise(80, 60))]:
        files[name] = d / f"{name.replace(' ', '_')}.png"
        img.save(files[name])
    for name, (filename, make, _) in HOSTILE.items():
        files[name] = d / filename
        files[name].write_bytes(make())
    assert len({p.stem for p in files.values()}) < len(files)  # some share a stem: --out must keep both
    return files


def refused() -> set[str]:
    return {name for name, (_, _, expected) in HOSTILE.items() if isinstance(expected, str)}


def check_batch(files: dict[str, Path], status: int, objects: list[dict], err: list[str]) -> dict[str, dict]:
    """Every accepted input has its object, every refused one its line; exit 2 since some are refused."""
    by_path = {o["image"]: o for o in objects}
    assert len(by_path) == len(objects)
    accepted = {n: p for n, p in files.items() if n not in refused()}
    assert set(by_path) == {str(p) for p in accepted.values()}
    assert len(err) == len(refused()) and all(line.startswith("error: ") for line in err)
    for name in refused():
        assert sum(str(files[name]) in line for line in err) == 1, name
    assert status == 2
    return {n: by_path[str(p)] for n, p in accepted.items()}


def test_the_table_and_the_code_state_the_same_aspect_limit():
    assert TABLE_ASPECT == MAX_ASPECT


@pytest.mark.parametrize("attention", ["soft", "hard"])
def test_caption_json_for_every_input(inputs, attention, tmp_path):
    status, objects, err = cli("model.caption", *inputs.values(), "--attention", attention, "--beam", "1",
                               "--json", "--out", tmp_path)
    for name, o in check_batch(inputs, status, objects, err).items():
        assert o["attention"] == attention and o["caption"] == " ".join(o["tokens"]), name
        assert np.array(o["alphas"]).shape == (len(o["tokens"]), 14, 14), name
    pictures = list(tmp_path.iterdir())
    assert len(pictures) == len(objects)  # one grid per captioned input, none overwritten
    assert max(Image.open(p).size[1] for p in pictures) < 6000  # drawn at a bounded size, whatever the shape


@pytest.mark.parametrize("model", ["rts", "cluttered"])
def test_stn_json_for_every_input(inputs, model, tmp_path):
    from model.stn.pipeline import load_variant, transform
    from model.core.images import load_image
    status, objects, err = cli("model.stn", *inputs.values(), "--model", model, "--json", "--out", tmp_path)
    results = check_batch(inputs, status, objects, err)
    bundles = load_variant(model, "cpu")
    for name, o in results.items():
        assert isinstance(o["low_confidence"], bool) and len(o["probabilities"]) == 10, name
        assert sum(o["probabilities"]) == pytest.approx(1, abs=1e-3), name
        if name.startswith("digit"):  # the same answer as in-process, whichever branch decided it
            here = transform(*bundles, load_image(inputs[name].read_bytes()))
            assert o["low_confidence"] == here.low_confidence and o["prediction"] == here.reading.prediction, name
    assert len(list(tmp_path.iterdir())) == 2 * len(objects)  # grid and output per input, none overwritten


@pytest.fixture(scope="module")
def translate_main():
    if not assets.translator("additive", "fr-en").is_file():
        pytest.skip("the fr-en translator is not shipped")
    from model.translate.__main__ import main
    return main


@pytest.mark.parametrize("name", HOSTILE_TEXT)
def test_translate_json_for_every_hostile_text(translate_main, name, capsys):
    text, expected = HOSTILE_TEXT[name]
    status = translate_main([text, "--json"])
    out, err = capsys.readouterr()
    if expected == "translation":
        (line,) = out.splitlines()
        result = json.loads(line)
        assert status == 0 and result["target_tokens"][-1:] in (["<end>"], [result["target_tokens"][-1]]), name
        assert len(result["alignment"]) == len(result["target_tokens"]), name
    else:
        assert status == 2 and not out and len(err.splitlines()) == 1 and err.startswith("error: "), name


def test_text_that_is_not_utf8_on_the_command_line_is_one_word_in_valid_utf8():
    if not assets.translator("additive", "fr-en").is_file():
        pytest.skip("the fr-en translator is not shipped")
    for arg, word in [(b"je suis caf\xe9 .", "café"), ("je suis café .".encode(), "café")]:
        proc = subprocess.run([sys.executable, "-m", "model.translate", arg, "--json"], cwd=ROOT, env=ENV,
                              capture_output=True, timeout=300)
        assert proc.returncode == 0 and TRACEBACK not in proc.stderr.decode("utf-8")
        result = json.loads(proc.stdout.decode("utf-8"))
        assert word in result["source_tokens"], result["source_tokens"]  # one word, not "caf" + a stray byte


def one_line_failure(main, argv, capsys, *words) -> str:
    assert main(list(map(str, argv))) == 2
    out, err = capsys.readouterr()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and TRACEBACK not in err, err
    assert all(w in err for w in words), err
    return err


def test_paths_that_are_not_regular_files_or_are_too_big_are_refused_before_reading(tmp_path, capsys):
    from model.stn.__main__ import main as stn
    fifo, big = tmp_path / "pipe.png", tmp_path / "big.png"
    os.mkfifo(fifo)  # opening it would block for ever
    with open(big, "wb") as f:
        f.truncate(600 * 2**20)  # 600 MB, sparse: refused from its size, never read
    one_line_failure(stn, [fifo], capsys, "pipe.png", "not a regular file")
    one_line_failure(stn, ["/dev/zero"], capsys, "/dev/zero", "not a regular file")
    one_line_failure(stn, [big], capsys, "big.png", "600 MB", "limit is 50 MB")


def test_bad_out_folders_and_a_text_checkpoint_are_one_line(tmp_path, capsys, translate_main):
    from model.caption.__main__ import main as caption
    from model.stn.__main__ import main as stn
    photo = str(assets.SAMPLES / "chelsea.jpg")
    (tmp_path / "file").write_text("x")
    one_line_failure(stn, [photo, "--out", tmp_path / "file"], capsys, "not a folder")
    one_line_failure(stn, [photo, "--out", tmp_path / "file" / "sub"], capsys, "cannot create")
    (tmp_path / "notes.pt").write_text("these are my notes, not a checkpoint")
    for main, argv in [(caption, [photo]), (translate_main, ["le chat ."])]:
        err = one_line_failure(main, argv + ["--checkpoint", tmp_path / "notes.pt"], capsys, "notes.pt")
        assert "weights_only" not in err
