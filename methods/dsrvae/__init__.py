"""dSRVAE (Liu et al., CVPRW 2020): metadata only; the network is imported by the loader."""

from srbench.method_api import MethodInfo, OptionSpec, PaperValue, WeightFile

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
Variant 'sr-only': the SR sub-network alone on the raw LR (whole image, deterministic) - the paper's
'SRSN' ablation (Sec. 4.3, Fig. 7; shown visually only). denoise(lr) in the loaded model exposes the
denoiser alone (LR-size output, same patching at LR scale, rounded).
Architecture against the paper (Sec. 4.1): latent length 512, DAE decoder with two 6/4/1 deconvolutions
and three 3x3 residual blocks, SRSN with four residual blocks of 64 3x3 kernels - all as in the
released code and checkpoints. Not in the paper: the DAE's width (32 channels: its residual blocks,
LR feature branch 3->64->64->32; official VAE_denoise_vali(dim=32)) and the Linear layers around the
latent (8192 -> 4096 -> 512 on the encoder side, 512 -> 4096 -> 8192 = 128x8x8 on the decoder side).
The DAE encoder of the paper (pre-trained VGG19 without its FC layers, on the clean target patch;
main_denoiser.py: torchvision vgg19 features up to pool5) is training-only and not in the checkpoint.
Parameters: 74,750,126 in the released files; 36,996,270 used at test time (the Linear encoder,
37.75 M, is loaded for strictness only). The paper states no parameter count.
Published numbers: paper Table 1 (denoising) and Table 2 (x4 SR, Set5/Urban100 PSNR and PI) are in
leaderboards/reported/dsrvae.yaml. Table 2's dSRVAE row (printed 'dSRGAN(ours)') comes from a
SUPERVISED variant (Sec. 4.3, bicubic-SR paragraph: the network retrained on paired bicubic LR/HR, the
MAE of Eq. 8 taken against the HR, plus the adversarial loss), not from the released unsupervised
NTIRE2020 model that srbench runs: srbench's dsrvae is not expected to reproduce Table 2, and no
published-number test asserts it.
srbench-trained weights (srbench train dsrvae, methods/dsrvae/train.py): the recipe writes the released
file names in the released format - VAE_denoiser.pth and VAE_SR.pth, plain state dicts of these classes
(read back weights-only, loaded strictly like the official files) - and beside each
<file>.srbench-trained, a JSON file with the arch and the training provenance, whose presence makes run
manifests record the file as 'trained'. `srbench run --weights dsrvae=<training output folder>` takes
both files; `srbench weights import dsrvae <file>` caches one (the marker stays behind: provenance 'user').
The training-only parts (the VGG19 DAE encoder, the discriminator) are not exported."""


#: paper (Liu et al., CVPRW 2020, arXiv:2004.12811) vs srbench, shown by `srbench list --verbose`
PAPER_VS_SRBENCH = (
    PaperValue("scale", "x4 only (Sec. 4.3)", "x4", ""),
    PaperValue(
        "model behind Table 2",
        "supervised variant: retrained on paired bicubic LR/HR, MAE vs the HR + adversarial loss (Sec. 4.3)",
        "the released unsupervised NTIRE2020 model (VAE_denoiser.pth + VAE_SR.pth)",
        "the supervised variant was not released; srbench's dsrvae is not expected to reproduce Table 2 "
        "(its rows are in leaderboards/reported/dsrvae.yaml with that note)",
    ),
    PaperValue(
        "training data of the weights",
        "NTIRE2020 RWSR data: Flickr2K source (unknown degradation, x4 down) -> DIV2K target; 128 px patches (Sec. 4.1)",
        "VAE_denoiser.pth / VAE_SR.pth as released (README: pre-trained models; track and data not stated)",
        "assumed to be the Sec. 4.1 training; the release does not say",
    ),
    PaperValue(
        "DAE encoder",
        "VGG19 conv layers (pre-trained, no FC) on the clean image; discarded at test time (Sec. 3.1, 4.1)",
        "not run. Its Linear head (8192->4096->2x512, in VAE_denoiser.pth) is loaded, unused",
        "the VGG19 (main_denoiser.py: torchvision, frozen, up to pool5) is not in the checkpoint; the "
        "Linear head is, and is kept so that the file loads strictly",
    ),
    PaperValue(
        "DAE output",
        "the decoder estimates the noise, subtracted from the LR (Sec. 3.1)",
        "denoised = LR - conv(res_blocks(LR_feat(LR) - decoder(z)))",
        "",
    ),
    PaperValue("latent vector length", "512 (Sec. 4.1)", "512", ""),
    PaperValue(
        "DAE decoder",
        "2 deconvolutions k6 s4 p1 + 3 residual blocks k3 s1 p1 (Sec. 4.1)",
        "Linear 512->4096->8192 (128x8x8), 1x1 conv, 2 deconvs k6 s4 p1 (8->32->128 px), 3x3 conv; 3 res. blocks k3 s1 p1",
        "same counts and kernels; the Linear layers and the extra convs are in the official "
        "VAE_denoise_vali, which the checkpoint fits",
    ),
    PaperValue(
        "residual block width",
        "64 kernels k3 s1 p1 (Sec. 4.1, said of the SRSN's blocks)",
        "SRSN 64; DAE 32",
        "official test.py builds VAE_denoise_vali(dim=32) and VAE_SR(dim=64); srbench follows the code "
        "(strict checkpoint load). If the paper's 64 is meant for every block, the DAE differs",
    ),
    PaperValue(
        "SR sub-network (SRSN)",
        "bicubic up-sampling to the target size, then 4 residual blocks of 64 3x3 kernels (Sec. 3.2, 4.1)",
        "PyTorch bicubic x4 (a=-0.75), conv+PReLU, 4 res. blocks 64 ch, conv to RGB (298,948 params)",
        "",
    ),
    PaperValue(
        "residual block form",
        "not stated",
        "r + conv(relu(conv(r))), r = relu(x)",
        "the official block's in-place ReLU makes the skip carry relu(x); reproduced",
    ),
    PaperValue(
        "test-time patching",
        "not stated (training patches 128x128, Sec. 4.1)",
        "128 px LR patches, 8 px overlap, linear-ramp blending; sides < 128 padded symmetrically",
        "official test.py; the decoder's noise map is always 128x128. The padding is a srbench addition "
        "(the official code fails on such images)",
    ),
    PaperValue(
        "latent at test time",
        "a sampled z into the decoder; its distribution at test time not stated (Sec. 3.1)",
        "z ~ N(0, I_512) per patch from a seeded CPU generator (latent=zero: z = 0)",
        "official test.py draws z per patch from NumPy's unseeded RNG; srbench seeds it (--seed)",
    ),
    PaperValue(
        "SRSN-only ablation",
        "'SRSN' without the DAE (Sec. 4.3, Fig. 7, visual only)",
        "variant sr-only (VAE_SR.pth on the whole raw LR)",
        "",
    ),
    PaperValue(
        "evaluation protocol",
        "x4; bicubic LR (implementation not stated); PSNR/SSIM on Y of YUV, PI on RGB; crop not stated (Sec. 4.3)",
        "MATLAB-imresize LR; psnr_y/ssim_y on BT.601 Y (16-235), shave 4 px; pi on RGB",
        "srbench's fixed convention; the paper's Y formula and crop are unknown (its bicubic Urban100 "
        "PSNR is 0.5 dB above srbench's: docs/reported.md)",
    ),
    PaperValue(
        "output rounding",
        "not stated",
        "truncate",
        "official test.py saves np.uint8(clamp(255 * SR, 0, 255))",
    ),
)

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
        training_recipe="srbench_methods.dsrvae.train:DSRVAERecipe",
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
        paper_vs_srbench=PAPER_VS_SRBENCH,
    )
]
