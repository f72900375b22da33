"""CycleSR / CycleSRGAN (Chen et al., CVPRW 2020): light metadata only (see networks.py for the nets)."""

from srbench.degradation_api import INPUT_LR, DegradationInfo
from srbench.method_api import MethodInfo, WeightFile, tile_option_specs

PAPER = "Chen et al., Unsupervised Image Super-Resolution with an Indirect Supervised Path, CVPRW 2020"
CITATION = """@InProceedings{Chen_2020_CVPR_Workshops,
  author    = {Chen, Shuaijun and Han, Zhen and Dai, Enyan and Jia, Xu and Liu, Ziluan and Liu, Xing and
               Zou, Xueyi and Xu, Chunjing and Liu, Jianzhuang and Tian, Qi},
  title     = {Unsupervised Image Super-Resolution With an Indirect Supervised Path},
  booktitle = {Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR) Workshops},
  month     = {June},
  year      = {2020}
}"""
CODE_URL = "https://github.com/huawei-noah/vega/tree/master/vega/networks/pytorch/cyclesrbodys"
NO_OFFICIAL = "no official checkpoint: train with srbench or supply one"
SCALES = (2, 4)
#: default LR context around each tile: the largest receptive-field bound of the released-size networks
#: (networks.receptive_field_radius: SRResNet x4 = 43, VDSR x4 = 26), so tiling them is exact. A
#: checkpoint that sees further must be given an explicit tile_overlap to be tiled.
TILE_OVERLAP = 43
#: outputs clamped to [0, 1] and rounded half away from zero (srbench's convention; Vega saves floats)
ROUNDING = "half_away"


def _files(prefix: str, variant: str) -> tuple[WeightFile, ...]:
    return tuple(
        WeightFile(
            name=f"{prefix}_{variant}_x{s}.srbench.safetensors",
            license="set by whoever trained it",
            source=NO_OFFICIAL,
            manual=True,
            scale=s,
        )
        for s in SCALES
    )


def _param_count_vdsr() -> int:
    from srbench.torch_utils import param_count

    from .networks import VDSR

    return param_count(VDSR(scale=4))


def _param_count_g1() -> int:
    from srbench.torch_utils import param_count

    from .networks import CycleGANGenerator

    return param_count(CycleGANGenerator())


_COMMON_NOTES = (
    "Only the SR network runs at test time, on the real LR image (the translation networks G1/G2 and "
    "the discriminators are training-only). Implemented from the paper and from the layer layout of the "
    "authors' reference code in Huawei Vega (cyclesrbodys, Apache-2.0; no weights released), so Vega's "
    "model_SR.pth (VDSR) loads strictly without a config. Variants: 'vdsr' = the paper's modified VDSR "
    "as in Vega: no bicubic pre-upsampling, 3x3 head conv, 20 x (3x3 conv 64, BatchNorm, ReLU) + conv-BN "
    "inside a global skip, log2(s) x (conv 64->256, PixelShuffle 2, ReLU), conv+ReLU, conv to RGB "
    "(1,114,051 parameters at x4; BatchNorm is Vega's default SR_norm_type, 'none'/'instance' selectable "
    "in the checkpoint config). 'srresnet' = the original SRResNet of Ledig et al. (9x9 head + PReLU, 16 "
    "residual blocks conv-BN-PReLU-conv-BN, conv-BN + global skip, 2 x (conv 64->256, PixelShuffle, "
    "PReLU), 9x9 conv to RGB; single-parameter PReLU; 1,549,462 parameters at x4) - Vega's SRResNet "
    "class is broken (cannot be instantiated), so Ledig's description is followed and the output is "
    "linear in [0,1] (no tanh). Scales: x2 and x4 (Vega's upsampler is log2(s) PixelShuffle(2) "
    "stages, so x3 is not possible; the paper reports x4). Images are RGB in [0,1], no mean "
    "subtraction (Vega feeds to_tensor images); the output is clamped to [0,1] and rounded. "
    "Checkpoints: srbench safetensors + JSON config (docs/checkpoints.md), arch 'cyclesr.vdsr' or "
    "'cyclesr.srresnet', one file per scale. Options: tile / tile_overlap (srbench.tiling; the default "
    f"overlap, {TILE_OVERLAP} LR px, bounds the receptive field of the released-size networks, so tiled output "
    "equals whole-image output; a deeper user checkpoint is only tiled with an explicit tile_overlap)."
)

METHODS = [
    MethodInfo(
        name="cyclesr",
        title="CycleSR",
        paper=PAPER,
        citation=CITATION,
        code_url=CODE_URL,
        code_license="Apache-2.0 (Vega reference code; not vendored)",
        weights_license="n/a (no official weights; user-trained)",
        scales=SCALES,
        stochastic=False,
        variants={"vdsr": _files("cyclesr", "vdsr"), "srresnet": _files("cyclesr", "srresnet")},
        variant_notes={
            "vdsr": "modified VDSR (NTIRE17 track 2 setting in the paper), MSE-trained",
            "srresnet": "original SRResNet (NTIRE18 setting in the paper), MSE-trained",
        },
        loader="srbench_methods.cyclesr.model:load_cyclesr",
        adapter_version="1",
        notes="CycleSR = the SR network trained with MSE only (Vega: SR_lam=1000 x MSE, joint training "
        "with G1 through cycleSR_lam). " + _COMMON_NOTES,
        param_count=_param_count_vdsr,
        options=tile_option_specs(TILE_OVERLAP, exact=True),
        rounding=ROUNDING,
    ),
    MethodInfo(
        name="cyclesrgan",
        title="CycleSRGAN",
        paper=PAPER,
        citation=CITATION,
        code_url=CODE_URL,
        code_license="Apache-2.0 (Vega reference code; not vendored)",
        weights_license="n/a (no official weights; user-trained)",
        scales=SCALES,
        stochastic=False,
        variants={"vdsr": _files("cyclesrgan", "vdsr"), "srresnet": _files("cyclesrgan", "srresnet")},
        variant_notes={
            "vdsr": "modified VDSR generator trained with MSE + perceptual + relativistic adversarial losses",
            "srresnet": "original SRResNet generator trained with MSE + perceptual + relativistic adversarial losses",
        },
        loader="srbench_methods.cyclesr.model:load_cyclesrgan",
        adapter_version="1",
        notes="CycleSRGAN = the same SR generator as CycleSR, trained with perceptual + relativistic "
        "adversarial losses added to the pixel loss (Vega has no GAN variant; the losses only change "
        "the weights, not the inference network). Which SR module the paper's CycleSRGAN numbers used is "
        "not stated per table; both are offered, 'vdsr' first for symmetry with cyclesr. " + _COMMON_NOTES,
        param_count=_param_count_vdsr,
        options=tile_option_specs(TILE_OVERLAP, exact=True),
        rounding=ROUNDING,
    ),
]

DEGRADATIONS = [
    DegradationInfo(
        name="cyclesr-g1",
        title="CycleSR G1 (synthetic LR -> real-like LR)",
        paper=PAPER,
        citation=CITATION,
        loader="srbench_methods.cyclesr.degradation:load",
        stochastic=False,
        scales=SCALES,
        input=INPUT_LR,
        learned=True,
        code_url=CODE_URL,
        code_license="Apache-2.0 (Vega reference code; not vendored)",
        variants={
            "default": tuple(
                WeightFile(
                    name=f"cyclesr_g1_x{s}.srbench.safetensors",
                    license="set by whoever trained it",
                    source=NO_OFFICIAL,
                    manual=True,
                    scale=s,
                )
                for s in SCALES
            )
        },
        notes=(
            "CycleGAN ResNet generator (c7s1-64, d128, d256, 9 residual blocks, u128, u64, c7s1-3, tanh; "
            "11,378,179 parameters) with Vega's choices: InstanceNorm without affine parameters, "
            "zero-padded 3x3 convs in the residual blocks, reflection padding around the 7x7 convs, "
            "transposed-conv upsampling; children named G0..G27 so Vega's model_G.pth loads strictly. "
            "Input: an LR image (LR -> LR of the same size); from_hr() first applies MATLAB bicubic 1/s "
            "(Vega uses PIL bicubic for the synthetic LR). Sizes that are not multiples of 4 are padded "
            "(reflect) and cropped back. Input/output RGB in [0,1] (tanh output clamped, rounded half away from "
            "zero). Deterministic. No options."
        ),
        param_count=_param_count_g1,
    )
]
