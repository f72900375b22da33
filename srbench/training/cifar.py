"""CIFAR-10 as training data (the hvae pair's 32x32 HR), read from the official *binary* archive.

``cifar-10-binary.tar.gz`` (https://www.cs.toronto.edu/~kriz/cifar.html) holds ``data_batch_1..5.bin``
and ``test_batch.bin``: 10,000 records of 3,073 bytes each (a label byte, then 1,024 R, 1,024 G and
1,024 B values of a 32x32 image, row-major). The binary version is used on purpose: the "python version"
is pickled, and srbench never unpickles downloaded files. The archive is verified by the md5 the
CIFAR page publishes (the only checksum it gives) and read in place - nothing is extracted.

Where it is looked for: ``<SRBENCH_HOME>/datasets/<name>/`` and ``<mirror>/datasets/<name>/`` (the
archive, or its extracted ``cifar-10-batches-bin/`` folder); else it is downloaded (not offline).
"""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

import numpy as np

from srbench import paths
from srbench.training.data import ImageSource, TrainImage, TrainingDataError

ARCHIVE = "cifar-10-binary.tar.gz"
FOLDER = "cifar-10-batches-bin"
TRAIN_MEMBERS = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_MEMBER = "test_batch.bin"
RECORD = 1 + 3 * 32 * 32


def _md5(path: Path) -> str:
    h = hashlib.md5()  # noqa: S324 - the checksum CIFAR publishes; integrity, not security
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def decode_batch(raw: bytes, what: str) -> np.ndarray:
    """N x 32 x 32 x 3 uint8 from the bytes of one ``*.bin`` batch."""
    if len(raw) % RECORD or not raw:
        raise TrainingDataError(f"{what}: {len(raw)} bytes is not a whole number of {RECORD}-byte CIFAR records")
    rec = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD)
    return np.ascontiguousarray(rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def _read_members(archive: Path, names: tuple[str, ...]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for m in tar:
                base = m.name.rsplit("/", 1)[-1]
                if base in names and m.isreg() and m.name in (f"{FOLDER}/{base}", base):
                    out[base] = tar.extractfile(m).read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise TrainingDataError(f"{archive}: not a readable CIFAR-10 archive ({exc})") from exc
    return out


def _locate(spec) -> tuple[Path | None, Path | None]:
    """(archive, extracted folder) found in the cache or a mirror."""
    roots = [paths.home() / "datasets" / spec.name] + [m / "datasets" / spec.name for m in paths.mirrors()]
    for root in roots:
        if (root / ARCHIVE).is_file():
            return root / ARCHIVE, None
        if (root / FOLDER).is_dir():
            return None, root / FOLDER
    return None, None


def _download(spec) -> Path:
    from srbench.archive import download

    errors = []
    for d in spec.downloads:
        try:
            path = download(d["url"], paths.home() / "datasets" / spec.name)
            if d.get("md5") and _md5(path) != d["md5"]:
                got = _md5(path)
                path.unlink()
                raise TrainingDataError(f"md5 {got} does not match the declared {d['md5']}")
            return path
        except Exception as exc:  # noqa: BLE001 - every alternative is tried, all errors reported
            errors.append(f"{d['url']}: {exc}")
    raise TrainingDataError(f"{spec.name}: download failed:\n  " + "\n  ".join(errors or ["no downloads declared"]))


def _declared_md5(spec) -> str | None:
    return next((d.get("md5") for d in spec.downloads if d.get("md5")), None)


def load_arrays(spec) -> tuple[np.ndarray, np.ndarray]:
    """(train N x 32 x 32 x 3, test M x 32 x 32 x 3) uint8 of a ``format: cifar10-binary`` dataset."""
    archive, folder = _locate(spec)
    if archive is None and folder is None:
        if paths.offline():
            raise TrainingDataError(
                f"{spec.name}: {ARCHIVE} is not in {paths.home() / 'datasets' / spec.name} or a mirror, and srbench "
                f"is offline; download it from {spec.downloads[0]['url'] if spec.downloads else spec.homepage} into that folder"
            )
        archive = _download(spec)
    names = TRAIN_MEMBERS + (TEST_MEMBER,)
    if archive is not None:
        md5 = _declared_md5(spec)
        if md5 and _md5(archive) != md5:
            raise TrainingDataError(f"{archive}: md5 {_md5(archive)} does not match the declared {md5} (corrupt or another file)")
        raw = _read_members(archive, names)
        where = archive
    else:
        raw = {n: (folder / n).read_bytes() for n in names if (folder / n).is_file()}
        where = folder
    missing = [n for n in names if n not in raw]
    if missing:
        raise TrainingDataError(f"{where}: missing {', '.join(missing)}")
    train = np.concatenate([decode_batch(raw[n], f"{where}:{n}") for n in TRAIN_MEMBERS])
    return train, decode_batch(raw[TEST_MEMBER], f"{where}:{TEST_MEMBER}")


def cifar10_source(spec) -> ImageSource:
    train, test = load_arrays(spec)
    digest = hashlib.sha256(train.tobytes()).hexdigest()

    def images(arr: np.ndarray, part: str) -> list[TrainImage]:
        return [TrainImage(f"{spec.name}/{part}{i:05d}", None, lambda i=i: arr[i]) for i in range(len(arr))]

    return ImageSource(spec.name, images(train, "train"), digest, validation=images(test, "test"))
