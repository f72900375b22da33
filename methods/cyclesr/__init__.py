"""CycleSR / CycleSRGAN (Chen et al., CVPRW 2020): light metadata only (see networks.py for the nets)."""

from srbench.degradation_api import INPUT_LR, DegradationInfo
from srbench.method_api import MethodInfo, PaperValue, WeightFile, tile_option_specs

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
    "PReLU), 9x9 conv to RGB; single-parameter PReLU; 1,549,462 parameters at x4), as the paper names "
    "the original SRResNet for the NTIRE18 tracks. Vega's SRResNet class cannot be instantiated in any "
    "release (srmodels.py, 0.9.3 to 1.8.x: 'resnet_blocks += ResBlock(...)' adds an nn.Module to a list, "
    "TypeError: 'ResBlock' object is not iterable), so no Vega SRResNet checkpoint can exist; its intended "
    "layout is BasicSR's SRResNet (3x3 head without activation, ReLU blocks, 3x3 HR convs), not the "
    "original, and is not offered. The output is linear in [0,1] (no tanh; CycleSR trains on [0,1] "
    "images). Scales: x2 and x4 (Vega's upsampler is log2(s) PixelShuffle(2) "
    "stages, so x3 is not possible; the paper reports x4). Images are RGB in [0,1], no mean "
    "subtraction (Vega feeds to_tensor images); the output is clamped to [0,1] and rounded. "
    "Checkpoints: srbench safetensors + JSON config (docs/checkpoints.md), arch 'cyclesr.vdsr' or "
    "'cyclesr.srresnet', one file per scale. Options: tile / tile_overlap (srbench.tiling; the default "
    f"overlap, {TILE_OVERLAP} LR px, bounds the receptive field of the released-size networks, so tiled output "
    "equals whole-image output; a deeper user checkpoint is only tiled with an explicit tile_overlap). "
    "Every value the paper states or leaves open: the paper-vs-srbench table (srbench list --verbose). "
    "Training: srbench train cyclesr[:VARIANT] / cyclesrgan[:VARIANT] --data HR --lr-data REAL_LR "
    "(methods/cyclesr/train.py: G1 pre-training, SR pre-training, collaborative training as Sec. 3.4 / 4.1) "
    "writes the SR checkpoint (--weights cyclesr=...) and G1 (cyclesr_g1_x<s>, --weights cyclesr-g1=...)."
)

_TRAINING_ONLY = ("training only (changes the weights, not the inference network): srbench train follows it, see the "
                  "training recipe table")
#: Vega = the authors' reference code, huawei-noah/vega vega/networks/pytorch/cyclesrbodys and
#: examples/data_augmentation/cyclesr/cyclesr.yml (@ 12e37a1); sections are the CycleSR paper's.
_PAPER_SR = (
    PaperValue("SR module, NTIRE17 T2", "modified VDSR (Sec. 4.1)", "variant vdsr (default)",
               "the modification is not described; srbench follows Vega's VDSR, whose model_SR.pth loads strictly"),
    PaperValue("VDSR depth / width", "not stated", "head conv + 20 x (conv3x3 64, BN, ReLU) + conv-BN, 64 channels",
               "Vega's cyclesr.yml (SR_nb 20, SR_nf 64), after the original VDSR's depth 20 / width 64 (Kim et al. 2016)"),
    PaperValue("VDSR upsampling", "not stated", "post-upsampling: log2(s) x (conv 64->256, PixelShuffle 2, ReLU)",
               "Vega (the original VDSR takes a bicubic-upsampled input)"),
    PaperValue("VDSR normalisation", "not stated", "BatchNorm (config norm: instance / none)",
               "Vega's default SR_norm_type: batch (the original VDSR has none)"),
    PaperValue("SR module, NTIRE18 T2 / T4", "original SRResNet (Sec. 4.1)",
               "variant srresnet = Ledig et al. 2017: 9x9 head + PReLU, 16 res. blocks of 64, 2 x PixelShuffle, 9x9 tail",
               "Vega's SRResNet cannot be built (TypeError, every release) and was meant as BasicSR's 3x3/ReLU "
               "variant, not the original: srbench follows the paper"),
    PaperValue("SRResNet PReLU", "not stated", "one shared slope per PReLU", "torch's default; Ledig et al. do not say"),
    PaperValue("SRResNet output", "not stated", "linear, RGB in [0, 1] (no tanh)",
               "CycleSR trains on [0, 1] images (Vega: to_tensor); Ledig's SRResNet targets [-1, 1]"),
    PaperValue("input / output", "not stated", "RGB in [0, 1], no mean subtraction; output clamped, rounded half away",
               "Vega feeds to_tensor images and clamps the SR to [0, 1] when validating"),
    PaperValue("scales", "x4 (Tables 1-4)", "x2, x4", "log2(s) PixelShuffle(2) stages (Vega), so no x3"),
    PaperValue("test-time path", "SR module on the real LR (Sec. 3.1, Fig. 3)", "SR network only, on the given LR",
               "G1, G2 and the discriminators are training-only (G1 is degradation cyclesr-g1)"),
    PaperValue("collaborative training", "lambda_SRtrans = lambda_mse (Sec. 3.4); 1e3 / 1e2 / 1e2 for NTIRE17 T2 / "
               "NTIRE18 T2 / T4 (Sec. 4.1)", "in srbench train", _TRAINING_ONLY + "; Vega: SR_lam = cycleSR_lam = 1000"),
    PaperValue("optimiser, schedule", "Adam (0.9, 0.999), lr 2e-4 translation / 1e-4 SR, 100 + 100 epochs (Sec. 4.1)",
               "in srbench train", _TRAINING_ONLY + "; Vega's SR optimiser uses betas (0.5, 0.999)"),
    PaperValue("training data", "first 400 DIV2K train HR, last 400 LR, unpaired (Sec. 4.1)", "any HR / real-LR sets (--data, --lr-data)",
               _TRAINING_ONLY + "; Vega's Div2kUnpair splits at image 0401"),
)
PAPER_CYCLESR = _PAPER_SR + (
    PaperValue("SR loss", "L_mse only (Sec. 4.1, 4.2)", "in srbench train", _TRAINING_ONLY),
)
PAPER_CYCLESRGAN = _PAPER_SR + (
    PaperValue("SR loss", "L_mse + relativistic L_adv (as ESRGAN) + L_percep (Sec. 3.3, Table 4); weights not stated",
               "in srbench train", _TRAINING_ONLY + "; Vega has no GAN variant"),
    PaperValue("SR module of CycleSRGAN", "not stated per track (Table 4)", "vdsr (default) or srresnet",
               "Sec. 4.1's per-track choice presumably applies; both are offered"),
)
PAPER_G1 = (
    PaperValue("translation model", "CycleGAN, its hyper-parameters unchanged (Sec. 3.2, 4.1)",
               "CycleGAN ResNet generator in Vega's layout", "Vega's Generator; its model_G.pth loads strictly"),
    PaperValue("G1 sizes", "not stated (CycleGAN: c7s1-64, d128, d256, R256 x 9, u128, u64, c7s1-3)",
               "the same: ngf 64, 9 residual blocks (11,378,179 parameters)",
               "Vega (cyclesr.yml ngf 64, Generator default 9 blocks); CycleGAN uses 6 blocks for 128-px "
               "training images, Vega crops 120-px LR"),
    PaperValue("normalisation", "not stated (CycleGAN: instance norm)", "InstanceNorm, no affine parameters",
               "Vega (cyclesr.yml norm: instance)"),
    PaperValue("residual-block padding", "not stated (CycleGAN: reflection)", "zero padding", "Vega's ResBlock"),
    PaperValue("upsampling", "not stated (CycleGAN: fractionally strided convs)", "ConvTranspose2d, stride 2",
               "Vega (up_mode: transpose)"),
    PaperValue("synthetic LR", "bicubic downsampling of the HR (Sec. 3.1)", "from_hr(): MATLAB bicubic 1/s",
               "the implementation is not stated; Vega uses PIL's bicubic, srbench the benchmark's MATLAB imresize"),
    PaperValue("extra synthetic degradation", "optional, e.g. noise (Sec. 1); none stated for the experiments",
               "none", "Vega adds none"),
    PaperValue("input / output", "not stated", "RGB in [0, 1]; tanh output clamped to [0, 1], rounded half away",
               "Vega feeds to_tensor images and uses the tanh output as is; a uint8 image holds no negatives"),
    PaperValue("image sizes", "not stated", "any: reflect-padded to a multiple of 4, cropped back",
               "srbench's: the two stride-2 convolutions need multiples of 4"),
    PaperValue("noise input", "not stated", "none: deterministic", "CycleGAN's generator takes no noise"),
    PaperValue("scales", "x4 (Tables 1-4)", "x2, x4 (one file each)", "G1 maps LR to LR; each scale is trained apart"),
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
        paper_vs_srbench=PAPER_CYCLESR,
        training_recipe="srbench_methods.cyclesr.train:CycleSRRecipe",
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
        paper_vs_srbench=PAPER_CYCLESRGAN,
        training_recipe="srbench_methods.cyclesr.train:CycleSRGANRecipe",
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
        paper_vs_srbench=PAPER_G1,
    )
]
