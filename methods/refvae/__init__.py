"""RefVAE (Liu, Siu, Wang, CVPRW 2021): metadata only; the network is imported by the loader."""

from srbench.method_api import REF_OPTION, MethodInfo, OptionSpec, WeightFile

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
Parameters: 37,430,415 per scale (RefVAE net 33,924,675 incl. an unused BatchNorm1d; VGG encoder
3,505,740)."""

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
    )
]
