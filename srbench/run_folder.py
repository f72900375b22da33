"""A run folder's life cycle: one run at a time (an exclusive lock), no silent overwriting, a status.

* **Lock.** A run holds ``flock(LOCK_EX)`` on ``<out>/.srbench-run.lock`` from before it looks at the
  folder until it has written its last file. A second run into the same folder is refused at once with
  the first one's pid and command (exit 2). The lock is the kernel's: a killed run releases it.
* **What a folder may hold.** A new or empty folder is used. A folder holding a run of the *same*
  configuration (same ``config_key``: methods with their identity options and weights, datasets,
  scales, metrics, protocol, seed, samples) is resumed: finished work comes back from the cache. A
  folder holding any other run is refused unless ``overwrite``, which deletes that run's files (and
  only srbench's own files: ``RUN_FILES``). A non-empty folder that holds no run is never touched.
* **Status.** ``manifest.json`` says ``"status"``: ``running`` while the run works, then ``finished``,
  ``interrupted`` (Ctrl-C / SIGTERM) or ``failed`` (with ``"error"``). A run killed without a chance to
  write (SIGKILL, power loss) stays ``running`` with no lock held: :func:`effective_status` reports it
  as ``interrupted``.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from srbench.errors import OutputDirError, SrbenchError
from srbench.fsutil import ensure_writable

LOCK_NAME = ".srbench-run.lock"
#: what a run writes into its folder (deleted by ``--overwrite``, nothing else is)
RUN_FILES = ("manifest.json", "summary.csv", "per_image.csv")
RUN_DIRS = ("images", "site")

RUNNING, FINISHED, INTERRUPTED, FAILED = "running", "finished", "interrupted", "failed"


class RunFolderError(SrbenchError):
    """The run folder is in use, or holds something this run must not overwrite."""


def _read_manifest(path: Path) -> dict[str, Any] | None:
    p = path / "manifest.json"
    if not p.is_file():
        return None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"status": "unreadable"}
    return data if isinstance(data, dict) else {"status": "unreadable"}


def _command_text(manifest: dict[str, Any]) -> str:
    cmd = manifest.get("command")
    if isinstance(cmd, list):
        import shlex

        return shlex.join(str(c) for c in cmd)
    return str(cmd or "?")


def is_locked(path: str | Path) -> bool:
    """Whether some process holds the run lock of ``path`` now."""
    import fcntl

    lock = Path(path) / LOCK_NAME
    if not lock.is_file():
        return False
    with open(lock, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False


def effective_status(path: str | Path, manifest: dict[str, Any]) -> str:
    """The manifest's status, with ``running`` read as ``interrupted`` when nobody holds the lock."""
    status = str(manifest.get("status") or (FINISHED if manifest.get("finished") else RUNNING))
    if status == RUNNING and not is_locked(path):
        return INTERRUPTED
    return status


class RunFolder:
    """``with RunFolder(out, key, overwrite) as folder:`` - the folder is locked and ready to write."""

    def __init__(self, path: str | Path, config_key: str, overwrite: bool = False, command: list[str] | None = None):
        self.path = Path(path)
        self.config_key = config_key
        self.overwrite = overwrite
        self.command = list(command or [])
        self.resumed_from: str | None = None  # status of the run this one resumes, if any
        self._fh = None

    def __enter__(self) -> RunFolder:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- steps ---------------------------------------------------------------------------------
    def open(self) -> None:
        try:
            ensure_writable(self.path)
        except OSError as exc:
            raise OutputDirError(f"cannot write to the output folder {self.path}: {exc.strerror or exc}") from exc
        self._refuse_foreign()  # before the lock file is created: a folder that is not ours stays untouched
        self._lock()
        try:
            self._check_existing()
        except BaseException:
            self.close()
            raise

    def _lock(self) -> None:
        import fcntl

        lock = self.path / LOCK_NAME
        fh = open(lock, "a+", encoding="utf-8")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                fh.close()
                raise OutputDirError(f"cannot lock the output folder {self.path}: {exc.strerror or exc}") from exc
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise RunFolderError(
                f"the run folder {self.path} is in use by another srbench run ({holder}); "
                "wait for it to finish, or choose another --out"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}: {' '.join(self.command) or 'srbench'}\n")
        fh.flush()
        self._fh = fh

    def _refuse_foreign(self) -> None:
        """Before locking: a non-empty folder without a manifest or lock file is not ours."""
        if not (self.path / "manifest.json").exists() and not (self.path / LOCK_NAME).exists():
            self._refuse_if_not_empty()

    def _check_existing(self) -> None:
        manifest = _read_manifest(self.path)
        if manifest is None:
            self._refuse_if_not_empty()
            return
        previous = effective_status(self.path, manifest) if manifest.get("status") != "unreadable" else "unreadable"
        if manifest.get("config_key") == self.config_key:
            self.resumed_from = previous
            return
        if not self.overwrite:
            what = "an unreadable manifest.json" if previous == "unreadable" else (
                f"a {previous} run of another configuration (created {manifest.get('created', '?')}: "
                f"{_command_text(manifest)})"
            )
            raise RunFolderError(
                f"the output folder {self.path} holds {what}; nothing was changed. Use --overwrite to replace "
                "it, another --out to keep it, or repeat that run's own command to resume it"
            )
        self.clear()

    def _refuse_if_not_empty(self) -> None:
        others = sorted(p.name for p in self.path.iterdir() if p.name != LOCK_NAME)
        if others:
            raise RunFolderError(
                f"the output folder {self.path} is not empty and holds no srbench run "
                f"({', '.join(others[:5])}{' ...' if len(others) > 5 else ''}); choose a new or empty --out"
            )

    def clear(self) -> None:
        """Delete the files of the run in this folder (srbench's own files only)."""
        for name in RUN_FILES:
            (self.path / name).unlink(missing_ok=True)
        for name in RUN_DIRS:
            d = self.path / name
            if d.is_dir() and not d.is_symlink():
                shutil.rmtree(d)
            elif d.is_symlink():
                d.unlink()

    def close(self) -> None:
        if self._fh is not None:
            import fcntl

            try:
                fcntl.flock(self._fh, fcntl.LOCK_UN)
            finally:
                self._fh.close()
                self._fh = None
