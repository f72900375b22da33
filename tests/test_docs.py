"""Every ``srbench`` command shown in README.md and docs/*.md works as written.

Each command in a fenced code block (continuation lines joined, ``# comments`` dropped) must parse with
the real command-line parser, and every ``srbench run`` must pass the run's checks (method, variant,
dataset, metric, scale, protocol and option names) - so a renamed flag (``--scales`` for ``--scale``) or
method fails here. A code block whose commands all run offline without weights or the reader's own files
(bicubic on the mirrored datasets, ``srbench list``, ``baseline write`` of the runs the block made, ...)
is executed as a whole, in order, in a temporary folder. Synopsis lines (``[OPTIONAL]``, ``RUN_DIR``,
``...``) are not commands.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_SYNOPSIS = re.compile(r"\[|\.\.\.|\b[A-Z][A-Z_]{2,}\b")  # usage lines, not commands
_READERS_FILES = re.compile(r"/path/to|~|\*")  # parse, but it needs the reader's files: not executed


def _blocks(path: Path) -> list[list[str]]:
    """The srbench commands of each fenced code block of ``path``."""
    out, block, inside = [], None, False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("```"):
            if inside:
                out.append(block)
            inside, block = not inside, []
            continue
        if inside:
            block.append(line)
    commands = []
    for lines in out:
        text = "\n".join(lines).replace("\\\n", " ")
        cmds = []
        for line in text.splitlines():
            line = line.split(" #", 1)[0].strip()
            if line.startswith("srbench ") and not _SYNOPSIS.search(line):
                cmds.append(line)
        if cmds:
            commands.append(cmds)
    return commands


def _cases():
    for path in DOCS:
        for i, block in enumerate(_blocks(path)):
            yield pytest.param(block, id=f"{path.name}#{i}")


def _parse(argv: list[str], monkeypatch):
    from srbench.cli import build_parser

    monkeypatch.setattr(sys, "argv", ["srbench", *argv])  # the parser loads a sub-command's flags lazily
    try:
        return build_parser().parse_args(argv)
    except SystemExit as exc:
        raise AssertionError(f"`srbench {shlex.join(argv)}` does not parse (exit {exc.code})") from None


def _check_run(args) -> bool:
    """Validate a parsed ``srbench run`` as the CLI would; True when it can run offline without weights."""
    from srbench.cli import config_from_args
    from srbench.plan import plan

    p = plan(config_from_args(args))
    return not any(m.info.learned for m in p.methods) and not any(leg.spec.user_supplied for leg in p.legs)


def test_the_docs_have_commands():
    """The extraction finds the examples (a broken extractor would make the test below vacuous)."""
    count = {p.name: sum(len(b) for b in _blocks(p)) for p in DOCS}
    assert count["README.md"] >= 5 and count["compare.md"] >= 3 and count["checkpoints.md"] >= 2, count


@pytest.mark.parametrize("block", list(_cases()))
def test_doc_commands(block, tmp_path, monkeypatch, capsys, request):
    runnable = True
    parsed = []
    for line in block:
        runnable &= not _READERS_FILES.search(line)
        argv = shlex.split(line)[1:]
        args = _parse(argv, monkeypatch)
        parsed.append(argv)
        if args.command == "run" and "folder:" not in line:
            runnable &= _check_run(args)  # a folder: method needs the block's earlier commands: checked when run
        elif args.command == "weights":
            runnable = False  # imports a checkpoint the reader has
        elif args.command == "train":
            runnable = False  # trains on data the reader has (tests/training runs the loop)
    if not runnable:
        return
    if any(a[0] == "run" and any(d in ",".join(a) for d in ("set5", "set14", "b100", "urban100")) for a in parsed):
        request.getfixturevalue("benchmark_datasets")  # the example runs on the benchmark datasets
    from srbench.cli import main

    monkeypatch.chdir(tmp_path)
    import shutil

    # examples compare with the shipped files; a copy, because a `baseline write` example rewrites its file
    shutil.copytree(ROOT / "leaderboards", tmp_path / "leaderboards")
    for argv in parsed:
        if argv[0] == "run":
            argv = [*argv, "--no-progress"]
        monkeypatch.setattr(sys, "argv", ["srbench", *argv])
        rc = main(argv)
        err = capsys.readouterr().err
        assert rc == 0, f"`srbench {shlex.join(argv)}` exited {rc}: {err}"
