"""SRGAN (Ledig et al., CVPR 2017): metadata only; the network is imported when the method runs."""

from srbench.method_api import (
    MethodInfo,
    OptionSpec,
    PaperValue,
    WeightFile,
    tile_option_specs,
)

_COMMIT = "b0323c6ca4ca920f7daa41ba05f44bd220557cd9"
_LICENSE = "none stated at that commit (the repository added an MIT LICENSE on 2020-02-27)"
_SHA256 = {
    2: ("a7ddfb8d2109ea7360ca7a6913c3acbb7128deef16c2868476e2bb1e2cf9ec3b", 2_361_404),
    4: ("f4c381640826a48d2440583e4920c6bb4041804f4e285c3c6d585f03961fe87c", 2_952_717),
    8: ("91bc47a807f09ebb9c40a69ff2fd3b598e7e618d91f506b71a9c3ec2cbb94355", 3_544_030),
}


#: default LR context around each tile: the generator's receptive-field radius at every scale
#: (``arch.receptive_field_radius``: 18 at x2, x4 and x8), so tiled output equals whole-image output
TILE_OVERLAP = 18
#: option quantize -> rounding rule: ToPILImage's ``x.mul(255).byte()`` (test_image.py) truncates
QUANTIZE_RULES = {"truncate": "truncate", "round": "half_away"}
DEFAULT_QUANTIZE = "truncate"


def _leftthomas(scale: int) -> WeightFile:
    name = f"netG_epoch_{scale}_100.pth"
    sha, size = _SHA256[scale]
    return WeightFile(
        name=name,
        urls=(
            f"https://raw.githubusercontent.com/leftthomas/SRGAN/{_COMMIT}/epochs/{name}",
            f"https://github.com/leftthomas/SRGAN/raw/{_COMMIT}/epochs/{name}",
        ),
        sha256=sha,
        size=size,
        license=_LICENSE,
        source=f"leftthomas/SRGAN (unofficial PyTorch reproduction), epochs/{name} at commit {_COMMIT[:7]} "
        "(2018-01-17, 'add pretrain model'); 100 epochs on VOC2012 crops",
        manual=False,
        scale=scale,
    )


def _param_count() -> int:
    from srbench_methods.srgan.arch import count_parameters

    return count_parameters(4)



#: SRGAN paper (Ledig et al., CVPR 2017, arXiv:1609.04802) vs srbench, shown by `srbench list --verbose`.
#: No paper text is kept in this workplace; the authors released no code, so "srbench" is leftthomas@b0323c6.
PAPER_VS_SRBENCH = (
    PaperValue(
        "code and weights",
        "none released",
        "leftthomas/SRGAN@b0323c6 (unofficial), netG_epoch_{2,4,8}_100.pth",
        "the most reachable public reproduction whose files load strictly (see notes)",
    ),
    PaperValue("scale", "x4 (Sec. 3.1)", "x2, x4, x8", "the reproduction trained one model per scale; x4 is the paper's"),
    PaperValue(
        "residual blocks",
        "B = 16 (Sec. 3.2, Fig. 4)",
        "5",
        "leftthomas@b0323c6 has 5; its x4 generator has 734,092 parameters, a 16-block Fig. 4 generator "
        "about 1.55 M",
    ),
    PaperValue(
        "residual block",
        "k3n64s1 conv, BN, PReLU, k3n64s1 conv, BN, skip (Fig. 4)",
        "the same",
        "",
    ),
    PaperValue("first / last conv", "k9n64s1 + PReLU / k9n3s1 (Fig. 4)", "the same", ""),
    PaperValue(
        "post-residual block",
        "k3n64s1 conv + BN, then the long skip (Fig. 4)",
        "3x3 conv + PReLU, no BN, then the long skip",
        "leftthomas@b0323c6",
    ),
    PaperValue(
        "upsampling",
        "2 sub-pixel blocks: k3n256s1 conv, pixel shuffle x2, PReLU (Fig. 4)",
        "log2(scale) such blocks (2 at x4)",
        "",
    ),
    PaperValue("PReLU slopes", "parametric ReLU (Sec. 2.2; sharing not stated)", "one shared slope per PReLU",
               "leftthomas uses nn.PReLU()"),
    PaperValue("output range", "HR images scaled to [-1, 1] (Sec. 3.2)", "(tanh(x) + 1) / 2 in [0, 1]",
               "leftthomas@b0323c6"),
    PaperValue(
        "training data",
        "350k ImageNet images, 96 px HR crops, bicubic x4 LR, batch 16; from the MSE SRResNet (Sec. 3.2)",
        "16,700 VOC2012 images, random 88 px crops, PIL-bicubic LR; 100 epochs from scratch",
        "leftthomas@b0323c6 train.py / data_utils.py",
    ),
    PaperValue(
        "generator loss",
        "VGG19 phi_5,4 content loss + 1e-3 adversarial (Sec. 2.3, 3.4: SRGAN-VGG54)",
        "pixel MSE + 0.006 VGG16-feature MSE + 0.001 adversarial + 2e-8 TV",
        "leftthomas@b0323c6 loss.py",
    ),
    PaperValue(
        "evaluation protocol",
        "PSNR/SSIM on Y after removing a 4 px border (Sec. 3.1); Set5, Set14, BSD100; MOS",
        "psnr_y/ssim_y on BT.601 Y, shave = scale (4 px at x4); MATLAB-imresize LR",
        "",
    ),
    PaperValue("output rounding", "not stated", "truncate (option quantize=round: half away)",
               "leftthomas test_image.py saves through ToPILImage (x.mul(255).byte(): truncation)"),
)

METHODS = [
    MethodInfo(
        name="srgan",
        title="SRGAN",
        paper="Ledig et al., CVPR 2017",
        citation="""@InProceedings{ledig2017srgan,
    author = {Ledig, Christian and Theis, Lucas and Husz{\\'a}r, Ferenc and Caballero, Jose and Cunningham, Andrew and Acosta, Alejandro and Aitken, Andrew and Tejani, Alykhan and Totz, Johannes and Wang, Zehan and Shi, Wenzhe},
    title = {Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial Network},
    booktitle = {Proceedings of the IEEE Conference on Computer Vision and Pattern Recognition (CVPR)},
    pages = {4681--4690},
    year = {2017}
}""",
        code_url=f"https://github.com/leftthomas/SRGAN/tree/{_COMMIT}",
        code_license=_LICENSE,
        weights_license=_LICENSE,
        scales=(2, 4, 8),
        stochastic=False,
        reference_based=False,
        protocols=("rgb",),
        learned=True,
        variants={"leftthomas": tuple(_leftthomas(s) for s in (2, 4, 8))},
        variant_notes={
            "leftthomas": (
                "leftthomas/SRGAN@b0323c6 generators for x2/x4/x8 (unofficial reproduction; the SRGAN authors "
                "released no weights). Trained on VOC2012 crops with PIL-bicubic LR, so expect SRGAN-like, "
                "not paper-level, numbers"
            ),
        },
        loader="srbench_methods.srgan.model:load",
        adapter_version="1",
        notes=(
            "The SRGAN authors (Twitter) released neither code nor weights. This adapter runs the most "
            "reachable public PyTorch reproduction, leftthomas/SRGAN at commit b0323c6, whose released "
            "netG_epoch_{2,4,8}_100.pth load strictly only into that commit's generator (own implementation "
            "with its parameter names). Differences to the paper: 5 residual blocks instead of 16; the "
            "post-residual block is conv+PReLU without BN; output (tanh+1)/2 in [0,1] instead of the paper's "
            "[-1,1]; scalar PReLU slopes; trained from scratch (no SRResNet pre-training) on random 88-px crops "
            "of 16,700 VOC2012 images (LR by PIL bicubic, not MATLAB) for 100 epochs with loss = pixel MSE "
            "+ 0.006 VGG16-feature MSE + 0.001 adversarial + 2e-8 TV (paper: VGG19 features, 1e-3 "
            "adversarial, ImageNet); x2 and x8 models exist besides x4. I/O as that commit's test_image.py: RGB uint8/255 in; output x255 truncated to uint8 "
            "(torchvision ToPILImage), option quantize=round rounds half away from zero instead. Single-channel "
            "LR is replicated to RGB. Options: tile (LR px, default whole image), tile_overlap (default "
            f"{TILE_OVERLAP} = the receptive-field radius, so tiled output equals whole-image output). "
            "Other public checkpoints were considered and not added: BasicSR's MSRGAN/MSRResNet (Google Drive "
            "'reproduced experiments' folder only, no stable URL); twtygqyy/pytorch-SRResNet (an MSE SRResNet, "
            "not SRGAN, stored as a pickled whole model that cannot be read with weights_only=True); "
            "Lornatang/SRGAN-PyTorch (weights on a personal Hugging Face repo whose URL and file names changed "
            "in 2023 and 2025; contents not verifiable here)."
        ),
        param_count=_param_count,
        options=(
            *tile_option_specs(TILE_OVERLAP, exact=True),
            OptionSpec(
                "quantize",
                "float -> uint8: truncate (as the official test_image.py, ToPILImage) or round (half away from zero)",
                "choice",
                DEFAULT_QUANTIZE,
                choices=tuple(QUANTIZE_RULES),
            ),
        ),
        rounding=QUANTIZE_RULES[DEFAULT_QUANTIZE],
        paper_vs_srbench=PAPER_VS_SRBENCH,
    )
]
