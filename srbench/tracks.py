"""Tracks: named evaluation protocols - datasets + scale + LR source + metrics + conventions + source.

``srbench run --track ntire2018-t2-mild --methods cyclesr:srresnet,bicubic`` runs exactly the protocol a paper's
table used; ``srbench list tracks [--verbose]`` shows them and whether each can run here offline. A
track is a list of legs (one dataset each, with the protocol and metrics it is scored with), so the
classic bicubic table - whose rows come from different evaluation scripts - is one track too.

Where a track's official evaluation could not be found, the track says what srbench does instead
(``notes``) and which of its numbers are comparable to the published ones. The research behind each
convention (sources read, what is verified and what is inferred) is cited per track.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from srbench.plan import Leg

_DIV2K18 = "nmhkahn/NTIRE2018@add39be8:track23/evaluate.py (a participant's copy of the scoring function)"


@dataclass(frozen=True)
class Track:
    name: str
    title: str
    scale: int
    legs: tuple[Leg, ...]
    source: str  # where the protocol comes from (challenge report, official code), with what is verified
    official: str  # what the original evaluation reported, and what srbench cannot reproduce
    samples: int = 1
    tables: tuple[str, ...] = ()  # seed-paper tables measured under this protocol
    notes: str = ""

    @property
    def datasets(self) -> list[str]:
        return [leg.dataset for leg in self.legs]

    @property
    def metrics(self) -> list[str]:
        out: list[str] = []
        for leg in self.legs:
            out += [m for m in (leg.metrics or ()) if m not in out]
        return out


_BICUBIC_SOURCE = (
    "the classic bicubic rows copied by SR papers (SRCNN/VDSR evaluation code for Set5/Set14/B100, "
    "RCAN's RGB-pipeline script for Urban100); measured in srbench's README table and "
    "tests/test_published_table.py: every cell within 0.01 dB / 0.0005"
)


def _bicubic(scale: int) -> Track:
    y = ("psnr_y", "ssim_y")
    return Track(
        name=f"bicubic-x{scale}",
        title=f"Classic bicubic table, x{scale} (Set5, Set14, B100, Urban100)",
        scale=scale,
        legs=(
            Leg("set5", "luma", y),
            Leg("set14", "luma", ("psnr_y", "ssim_y_matlab")),
            Leg("b100", "luma", y),
            Leg("urban100", "rgb", y),
        ),
        source=_BICUBIC_SOURCE,
        official="PSNR/SSIM on Y as printed in the tables (each row by the pipeline that fits it)",
        notes="The luma legs run only for methods with a luma path (bicubic); use it to check an installation "
              "against the published numbers, not to rank learned methods (run those with --datasets).",
    )


TRACKS: dict[str, Track] = {t.name: t for t in [
    Track(
        name="ntire2020-rwsr-t1",
        title="NTIRE 2020 Real-World SR, track 1 (image processing artefacts), validation",
        scale=4,
        legs=(Leg("ntire2020_rwsr_t1_val", "rgb", ("psnr_rgb_skimage", "ssim_rgb_skimage", "lpips")),),
        source="Lugmayr et al., NTIRE 2020 Challenge on Real-World Image Super-Resolution, CVPRW 2020; the "
               "official scorer was not found - metrics as the organisers' own code measures them "
               "(andreas128/SRFlow@5a007ad:code/Measure.py, volflow/DeFlow MeasureLib): skimage PSNR/SSIM on "
               "RGB, no shave, LPIPS AlexNet v0.1",
        official="PSNR, SSIM, LPIPS and a human study (MOS); the MOS ranking is not reproducible",
        tables=("CycleSR Table 2 (preliminary test-phase leaderboard; not re-computable on the validation set)",),
        notes="The methods get the challenge's LR (protocol 'given'); HR = its clean ground truth.",
    ),
    Track(
        name="ntire2020-rwsr-t2",
        title="NTIRE 2020 Real-World SR, track 2 (smartphone images), validation - no HR",
        scale=4,
        legs=(Leg("ntire2020_rwsr_t2_val", "rgb", ("niqe", "nrqm", "pi")),),
        source="Lugmayr et al., CVPRW 2020: track 2 has no ground truth and was ranked by a human study only",
        official="MOS/MOR only; srbench's no-reference scores (PIRM convention) are NOT the challenge's ranking",
    ),
    Track(
        name="ntire2017-t2-unknown",
        title="NTIRE 2017 track 2, unknown downscaling, x4 (DIV2K validation)",
        scale=4,
        legs=(Leg("div2k_val_unknown_x4", "rgb", ("psnr_rgb_ntire17", "ssim_rgb_ntire17", "lpips")),),
        source="Timofte et al., NTIRE 2017 Challenge on Single Image Super-Resolution, CVPRW 2017; official "
               "scoring functions NTIRE_PeakSNR_imgs.m / NTIRE_SSIM_imgs.m: RGB, 6 + scale border pixels ignored",
        official="PSNR and SSIM (RGB, border 6 + s)",
        tables=("CycleSR Table 1 (NTIRE17 T2 column), Table 3, Table 4",),
        notes="CycleSR states it evaluates all three of its columns 'in the same way' as the NTIRE 2018 report; "
              "compare its bicubic row (23.976 / 0.644) with both this track and the NTIRE 2018 metrics.",
    ),
    Track(
        name="ntire2018-t2-mild",
        title="NTIRE 2018 track 2, realistic mild x4 (DIV2K validation; LR misaligned)",
        scale=4,
        legs=(Leg("div2k_val_mild", "rgb", ("psnr_ntire18", "ssim_ntire18", "lpips")),),
        source="Timofte et al., NTIRE 2018 Challenge on Single Image Super-Resolution, CVPRW 2018; scoring "
               f"as in {_DIV2K18}: 60x60 centre window, integer shifts in [-40, 40], best PSNR/SSIM",
        official="PSNR and SSIM after shift compensation",
        tables=("CycleSR Table 1 (NTIRE18 T2 column; bicubic 23.196 / 0.563 / 0.547), Table 4",),
        notes="lpips is srbench's whole-image LPIPS (CycleSR does not say how its LPIPS was aligned).",
    ),
    Track(
        name="ntire2018-t4-wild",
        title="NTIRE 2018 track 4, realistic wild x4 (DIV2K validation; LR misaligned)",
        scale=4,
        legs=(Leg("div2k_val_wild", "rgb", ("psnr_ntire18", "ssim_ntire18", "lpips")),),
        source="Timofte et al., CVPRW 2018; scoring function as for track 2 (assumed the same for track 4: the "
               f"known copy, {_DIV2K18}, covers tracks 2 and 3)",
        official="PSNR and SSIM after shift compensation",
        tables=("CycleSR Table 1 (NTIRE18 T4 column; bicubic 22.579 / 0.543 / 0.572), Table 4",),
    ),
    Track(
        name="ntire2021-srspace-x4",
        title="NTIRE 2021 Learning the SR space, x4 (DIV2K validation, 10 samples)",
        scale=4,
        legs=(Leg("div2k_val", "rgb", ("diversity", "lr_psnr", "psnr_y", "ssim_y")),),
        samples=10,
        source="Lugmayr et al., NTIRE 2021 Learning the Super-Resolution Space challenge; official measure "
               "andreas128/NTIRE21_Learning_SR_Space@cd4d574 measure.py: 10 samples, LPIPS (diversity, "
               "LPIPS_mean), LR-PSNR against the downscaled HR with its imresize",
        official="diversity score, LPIPS, LR-PSNR (threshold 45 dB) and a human study",
        notes="The challenge distributed its LR (DIV2K-va_4X.zip); srbench makes the LR with MATLAB bicubic of "
              "the HR (protocol rgb) - LR-PSNR is measured against the downscaled HR either way.",
    ),
    Track(
        name="ntire2021-srspace-x8",
        title="NTIRE 2021 Learning the SR space, x8 (DIV2K validation, 10 samples)",
        scale=8,
        legs=(Leg("div2k_val", "rgb", ("diversity", "lr_psnr", "psnr_y", "ssim_y")),),
        samples=10,
        source="as ntire2021-srspace-x4 (x8 is the RefVAE paper's main setting)",
        official="diversity score, LPIPS, LR-PSNR (threshold 45 dB) and a human study",
        tables=("RefVAE Table 2 (x8, DIV2K: diversity, LPIPS, LR-PSNR/SSIM in RefVAE's own convention)",),
        notes="RefVAE's LR-SSIM/LR-PSNR columns use its own downscaler (torch bicubic) and Y channel, not the "
              "challenge's; they are not comparable to lr_psnr.",
    ),
    Track(
        name="realsrset-nr",
        title="RealSRSet x4, no-reference scores (20 real LR images, no HR)",
        scale=4,
        legs=(Leg("realsrset", "rgb", ("niqe", "nrqm", "pi")),),
        source="Zhang et al., BSRGAN, ICCV 2021 (cszn/BSRGAN testsets/RealSRSet); its README shows per-image "
               "NIQE/NRQM/PI; srbench computes them with the PIRM convention (pyiqa)",
        official="no-reference scores shown per image in a figure; implementation not stated",
    ),
    _bicubic(2),
    _bicubic(3),
    _bicubic(4),
]}


def get_track(name: str) -> Track:
    from srbench.errors import UnknownNameError

    key = str(name).strip().lower()
    if key not in TRACKS:
        raise UnknownNameError("track", name, TRACKS)
    return TRACKS[key]


@dataclass
class Readiness:
    """Whether a track can run here: datasets present (offline), metrics' packages and weight files."""

    datasets: dict[str, str] = field(default_factory=dict)  # name -> "present" | why not
    metrics: dict[str, str] = field(default_factory=dict)  # name -> "available" | why not

    @property
    def runnable(self) -> bool:
        return all(v == "present" for v in self.datasets.values()) and all(v == "available" for v in self.metrics.values())


def readiness(track: Track) -> Readiness:
    """What stops ``track`` from running here, without downloading anything."""
    from srbench import datasets as ds
    from srbench import registry
    from srbench.errors import SrbenchError
    from srbench.listing import metric_availability

    out = Readiness()
    for leg in track.legs:
        spec = ds.get_spec(leg.dataset)
        scales = [track.scale] if spec.given_lr(track.scale) is not None else []
        try:
            rd = ds.resolve(leg.dataset, offline=True, scales=scales)
            out.datasets[leg.dataset] = "present" if rd.images else "no images found"
        except SrbenchError as exc:
            out.datasets[leg.dataset] = "missing (" + str(exc).split(".")[0] + ")"
    for name in track.metrics:
        out.metrics[name] = metric_availability(registry.get_metric(name), offline=True) if name in registry.metrics() else "unknown metric"
    return out


def apply_track(cfg, name: str) -> None:
    """Fill a :class:`srbench.plan.RunConfig` from track ``name`` (legs, scale, samples, track)."""
    track = get_track(name)
    cfg.legs = list(track.legs)
    cfg.datasets = track.datasets
    cfg.scales = [track.scale]
    cfg.samples = track.samples
    cfg.track = track.name
