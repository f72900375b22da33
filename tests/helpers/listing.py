"""Reading ``srbench list --verbose`` output in tests."""

from __future__ import annotations


def listed_entry(out: str, name: str) -> str:
    """The lines of one method's or degradation's entry: its header line and the indented lines under it."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"  {name} "))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith("    ")), len(lines))
    return "\n".join(lines[start:end])
