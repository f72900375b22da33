"""RefVAE (Liu, Siu, Wang, CVPRW 2021): metadata only; the network is imported by the loader."""

from srbench.method_api import (
    REF_OPTION,
    MethodInfo,
    OptionSpec,
    PaperValue,
    WeightFile,
)

#: option latent: z = mu + eps * sigma with eps ~ N(0, I) (the official scripts), or z = mu
LATENTS = ("sample", "mean")
#: the eval scripts save np.uint8(clamp(255 * SR, 0, 255)): truncation
ROUNDING = "truncate"

_DRIVE = "https://drive.google.com/file/d/1R3vR7PiFNT26sIBorVoq6Mf-F4pMHfmh/view?usp=sharing"
_SOURCE = (
    "Holmes-Alan/RefVAE README, '1. Quick testing': one Google Drive download with the pre-trained "
    "models, to be put under models/ (eval_4x.py / eval_8x.py read models/ConVAE_{4,8}x.pth and "
    "models/vgg_r41.pth)"
)
_LICENSE = "MIT (the repository's licence; no separate weights licence stated)"

WEIGHTS = (
    WeightFile(name="ConVAE_4x.pth", urls=(_DRIVE,), license=_LICENSE, source=_SOURCE, manual=True, scale=4),
    WeightFile(name="ConVAE_8x.pth", urls=(_DRIVE,), license=_LICENSE, source=_SOURCE, manual=True, scale=8),
    WeightFile(
        name="vgg_r41.pth",
        urls=(_DRIVE,),
        license="BSD-2-Clause (LinearStyleTransfer, where the file comes from)",
        source=(
            "VGG-19 encoder up to relu4_1 ('encoder4') of Li et al.'s LinearStyleTransfer "
            "(github.com/sunshineatnoon/LinearStyleTransfer, models/vgg_r41.pth); RefVAE's scripts load it "
            "from models/vgg_r41.pth next to the ConVAE checkpoints. Not torchvision's VGG19."
        ),
        manual=True,
    ),
)


def _param_count(scale: int = 8) -> int:
    import torch
    from srbench_methods.refvae.network import Encoder4, RefVAENet

    with torch.device("meta"):
        mods = [RefVAENet(scale), Encoder4()]
    return sum(p.numel() for m in mods for p in m.parameters())


CITATION = """@InProceedings{Liu2021refvae,
  author    = {Liu, Zhi-Song and Siu, Wan-Chi and Wang, Li-Wen},
  title     = {Variational AutoEncoder for Reference based Image Super-Resolution},
  booktitle = {IEEE/CVF Conference on Computer Vision and Pattern Recognition Workshops (CVPRW)},
  month     = {June},
  year      = {2021},
  note      = {arXiv:2106.04090}
}"""

NOTES = """\
Official inference path reproduced (Holmes-Alan/RefVAE eval_4x.py / eval_8x.py, commit 836b8f1): LR
ToTensor in [0, 1], whole image (no chopping); LR_feat = relu4_1 of the VGG encoder (vgg_r41.pth) on the
bicubic-upsampled LR (F.interpolate, align_corners=False); the reference resized to 256x256, encoded
by the same VGG encoder, then by the conditional VAE into (mu, logvar); z = mu + eps * exp(logvar/2);
decoded, modulated by the LR features and added to the bicubic upsampled LR; output
np.uint8(clamp(255*SR, 0, 255)) (truncation, as the scripts save the images). One checkpoint per scale
(VAE_v3_4x / VAE_v3_8x, identical but for the bicubic skip's factor) plus the shared encoder.
Reference modes (option ref, srbench run --ref, or sample(..., ref=...)): 'lr' (default; the paper's
'Our(LR)': LR.resize((256, 256)) with PIL's default bicubic filter), 'noise' (the paper's
'Our(random)': uint8(128 * U[0,1)) 256x256x3), an image path, a folder of images (sample i uses the
i-th file in sorted order, cycling; the official --use_ref runs every file) or an HxWx3 uint8 array;
external references are read with srbench.images.read_image (a corrupt file is an error naming it) and
resized to 256x256 with PIL bilinear (torchvision Resize). The paper's 'Our(HR)' (the ground truth as
reference) is an oracle and not offered.
Stochastic even with a fixed reference: the official model samples eps with torch.randn_like
(unseeded). srbench draws from a local CPU torch.Generator - per sample the noise reference first
(mode 'noise'), then eps (1x256 float32): sample(lr, n, seed) is reproducible (srbench run --seed);
upscale() = sample(lr, 1, DEFAULT_SEED = 0)[0]. Option latent=mean uses z = mu instead.
Differences to the scripts: they crop the LR to a multiple of the scale (modcrop) - srbench does not
(the SR must be s x LR); at x4 an odd LR side is padded by one mirrored pixel (bottom/right) because
the encoder grid is s*H/8, and the SR cropped back. The official scripts silently keep a random
encoder when vgg_r41.pth is missing; srbench refuses to run. The published table evaluates on LR made
with PIL bicubic (test.py rescale_img) and scores Y PSNR/SSIM with a 'scale' px shave; srbench's LR is
MATLAB bicubic, so small differences to the paper's numbers are expected.
Scales: the paper's setting is x8 only (Sec. 4.1, alpha = 8; Tables 1-3 are all x8) - ConVAE_8x.pth.
ConVAE_4x.pth is released too and srbench runs it at x4, but the paper publishes no x4 number.
References vs the paper's settings: Our(LR) = ref lr; Our(random) / Our (Random) = ref noise (the paper
calls it a random Gaussian map, Sec. 1; the scripts draw uniform noise in [0, 128): srbench follows
the scripts); Our (Reference) of Table 2 (10 WikiArt images picked at random, not identified) = ref
FOLDER with such images; Our(HR) = not offered. The paper's encoder-free test (z ~ N(0, I) without a
reference, Sec. 3.2) is in no official script and is not offered.
Architecture vs the paper: the VGG encoder is VGG-19 up to relu4_1 (9 of VGG-19's 16 3x3 convs, 3
max-pools, 8x down-sampling; the paper says all convolution layers are kept, Sec. 3.1, but its 3-pool /
8x / 32x32x512 statements fit relu4_1); latent size 256 (not stated in the paper); the image decoder
(three 3x3 convs with bilinear x2 steps, Sec. 3.3) is followed by a 1x1 and a 3x3 conv and adds the
bicubic-upsampled LR (a skip the paper does not mention). The paper states no parameter count.
Parameters: 37,430,415 per scale (RefVAE net 33,924,675 incl. an unused BatchNorm1d; VGG encoder
3,505,740).
srbench-trained weights (srbench train refvae --scale 4|8, methods/refvae/train.py): the recipe writes
ConVAE_<s>x.pth in the released format (a plain state dict of this class, read back
weights-only, loaded strictly like the official file) with ConVAE_<s>x.pth.srbench-trained
beside it (JSON: arch, training provenance, the sha256 of the encoder it was trained with; its presence makes
run manifests record the file as 'trained'), and copies the vgg_r41.pth it trained with (the encoder is fixed,
never trained) into the same folder: `srbench run --weights refvae=<training output folder>` finds every
file; `srbench weights import refvae <file>` caches one (the marker stays behind: provenance 'user')."""


#: paper (Liu, Siu, Wang, CVPRW 2021, arXiv:2106.04090) vs srbench, shown by `srbench list --verbose`
PAPER_VS_SRBENCH = (
    PaperValue(
        "scale",
        "x8: every table (Sec. 4.1 alpha = 8; Tables 1-3)",
        "x8 (ConVAE_8x.pth) and x4 (ConVAE_4x.pth)",
        "both files are in the release; x4 has no published number to compare with",
    ),
    PaperValue(
        "training data of the weights",
        "DIV2K + Flickr2K, bicubic LR, 32x32 LR patches at x8; WikiArt references; batch 16, 5e4 it. (Sec. 4.1)",
        "ConVAE_4x.pth / ConVAE_8x.pth as released (the README does not say how each was trained)",
        "main_GAN.py's defaults (x4, 64 px LR patches, batch 8, other loss weights than Sec. 4.1) "
        "differ from the paper; which recipe made the files is unknown",
    ),
    PaperValue(
        "VGG encoder",
        "pre-trained VGG-19, all conv layers kept, FC dropped; 3 max-pools = 8x down (Sec. 3.1)",
        "vgg_r41.pth: VGG-19 up to relu4_1 (1x1 colour conv + 9 3x3 convs, 3 max-pools; 3,505,740 params)",
        "the official scripts load LinearStyleTransfer's vgg_r41.pth; 'all conv layers' would be 16 "
        "3x3 convs, but the 3-pool / 8x / 32x32x512 statements fit relu4_1; srbench follows the code",
    ),
    PaperValue(
        "reference input",
        "resized to 256x256; F_R is 32x32x512 (Sec. 3.1)",
        "256x256 (PIL bicubic for ref lr, bilinear for files); relu4_1 32x32x512",
        "",
    ),
    PaperValue(
        "LR features",
        "VGG features of the bicubic-upscaled LR (Sec. 3.1)",
        "relu4_1 of PyTorch-bicubic x s LR (a=-0.75), grid sH/8 x sW/8",
        "",
    ),
    PaperValue(
        "CVAE latent size",
        "not stated",
        "256",
        "official VAE_v3_{4,8}x: Linear 16384 -> 512 = (mu, logvar) of 256 each",
    ),
    PaperValue(
        "CVAE feature encoder",
        "Figure 2 only (no sizes in the text)",
        "1x1 conv 512->64, BN, LReLU, 3x3 conv 64->64, BN, LReLU, bilinear to 16x16, Linear 16384->512",
        "official code",
    ),
    PaperValue(
        "latent sampling",
        "z = mu + eps * sigma, eps ~ N(0, I) (Sec. 3.2)",
        "the same (latent=sample; latent=mean: z = mu)",
        "the scripts draw eps unseeded (torch.randn_like); srbench draws it from a seeded CPU generator",
    ),
    PaperValue(
        "encoder-free testing",
        "Feature Encoder may be dropped, z ~ N(0, I) (Sec. 3.2)",
        "not offered: the reference always goes through the encoder",
        "no official script has that path",
    ),
    PaperValue(
        "condition and fusion",
        "one conv block + resize to the LR-feature size -> C_R; F = C_R (1 + F_Sigma) + F_mu (Sec. 3.2)",
        "Linear 256->16384 (64x16x16), bilinear resize, 1x1 conv 64->512 + res. block; mask 512->1024",
        "the F_mu / F_Sigma branch is 1x1 conv + 3 residual blocks (512) + 1x1 conv to 1024, split in two",
    ),
    PaperValue(
        "image decoder",
        "three conv layers with bilinear interpolation (Sec. 3.3)",
        "3 x (bilinear x2, 3x3 conv, LReLU) 512->256->128->64, 1x1 conv, 3x3 conv to RGB, + bicubic LR",
        "the global bicubic skip (PyTorch bicubic x s of the LR) is in the official code only",
    ),
    PaperValue("reference 'Our(LR)'", "the LR itself (Table 1; Table 2 row LR)", "ref=lr (default)",
               "LR.resize((256, 256)), PIL bicubic, as eval_*x.py --use_img_self"),
    PaperValue("reference 'Our(HR)'", "the ground-truth HR (Table 1; Table 2 row HR)", "not offered",
               "an oracle; ref=PATH would give one file for every image"),
    PaperValue(
        "reference 'Our (Reference)'",
        "10 WikiArt images picked at random (Table 2, Ref. 1-10)",
        "ref=FOLDER: sample i uses the i-th file (sorted, cycling)",
        "the paper's 10 images are not identified",
    ),
    PaperValue(
        "reference 'Our(random)'",
        "a random Gaussian map (Sec. 1; Table 1 Our(random), Table 2 Our (Random))",
        "ref=noise: uint8(128 * U[0, 1)) 256x256x3",
        "the official scripts draw uniform noise in [0, 128), not Gaussian; srbench follows the scripts",
    ),
    PaperValue(
        "diversity protocol",
        "10 samples per image, NTIRE2021 diverse score (Sec. 4.1)",
        "--samples 10 with metric diversity (NTIRE21 measure.py)",
        "srbench run takes 1 sample per image unless --samples is given",
    ),
    PaperValue(
        "evaluation protocol",
        "PSNR/SSIM on Y of YCbCr (Sec. 4.1, footnote 1), LPIPS; bicubic LR; crop not stated",
        "MATLAB-imresize LR (not modcropped); psnr_y/ssim_y BT.601 Y, shave = scale; lpips (AlexNet v0.1)",
        "the official test.py makes the LR with PIL bicubic of the modcropped HR, Y by MATLAB's "
        "rgb2ycbcr formula, shave = scale; small differences to the paper's numbers are expected",
    ),
    PaperValue("output rounding", "not stated", "truncate",
               "eval_*x.py save np.uint8(clamp(255 * SR, 0, 255))"),
)

METHODS = [
    MethodInfo(
        name="refvae",
        title="RefVAE",
        paper="Liu, Siu, Wang, CVPRW 2021",
        citation=CITATION,
        code_url="https://github.com/Holmes-Alan/RefVAE",
        code_license="MIT",
        weights_license=_LICENSE,
        scales=(4, 8),
        stochastic=True,
        reference_based=True,
        protocols=("rgb",),
        variants={"official": WEIGHTS},
        variant_notes={
            "official": "released ConVAE_4x.pth / ConVAE_8x.pth with the vgg_r41.pth encoder; reference via option ref (--ref)",
        },
        loader="srbench_methods.refvae.model:load",
        training_recipe="srbench_methods.refvae.train:RefVAERecipe",
        adapter_version="1",
        notes=NOTES,
        param_count=_param_count,
        options=(
            REF_OPTION,
            OptionSpec(
                "latent",
                "sample: z = mu + sigma * eps, eps ~ N(0, I) (official scripts); mean: z = mu",
                "choice",
                LATENTS[0],
                choices=LATENTS,
            ),
        ),
        rounding=ROUNDING,
        paper_vs_srbench=PAPER_VS_SRBENCH,
    )
]
