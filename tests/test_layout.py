"""The architecture as rules the code must keep (README, "Layout"):

- model/ (the library) never imports viz, ui, streamlit or train; its command-line entry points
  (each family's __main__.py) are composition roots, like the pages, and may draw with viz;
- viz/ is pure drawing: it imports nothing from model, ui or train, and no torch;
- nothing in model/, ui/, viz/ or app.py imports train/ (training code never runs in the app);
- every source file stays small enough to read in one sitting.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 300
FORBIDDEN = {
    "model": ("viz", "ui", "streamlit", "train"),
    "viz": ("model", "ui", "train", "torch"),
    "ui": ("train",),
}


def sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def imported(path: Path) -> set[str]:
    """Top-level packages a file imports, wherever the import statement sits (lazy imports too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return {n.split(".")[0] for n in names}


def is_entry_point(path: Path) -> bool:
    return path.name == "__main__.py"


@pytest.mark.parametrize("folder", FORBIDDEN)
def test_layers_import_only_what_they_may(folder):
    broken = {}
    for path in sources(folder):
        if folder == "model" and is_entry_point(path):
            allowed_extra = {"viz"}  # a CLI draws its --out pictures
        else:
            allowed_extra = set()
        bad = (imported(path) & set(FORBIDDEN[folder])) - allowed_extra
        if bad:
            broken[str(path.relative_to(ROOT))] = sorted(bad)
    assert not broken, broken


def test_the_app_shell_does_not_import_training_code():
    assert "train" not in imported(ROOT / "app.py")


def test_model_families_are_packages_with_a_command_line_each():
    for family in ("caption", "translate", "stn"):
        assert (ROOT / "model" / family / "__init__.py").is_file()
        assert (ROOT / "model" / family / "__main__.py").is_file()  # python -m model.<family>
        assert (ROOT / "model" / family / "pipeline.py").is_file()  # what the page and the CLI call
    loose = [p.name for p in (ROOT / "model").glob("*.py") if p.name != "__init__.py"]
    assert not loose, f"model/ holds the core and the families, each a folder: {loose}"


def test_the_layout_rule_catches_a_violation(tmp_path):
    """The rule is not vacuous: an import of viz from a library module is seen, lazy or not."""
    bad = tmp_path / "pipeline.py"
    bad.write_text("def f():\n    from viz.overlay import attention_overlay\n")
    assert "viz" in imported(bad) and not is_entry_point(bad)


@pytest.mark.parametrize("folder", ["model", "viz", "ui", "train", "bench", "tests"])
def test_no_source_file_is_over_the_size_limit(folder):
    long = {str(p.relative_to(ROOT)): n for p in sources(folder) if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, long
