"""dSRVAE (Liu et al., CVPRW 2020): metadata only; the network is imported by the loader."""

from srbench.method_api import MethodInfo, OptionSpec, WeightFile

#: option latent: a fresh z ~ N(0, I) per patch (the official test path), or the prior mean z = 0
LATENTS = ("sample", "zero")
#: test.py saves np.uint8(clamp(255 * SR, 0, 255)): truncation
ROUNDING = "truncate"

_DRIVE = "https://drive.google.com/open?id=1SUZGE04vw5_yDYiw6PJ4sbHAOIEV6TJ7"
_SOURCE = (
    "Holmes-Alan/dSRVAE README, '1. Quick testing': Google Drive folder with the pre-trained models "
    "(copied to models/ for test.py); saved from torch.nn.DataParallel (keys carry 'module.')"
)

DENOISER = WeightFile(
    name="VAE_denoiser.pth",
    urls=(_DRIVE,),
    license="none stated",
    source=_SOURCE,
    manual=True,
    scale=4,
)
SR_NET = WeightFile(
    name="VAE_SR.pth",
    urls=(_DRIVE,),
    license="none stated",
    source=_SOURCE,
    manual=True,
    scale=4,
)


def _param_count(variant: str = "full") -> int:
    import torch
    from srbench_methods.dsrvae.network import Denoiser, SRNet

    with torch.device("meta"):
        mods = [SRNet()] + ([Denoiser()] if variant == "full" else [])
    return sum(p.numel() for m in mods for p in m.parameters())


CITATION = """@InProceedings{Liu2020dsrvae,
  author    = {Liu, Zhi-Song and Siu, Wan-Chi and Wang, Li-Wen and Li, Chu-Tak and Cani, Marie-Paule and Chan, Yui-Lam},
  title     = {Unsupervised Real Image Super-Resolution via Generative Variational AutoEncoder},
  booktitle = {IEEE/CVF Conference on Computer Vision and Pattern Recognition Workshops (CVPRW)},
  month     = {June},
  year      = {2020},
  note      = {arXiv:2004.12811}
}"""

NOTES = """\
Official test path reproduced (Holmes-Alan/dSRVAE test.py, commit b5eff18): ToTensor input in [0, 1];
128x128 LR patches with 8 px overlap (patchify_tensor); per patch a latent z ~ N(0, I_512), the
denoiser's decoder path (the VGG19/Linear encoder is not used at test time), then the SR sub-network;
SR patches blended with recompose_tensor's linear ramps (0.1..1 over 32 HR px); output
np.uint8(clamp(255*SR, 0, 255)), i.e. truncated, not rounded, as the released images.
The 128 px patch size is forced by the network: the denoiser's noise decoder always produces a
128x128 map. Note that a 128-px side yields two patches at the same place (128 // 120 + 1), each
with its own latent, so such images average several samples - as in the official code.
Stochastic: test.py draws z with NumPy's unseeded global RNG. srbench draws z from a local CPU
torch.Generator (one 1x512 float32 draw per patch, in patch order): sample(lr, n, seed) is
reproducible (srbench run --seed); upscale() = sample(lr, 1, DEFAULT_SEED = 0)[0]. Option latent=zero
uses the prior mean z = 0 instead (deterministic).
srbench additions: a LR side < 128 px (official code fails; e.g. most Set5 x4 images) is padded
symmetrically at bottom/right to 128 and the SR cropped back.
VAE_denoiser.pth: test.py loads it non-strictly (keys the test-time model lacks are dropped and
missing ones keep their random init); srbench requires every key of the test-time model
(VAE_denoise_vali) and only drops the training-only 'denoise_feat.*' / 'SR_final.*' keys of
VAE_denoise if present. The SR network's bicubic upsampling is fixed to x4 (scale_factor ignored).
The residual blocks apply an in-place ReLU to their input, so the skip adds relu(x); reproduced.
Variant 'sr-only': the SR sub-network alone on the raw LR (whole image, deterministic) - an ablation
not in the paper. denoise(lr) in the loaded model exposes the denoiser alone (LR-size output,
same patching at LR scale, rounded).
Parameters: 74,750,126 in the released files; 36,996,270 used at test time (the Linear encoder,
37.75 M, is loaded for strictness only).
Published numbers (paper Table 2, Set5/Urban100 x4 PSNR and PI) could not be transcribed in this
workplace (paper text not reachable); no published-number check is included yet."""

METHODS = [
    MethodInfo(
        name="dsrvae",
        title="dSRVAE",
        paper="Liu et al., CVPRW 2020",
        citation=CITATION,
        code_url="https://github.com/Holmes-Alan/dSRVAE",
        code_license="none stated",
        weights_license="none stated",
        scales=(4,),
        stochastic=True,
        reference_based=False,
        protocols=("rgb",),
        variants={"full": (DENOISER, SR_NET), "sr-only": (SR_NET,)},
        variant_notes={
            "full": "denoiser (conditional VAE decoder, latent z ~ N(0, I)) + SR sub-network, official test.py path",
            "sr-only": "SR sub-network alone on the raw LR, whole image (ablation; deterministic)",
        },
        loader="srbench_methods.dsrvae.model:load",
        adapter_version="1",
        notes=NOTES,
        param_count=_param_count,
        options=(
            OptionSpec(
                "latent",
                "sample: z ~ N(0, I) per patch (official test path); zero: the prior mean (deterministic)",
                "choice",
                LATENTS[0],
                choices=LATENTS,
            ),
        ),
        rounding=ROUNDING,
    )
]
