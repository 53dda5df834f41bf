"""Benchmarks rewrite only their own section of RESULTS.md."""

import sys

from conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from results_file import replace_section  # noqa: E402


def test_new_section_is_appended_and_prose_kept(tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_text("# Benchmarks\n\nNotes written by hand.\n")
    replace_section(path, "epoch_time.py", "| a | 1 |\n")
    text = path.read_text()
    assert text.startswith("# Benchmarks\n\nNotes written by hand.\n")
    assert "<!-- begin epoch_time.py -->\n| a | 1 |\n<!-- end epoch_time.py -->" in text


def test_second_run_replaces_only_its_section(tmp_path):
    path = tmp_path / "RESULTS.md"
    replace_section(path, "epoch_time.py", "old table")
    replace_section(path, "mnist_epochs.py", "mnist table")
    with path.open("a") as file:
        file.write("\nProse after both sections.\n")
    replace_section(path, "epoch_time.py", "new table")
    text = path.read_text()
    assert "old table" not in text
    assert text.index("new table") < text.index("mnist table") < text.index("Prose after")
    assert text.count("<!-- begin epoch_time.py -->") == 1
