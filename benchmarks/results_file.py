"""Write one benchmark's section of RESULTS.md and keep the rest of the file."""

from __future__ import annotations

from pathlib import Path


def replace_section(path: Path, name: str, text: str) -> None:
    """Put `text` between the markers of section `name`, appending the section if it is new.

    The markers are HTML comments, invisible on GitHub, so prose written
    outside them survives a new run of the benchmark.
    """
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    block = f"{begin}\n{text.rstrip()}\n{end}"
    path = Path(path)
    old = path.read_text() if path.exists() else ""
    if begin in old and end in old:
        before, rest = old.split(begin, 1)
        new = before + block + rest.split(end, 1)[1]
    else:
        new = (old.rstrip() + "\n\n" if old.strip() else "") + block + "\n"
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(new)
    temporary.replace(path)
