"""FID (fid, fid_patch): pytorch-fid equality, closed forms, streaming statistics, patches, weights.

The 2048-d Fréchet distance costs a 2048x2048 ``sqrtm`` (about a minute on a shared 2-core CPU), so
the tests that need a distance use lower-dimensional features: pytorch-fid's own 64/192-d Inception
blocks or synthetic features. The 2048-d pool3 *features* are checked against pytorch-fid's
``get_activations`` directly, and the distance is ``calculate_frechet_distance`` itself.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from PIL import Image

from srbench.errors import SrbenchError, WeightsError
from srbench.metrics.base import MetricContext


def _rand(shape, seed):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _smooth(shape, seed):
    """A less noise-like test image (Inception features of pure noise are all alike)."""
    rng = np.random.default_rng(seed)
    h, w = shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([127 + 100 * np.sin(xx / rng.uniform(3, 9) + c) * np.cos(yy / rng.uniform(3, 9))
                    for c in range(3)], axis=2)
    return np.clip(img + rng.normal(0, 8, img.shape), 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------- statistics and the distance


def test_streaming_stats_equal_numpy():
    from srbench.metrics.fid import GaussianStats

    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, (257, 16)) @ rng.normal(size=(16, 16))
    s = GaussianStats(16)
    for a, b in [(0, 1), (1, 50), (50, 50), (50, 51), (51, 200), (200, 257)]:
        s.add(x[a:b])
    np.testing.assert_allclose(s.mean, x.mean(axis=0), rtol=0, atol=1e-12)
    np.testing.assert_allclose(s.cov(), np.cov(x, rowvar=False), rtol=1e-12, atol=1e-10)
    # memory does not grow with the number of samples: only n, a mean and one d x d matrix
    sizes = {k: getattr(v, "nbytes", 0) for k, v in vars(s).items()}
    s.add(rng.normal(size=(1000, 16)))
    assert {k: getattr(v, "nbytes", 0) for k, v in vars(s).items()} == sizes
    assert s.n == 1257


def test_frechet_distance_is_pytorch_fid():
    from pytorch_fid.fid_score import calculate_frechet_distance

    from srbench.metrics.fid import frechet_distance

    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, (300, 24))
    b = rng.normal(0.3, 1.2, (200, 24)) @ rng.normal(size=(24, 24)) * 0.5
    mu1, s1, mu2, s2 = a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    val, eps = frechet_distance(mu1, s1, mu2, s2)
    assert val == calculate_frechet_distance(mu1, s1, mu2, s2) and eps is False


def test_closed_form_gaussians():
    from srbench.metrics.fid import frechet_distance

    rng = np.random.default_rng(2)
    # commuting (diagonal) covariances: |mu1-mu2|^2 + sum (sqrt(a) - sqrt(b))^2
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    a, b = rng.uniform(0.5, 3, 6), rng.uniform(0.5, 3, 6)
    want = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b))[0] == pytest.approx(want, rel=1e-10)
    # non-commuting: s^2 I vs a general SPD A: tr(s^2 I) + tr(A) - 2 s tr(A^1/2)
    q = rng.normal(size=(6, 6))
    A = q @ q.T + 0.1 * np.eye(6)
    s = 1.7
    want = np.sum((mu1 - mu2) ** 2) + 6 * s * s + np.trace(A) - 2 * s * np.sum(np.sqrt(np.linalg.eigvalsh(A)))
    assert frechet_distance(mu1, s * s * np.eye(6), mu2, A)[0] == pytest.approx(want, rel=1e-9)
    # the same Gaussian: 0
    assert abs(frechet_distance(mu1, A, mu1, A)[0]) < 1e-9


def test_accumulator_result_equals_pytorch_fid_on_same_features(torch_home):
    from pytorch_fid.fid_score import calculate_frechet_distance

    from srbench.metrics.fid import fid

    rng = np.random.default_rng(3)
    f_sr, f_hr = rng.gamma(2.0, 0.2, (150, 64)), rng.gamma(2.2, 0.2, (90, 64))
    acc = fid(device="cpu", dims=64)
    for i in range(0, 150, 40):
        acc.update_features(f_sr[i:i + 40], f_hr[i:i + 40] if i < 90 else np.empty((0, 64)))
    want = calculate_frechet_distance(f_sr.mean(0), np.cov(f_sr, rowvar=False),
                                      f_hr.mean(0), np.cov(f_hr, rowvar=False))
    assert acc.result() == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_fewer_than_two_samples_is_an_error(torch_home):
    from srbench.metrics.fid import fid

    acc = fid(dims=64)
    acc.update_features(np.ones((1, 64)), np.ones((1, 64)))
    with pytest.raises(SrbenchError, match="at least 2 samples"):
        acc.result()


# ----------------------------------------------------------------------------------------- patches


def test_patch_grid_and_identical_crops():
    from srbench.metrics.fid import crop_patches, patch_grid

    assert patch_grid(130, 200, 64) == [(0, 0), (0, 64), (0, 128), (64, 0), (64, 64), (64, 128)]
    assert patch_grid(63, 500, 64) == []
    img = _rand((130, 200, 3), 0)
    p = crop_patches(img, 64)
    assert p.shape == (6, 64, 64, 3)
    np.testing.assert_array_equal(p[4], img[64:128, 64:128])
    assert crop_patches(img[:, :, 0], 32).shape == (4 * 6, 32, 32)


def test_patch_fid_of_a_set_against_itself_is_zero(torch_home):
    from srbench.metrics.fid import fid

    img = _smooth((64, 80, 3), 0)
    acc = fid(device="cpu", patch=32, dims=64)
    acc.update(img, img.copy(), MetricContext(scale=4))
    assert acc.sr.n == acc.hr.n == 4  # 2 x 2 crops, the 16-px remainder on the right dropped
    np.testing.assert_array_equal(acc.sr.mean, acc.hr.mean)
    assert abs(acc.result()) < 1e-6
    # a different SR set is far from the HR set
    acc2 = fid(device="cpu", patch=32, dims=64)
    acc2.update(_rand((64, 80, 3), 1), img)
    assert acc2.result() > 1.0
    prov = acc2.provenance()
    assert prov["mode"] == "patch" and prov["patch"] == 32 and prov["n_samples"] == 4 and prov["images"] == 1
    assert prov["rank_deficient"] is True and prov["eps_offset_applied"] in (True, False)


# -------------------------------------------------------------------------------- pool3 features (2048)


def test_pool3_features_equal_pytorch_fid_get_activations(torch_home, tmp_path):
    import torch
    from pytorch_fid.fid_score import get_activations
    from pytorch_fid.inception import InceptionV3

    from srbench.metrics.fid import fid

    imgs = [_smooth((40, 48, 3), 10)]  # one image: each Inception forward costs seconds on a shared CPU
    files = []
    for i, im in enumerate(imgs):
        files.append(tmp_path / f"{i}.png")
        Image.fromarray(im).save(files[-1])
    ref_model = InceptionV3([3]).eval()  # pytorch-fid loads its weights itself, from TORCH_HOME
    want = get_activations([str(f) for f in files], ref_model, batch_size=1, dims=2048, device="cpu", num_workers=0)

    acc = fid(device="cpu", batch_size=2)
    got = acc.features(np.stack(imgs))
    assert got.shape == (1, 2048) and got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    ours = acc.model.state_dict()
    for k, v in ref_model.state_dict().items():
        assert torch.equal(ours[k], v), k

    acc.update_features(np.concatenate([got, want]), np.concatenate([want, got]))
    prov = acc.provenance()
    path = torch_home / "hub" / "checkpoints" / "pt_inception-2015-12-05-6726825d.pth"
    rec = prov["weights"]["pt_inception-2015-12-05-6726825d.pth"]
    assert rec["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert prov["mode"] == "whole-image" and prov["n_samples"] == 2 and prov["dims"] == 2048
    assert "pytorch-fid" in prov["packages"]


def test_whole_image_update_and_grey(torch_home):
    from srbench.metrics.fid import fid

    a, b = _smooth((40, 48, 3), 12), _smooth((40, 48, 3), 13)
    acc = fid(device="cpu", dims=64)
    acc.update(a, b)
    acc.update(b[:, :, 0], a[:, :, 0])  # grey images: replicated to three channels
    f = acc.features(np.stack([a, np.repeat(b[:, :, :1], 3, axis=2)]))
    np.testing.assert_allclose(acc.sr.mean, f.mean(0), atol=1e-12)
    assert acc.images == 2 and acc.sr.n == acc.hr.n == 2
    with pytest.raises(ValueError, match="differ in shape"):
        acc.update(a, b[:-1])


# ------------------------------------------------------------------------------------ weights, metadata


def test_missing_inception_weights_is_a_clear_error(empty_torch_home):
    from srbench.metrics.fid import fid

    with pytest.raises(WeightsError) as err:
        fid(device="cpu", patch=64)
    msg = str(err.value)
    assert "pt_inception-2015-12-05-6726825d.pth" in msg
    assert "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" in msg
    assert str(empty_torch_home / "hub" / "checkpoints") in msg and "'fid_patch'" in msg


def test_metadata():
    from srbench.metrics.fid import METRICS

    info = {m.name: m for m in METRICS}
    assert set(info) == {"fid", "fid_patch", "fid_ref"}
    assert info["fid_ref"].reference_set and not info["fid_ref"].full_reference
    assert all(m.kind == "dataset" and not m.higher_is_better and m.extra == "torch" for m in info.values())
    assert info["fid_patch"].options == {"patch": 64} and not info["fid"].options
    assert info["fid"].weights[0].file == "pt_inception-2015-12-05-6726825d.pth"


@pytest.mark.skipif("not __import__('torch').cuda.is_available()", reason="no CUDA device")
def test_cuda_features_match_cpu(torch_home):
    from srbench.metrics.fid import fid

    batch = np.stack([_smooth((40, 48, 3), 20)])
    np.testing.assert_allclose(fid(device="cuda").features(batch), fid(device="cpu").features(batch), atol=1e-3)


class _Mkdir:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.mkdir, (self.marker,))


@pytest.mark.parametrize("kind", ["garbage", "html", "truncated", "malicious", "wrong-tensors", "not-a-dict"])
def test_damaged_inception_in_torch_home_is_a_clear_error(tmp_path, monkeypatch, torch_home, kind):
    import torch

    from srbench.metrics.fid import FID_WEIGHT, fid

    path = tmp_path / "th" / "hub" / "checkpoints" / FID_WEIGHT.file
    path.parent.mkdir(parents=True)
    marker = tmp_path / "pwned"
    if kind == "garbage":
        path.write_bytes(bytes(range(9, 250)) * 30)
    elif kind == "html":
        path.write_bytes(b"<html><body>GitHub: too many requests</body></html>")
    elif kind == "truncated":  # the head of the real file
        with open(torch_home / "hub" / "checkpoints" / FID_WEIGHT.file, "rb") as f:
            path.write_bytes(f.read(1 << 20))
    elif kind == "malicious":
        torch.save({"Conv2d_1a_3x3.conv.weight": torch.zeros(1), "x": _Mkdir(str(marker))}, path)
    elif kind == "wrong-tensors":
        torch.save({"conv.weight": torch.zeros(2)}, path)
    else:
        torch.save([torch.zeros(2)], path)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    monkeypatch.setenv("SRBENCH_OFFLINE", "1")
    acc = fid(device="cpu")  # the model is loaded on first use: a run's driver that only merges never loads it
    with pytest.raises(WeightsError) as err:
        acc.partial(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8))
    msg = str(err.value)
    assert str(path) in msg and "'fid'" in msg and ("damaged" in msg or "refused" in msg)
    assert f"elete {path}: srbench downloads it again from {FID_WEIGHT.url}" in msg
    assert "weights_only" not in msg
    assert not marker.exists()


# ------------------------------------------------------------------------------------ fid_ref (--fid-ref)


def test_fid_ref_equals_fid_when_the_reference_is_the_hr_set(torch_home, tmp_path, monkeypatch):
    """fid_ref against a reference set = fid against the paired HR when that set *is* the HR (small dims,
    so that 3 images give a finite distance quickly); the reference statistics are cached and reused."""
    from srbench.metrics.fid import FidAccumulator, fid_ref
    from srbench.reference_set import reference_set

    monkeypatch.setenv("SRBENCH_HOME", str(tmp_path / "home"))
    hrs = [_smooth((40, 48, 3), 20 + i) for i in range(3)]
    srs = [_smooth((40, 48, 3), 30 + i) for i in range(3)]
    folder = tmp_path / "ref"
    folder.mkdir()
    for i, im in enumerate(hrs):
        Image.fromarray(im).save(folder / f"{i}.png")
    ref = reference_set(str(folder))
    assert len(ref) == 3 and ref.kind == "folder"
    paired, against = FidAccumulator(dims=64), fid_ref(reference=ref, dims=64)
    for sr, hr in zip(srs, hrs):
        paired.update(sr, hr)
        against.update(sr, None)  # no HR needed: LR-only datasets can be scored
    assert against.result() == pytest.approx(paired.result(), rel=1e-12, abs=1e-9)
    cached = list((tmp_path / "home" / "cache" / "fid_ref").glob("*.npz"))
    assert len(cached) == 1
    again = fid_ref(reference=ref, dims=64)
    for sr in srs:
        again.update(sr, None)
    assert again.result() == against.result()
    assert again.provenance()["reference_set"]["pixel_manifest_sha256"] == ref.identity


def test_fid_ref_needs_its_reference(torch_home):
    from srbench.metrics.fid import fid_ref

    with pytest.raises(SrbenchError, match="--fid-ref DATASET|FOLDER"):
        fid_ref()
