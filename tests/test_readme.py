"""The README's quick start is what CI runs, and every direct dependency is pinned."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quick_start_commands() -> list[str]:
    section = ROOT.joinpath("README.md").read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_quick_start_has_one_app_command_and_one_test_command():
    commands = quick_start_commands()
    assert len(commands) == 2
    app, tests = commands
    assert app.startswith("pip install -r requirements.txt") and "streamlit run app.py" in app
    assert tests.startswith("pip install -r requirements-dev.txt")


def test_ci_runs_the_readme_test_command():
    test_command = quick_start_commands()[1].split("&&", 1)[1].strip()
    assert test_command in ROOT.joinpath(".ci", "run").read_text()


def test_every_direct_dependency_is_pinned():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in ROOT.joinpath(name).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-r"):
                assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.+]+", line), f"{name}: {line!r} is not pinned"
    reqs = ROOT.joinpath("requirements.txt").read_text()
    assert "torch==2.14.1" in reqs and "torchvision==0.29.2" in reqs


def test_the_hostile_inputs_table_lists_every_tested_input():
    from tests.hostile import HOSTILE, HOSTILE_TEXT
    section = ROOT.joinpath("README.md").read_text().split("## Hostile inputs", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| ")}
    assert set(HOSTILE) | set(HOSTILE_TEXT) <= rows
