"""Test-wide set-up: an isolated SRBENCH_HOME, no network, and the prerequisites kept outside the repository.

Some tests need files that are not in the repository (README.md, "Without ../shared"): the mirrored
datasets (``<root>/datasets/<name>/HR/``), other mirrored files (``<root>/weights/...``), the reference data
(``../shared/reference``) and metric weights in a TORCH_HOME layout (``$TORCH_HOME/hub/...``). Where they are
looked for, and the rule for a missing one, are in tests/helpers/prerequisites.py:

* CI (``CI`` set, or ``SRBENCH_REQUIRE_MIRROR=1``, as ``.ci/run`` exports): the test **fails**;
* ``SRBENCH_TEST_DOWNLOAD=1`` and srbench itself fetches what is missing (datasets resolved by a run,
  metric weights): the test runs and downloads it;
* otherwise the test is **skipped**, with a reason that names what is missing and where it was looked for.

Unless ``SRBENCH_TEST_DOWNLOAD=1``, the session sets ``SRBENCH_OFFLINE=1`` (subprocesses inherit it): no
test reaches the network. Tests of the download code use local ``file://`` URLs or a patched ``urlopen``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest
from helpers import prerequisites as pre

pre.set_up_environment()

#: the mirror's HR sets (the classic benchmark sets)
BENCHMARK_SETS = ("set5", "set14", "b100", "urban100")
#: the mirror's metric weight files under TORCH_HOME, by the metrics that load them
METRIC_WEIGHTS = {
    "lpips": "hub/checkpoints/alexnet-owt-7be5be79.pth",
    "fid": "hub/checkpoints/pt_inception-2015-12-05-6726825d.pth",
    "niqe": "hub/pyiqa/niqe_modelparameters.mat",
}
#: what the reference fixture needs in the reference folder
REFERENCE_FILES = ("bicubic_lr_pixels.json", "set5_lr_matlab/x2", "set5_lr_matlab/x3", "set5_lr_matlab/x4")


def _missing_hr(datasets_dir: Path, names: Sequence[str]) -> list[str]:
    """The HR images declared for ``names`` (datasets.yaml) that ``datasets_dir/<name>/HR/`` lacks."""
    from srbench.datasets import get_spec
    from srbench.images import LOSSLESS_SUFFIXES

    missing = []
    for name in names:
        folder = datasets_dir / name / "HR"
        if not folder.is_dir():
            missing.append(f"{name}/HR/")
            continue
        stems = {p.stem for p in folder.iterdir() if p.suffix.lower() in LOSSLESS_SUFFIXES}
        missing += [f"{name}/HR/{image}" for image in sorted(get_spec(name).images) if image not in stems]
    return missing


def _mirror_datasets(names: Sequence[str], downloadable: bool) -> Path | None:
    first = None
    for root in pre.mirror_roots():
        missing = _missing_hr(root / "datasets", names)
        if not missing:
            return root / "datasets"
        first = first or missing
    pre.require(f"mirrored HR images of {', '.join(names)}", first or [f"{n}/HR/" for n in names],
                where=f"looked in <root>/datasets for {pre.roots_text()}", downloadable=downloadable)
    return None  # absent, and srbench may download them (SRBENCH_TEST_DOWNLOAD=1)


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The mirror's ``datasets`` folder, with every HR image of Set5, Set14, B100 and Urban100.

    For tests that read the mirror's files themselves: no download stands in for them.
    """
    return _mirror_datasets(BENCHMARK_SETS, downloadable=False)


@pytest.fixture(scope="session")
def benchmark_datasets() -> Path | None:
    """Set5, Set14, B100 and Urban100 for tests that let srbench resolve them (a run, a subprocess): the
    mirror's ``datasets`` folder, or ``None`` where the mirror lacks them and downloads are allowed."""
    return _mirror_datasets(BENCHMARK_SETS, downloadable=True)


@pytest.fixture(scope="session")
def in_mirror():
    """``in_mirror(relpath, what, files=())``: ``<root>/<relpath>`` of the first mirror root that has it and
    the named ``files`` in it (not downloadable)."""

    def find(relpath: str, what: str, files: Sequence[str] = ()) -> Path:
        wanted = [relpath] + [f"{relpath}/{f}" for f in files]
        first = None
        for root in pre.mirror_roots():
            missing = [w for w in wanted if not (root / w).exists()]
            if not missing:
                return root / relpath
            first = first or missing
        pre.require(what, first or wanted, where=f"looked in {pre.roots_text()}")
        raise AssertionError("not reached: require() failed or skipped")

    return find


@pytest.fixture(scope="session")
def srgan_weights(in_mirror) -> Path:
    """The mirror's ``weights/srgan-leftthomas`` with the x2/x4/x8 generators (``netG_epoch_<s>_100.pth``)."""
    files = [f"netG_epoch_{s}_100.pth" for s in (2, 4, 8)]
    return in_mirror("weights/srgan-leftthomas", "the mirrored leftthomas SRGAN generators", files)


@pytest.fixture(scope="session")
def reference() -> Path:
    """The reference data (``bicubic_lr_pixels.json``, ``set5_lr_matlab/``): ``../shared/reference``, else the
    ``reference`` folder beside a mirror root."""
    candidates = list(dict.fromkeys([pre.SHARED / "reference"] + [r.parent / "reference" for r in pre.mirror_roots()]))
    for folder in candidates:
        if all((folder / f).exists() for f in REFERENCE_FILES):
            return folder
    pre.require("reference data", [f"reference/{f}" for f in REFERENCE_FILES],
                where=f"looked in {', '.join(map(str, candidates))}")
    raise AssertionError("not reached: require() failed or skipped")


@pytest.fixture(scope="session")
def torch_weights():
    """``torch_weights(*metrics)``: the TORCH_HOME that holds the weight files of ``metrics`` (keys of
    :data:`METRIC_WEIGHTS`). srbench downloads missing ones when allowed (``SRBENCH_TEST_DOWNLOAD=1``)."""

    def need(*metrics: str) -> Path:
        home = pre.torch_home()
        missing = [METRIC_WEIGHTS[m] for m in metrics if not (home / METRIC_WEIGHTS[m]).is_file()]
        pre.require("metric weights", missing, where=f"TORCH_HOME={home}; the mirror's is <root>/torch",
                    downloadable=True)
        return home

    return need


@pytest.fixture(scope="session")
def torch_home(torch_weights) -> Path:
    """The TORCH_HOME with all the mirror's metric weights (LPIPS AlexNet, FID Inception, NIQE parameters)."""
    return torch_weights(*METRIC_WEIGHTS)


@pytest.fixture(scope="session")
def lpips_weights(torch_weights) -> Path:
    """The TORCH_HOME with the LPIPS AlexNet backbone (``lpips`` and the ``diversity`` metric)."""
    return torch_weights("lpips")


@pytest.fixture(autouse=True, scope="session")
def _isolated_home(tmp_path_factory):
    """Each test session gets its own srbench cache unless SRBENCH_HOME is set by the caller."""
    if "SRBENCH_HOME" not in os.environ:
        os.environ["SRBENCH_HOME"] = str(tmp_path_factory.mktemp("srbench-home"))
        # this cache started empty in this session: tests may share what the code under test computed
        os.environ["SRBENCH_TEST_FRESH_HOME"] = os.environ["SRBENCH_HOME"]
    yield


@pytest.fixture
def fresh_home(tmp_path, monkeypatch) -> Path:
    """A private, empty srbench cache for one test."""
    home = tmp_path / "home"
    monkeypatch.setenv("SRBENCH_HOME", str(home))
    return home
