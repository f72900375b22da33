"""ESRGAN (Wang et al., ECCVW 2018): metadata only; the network is imported when the method runs."""

from srbench.method_api import MethodInfo, PaperValue, WeightFile, tile_option_specs

#: default LR context around each tile; tiling is approximate (the receptive-field radius is 349 LR px)
TILE_OVERLAP = 32
#: official test.py: ``(output * 255.0).round()`` on float32 (numpy round half to even)
ROUNDING = "half_even"

_DRIVE_FOLDER = "https://drive.google.com/drive/u/0/folders/17VYV_SoZZesU6mbxz2dMAIccSSlqLecY"
_BAIDU = "https://pan.baidu.com/s/1-Lh6ma-wXzfH8NqeBtPaFQ"
_OFFICIAL_SOURCE = "xinntao/ESRGAN README, 'Download pretrained models from Google Drive or Baidu Drive' (models/README.md)"
_BASICSR_URL = "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.1/ESRGAN_SRx4_DF2KOST_official-ff704c30.pth"
_WEIGHTS_LICENSE = "no separate terms stated; released with the Apache-2.0 code of xinntao/ESRGAN"


def _param_count() -> int:
    from srbench_methods.esrgan.arch import count_parameters

    return count_parameters()



#: ESRGAN paper (Wang et al., ECCVW 2018, arXiv:1809.00219) vs srbench, shown by `srbench list --verbose`.
#: No paper text is kept in this workplace: the paper values are the well-known ones, the rest is from the
#: official code (xinntao/ESRGAN test.py, RRDBNet_arch.py, README.md, models/README.md, QA.md).
PAPER_VS_SRBENCH = (
    PaperValue("scale", "x4 (Sec. 4.1)", "x4", ""),
    PaperValue(
        "generator",
        "RRDB generator without BN; 23 RRDBs for the final model (Sec. 3.1, 4.1)",
        "RRDBNet, 23 RRDBs of 3 dense blocks x 5 3x3 convs, no BN",
        "",
    ),
    PaperValue(
        "features / growth channels",
        "no number in the paper text known here",
        "64 features, growth 32 (16,697,987 params)",
        "official test.py builds RRDBNet(3, 3, 64, 23, gc=32); the released files fit it (strict load)",
    ),
    PaperValue(
        "residual scaling",
        "residuals scaled by a constant beta in (0, 1) (Sec. 3.1)",
        "0.2 in each dense block and around each RRDB",
        "the value is the official RRDBNet_arch.py's",
    ),
    PaperValue(
        "upsampling",
        "not stated",
        "2 x (nearest x2, 3x3 conv, LReLU 0.2), then HRconv + LReLU, conv_last",
        "official RRDBNet_arch.py",
    ),
    PaperValue(
        "16-block generator",
        "a second setting with 16 residual blocks, SRGAN capacity (Sec. 4.1)",
        "not offered",
        "not released",
    ),
    PaperValue(
        "weights, variant esrgan",
        "the final ESRGAN: PSNR-oriented L1 model, then fine-tuned with perceptual + RaGAN + L1 (Sec. 4.1)",
        "RRDB_ESRGAN_x4.pth (basicsr: the same model under BasicSR names)",
        "models/README.md: the final model of the paper; QA.md: Fig. 7's PI is of this file without "
        "post-processing, Fig. 2's PIRM-challenge model (with post-processing) is another, not released here",
    ),
    PaperValue(
        "weights, variant psnr",
        "the PSNR-oriented RRDB model (stage 1 of Sec. 4.1)",
        "RRDB_PSNR_x4.pth (basicsr-psnr: the same under BasicSR names)",
        "README: trained on DF2K (DIV2K + Flickr2K, no OST); Set5 32.73/0.9011 on Y",
    ),
    PaperValue(
        "training data",
        "DIV2K + Flickr2K + OST, flips and 90-degree rotations; MATLAB-bicubic LR; 128 px HR patches (Sec. 4.1, 4.2)",
        "the released files above; srbench's LR is MATLAB imresize bicubic",
        "models/README.md: the models are trained on MATLAB-bicubic LR",
    ),
    PaperValue(
        "evaluation protocol",
        "PSNR on Y of YCbCr and the PIRM perceptual index (Sec. 4.3, Fig. 7); crop not stated",
        "psnr_y on BT.601 Y, shave = scale; pi",
        "srbench's fixed convention",
    ),
    PaperValue("whole-image inference", "not stated", "whole image (option tile: approximate tiling)",
               "official test.py runs the whole image; tiling is a srbench addition"),
    PaperValue("output rounding", "not stated", "half_even",
               "official test.py: (clamp(out, 0, 1) * 255).round() on float32 (numpy round half to even)"),
)

METHODS = [
    MethodInfo(
        name="esrgan",
        title="ESRGAN",
        paper="Wang et al., ECCV Workshops (PIRM) 2018",
        citation="""@InProceedings{wang2018esrgan,
    author = {Wang, Xintao and Yu, Ke and Wu, Shixiang and Gu, Jinjin and Liu, Yihao and Dong, Chao and Qiao, Yu and Loy, Chen Change},
    title = {ESRGAN: Enhanced super-resolution generative adversarial networks},
    booktitle = {The European Conference on Computer Vision Workshops (ECCVW)},
    month = {September},
    year = {2018}
}""",
        code_url="https://github.com/xinntao/ESRGAN",
        code_license="Apache-2.0",
        weights_license=_WEIGHTS_LICENSE,
        scales=(4,),
        stochastic=False,
        reference_based=False,
        protocols=("rgb",),
        learned=True,
        variants={
            "esrgan": (
                WeightFile(
                    name="RRDB_ESRGAN_x4.pth",
                    urls=(_DRIVE_FOLDER, _BAIDU),
                    sha256="65fece06e1ccb48853242aa972bdf00ad07a7dd8938d2dcbdf4221b59f6372ce",
                    size=66_929_193,
                    license=_WEIGHTS_LICENSE,
                    source=_OFFICIAL_SOURCE + "; the perceptual model of the paper (Fig. 7), trained on DIV2K+Flickr2K+OST",
                    manual=True,
                    scale=4,
                ),
            ),
            "psnr": (
                WeightFile(
                    name="RRDB_PSNR_x4.pth",
                    urls=(_DRIVE_FOLDER, _BAIDU),
                    sha256=None,
                    size=None,
                    license=_WEIGHTS_LICENSE,
                    source=_OFFICIAL_SOURCE + "; the PSNR-oriented RRDB model, trained on DF2K (DIV2K+Flickr2K)",
                    manual=True,
                    scale=4,
                ),
            ),
            "basicsr": (
                WeightFile(
                    name="ESRGAN_SRx4_DF2KOST_official-ff704c30.pth",
                    urls=(_BASICSR_URL,),
                    sha256=None,  # BasicSR names files by the first 8 hex digits of the sha256: ff704c30
                    size=None,
                    license="Apache-2.0 (BasicSR) / BSD-3-Clause (Real-ESRGAN release page); no separate weight terms",
                    source=(
                        "BasicSR's conversion of the official ESRGAN model (BasicSR keys, under 'params'), "
                        "Real-ESRGAN GitHub release v0.1.1 (linked from Real-ESRGAN docs/Training.md)"
                    ),
                    manual=False,
                    scale=4,
                ),
            ),
            "basicsr-psnr": (
                WeightFile(
                    name="ESRGAN_PSNR_SRx4_DF2K_official-150ff491.pth",
                    urls=("https://drive.google.com/file/d/1swaV5iBMFfg-DL6ZyiARztbhutDCWXMM",),
                    sha256=None,  # BasicSR file-name convention: sha256 starts with 150ff491
                    size=None,
                    license="Apache-2.0 (BasicSR); no separate weight terms",
                    source=(
                        "BasicSR's conversion of RRDB_PSNR_x4 (BasicSR scripts/download_pretrained_models.py, "
                        "Google Drive file id 1swaV5iBMFfg-DL6ZyiARztbhutDCWXMM)"
                    ),
                    manual=True,
                    scale=4,
                ),
            ),
        },
        variant_notes={
            "esrgan": "official perceptual model RRDB_ESRGAN_x4.pth (the ESRGAN of the paper; default)",
            "psnr": "official PSNR-oriented RRDB_PSNR_x4.pth (README: Set5 32.73/0.9011, Set14 28.99/0.7917, Y)",
            "basicsr": "BasicSR re-release of the perceptual model (GitHub release, downloadable); BasicSR key names",
            "basicsr-psnr": "BasicSR re-release of the PSNR-oriented model (Google Drive only); BasicSR key names",
        },
        loader="srbench_methods.esrgan.model:load",
        adapter_version="1",
        notes=(
            "Network: RRDBNet, 23 RRDBs, 64 features, growth 32, LeakyReLU 0.2, residual scaling 0.2, "
            "nearest x2 upsampling twice (own implementation; parameter names of xinntao/ESRGAN "
            "RRDBNet_arch.py so the release loads with strict=True). "
            "BasicSR checkpoints (params/params_ema wrapper, 'params' preferred as BasicSR's test configs do) "
            "are renamed: conv_first->conv_first, body.N.rdbK.convM->RRDB_trunk.N.RDBK.convM, "
            "conv_body->trunk_conv, conv_up1->upconv1, conv_up2->upconv2, conv_hr->HRconv, conv_last->conv_last. "
            "I/O as the official test.py: RGB float32 = uint8/255 (test.py reads BGR with cv2 and flips to "
            "RGB before the network, flips back after), output clamp(0,1)*255 rounded half to even "
            "(numpy round on float32); single-channel LR is replicated to 3 channels (cv2 IMREAD_COLOR "
            "does the same). The models were trained on MATLAB-bicubic LR (models/README.md). "
            f"Options: tile (LR px, default whole image), tile_overlap (default {TILE_OVERLAP}). The receptive "
            "field radius is 15*23+4 = 349 LR px, so tiling with a smaller overlap approximates whole-image "
            "output (recorded as tiling_exact=false in the provenance; tile is part of the method's identity). "
            "The ESRGAN paper's PI values (Fig. 7) were measured on outputs of RRDB_ESRGAN_x4.pth without "
            "post-processing (QA.md); the PIRM-challenge model differs and was not released here. "
            "The paper's second generator setting (16 residual blocks, SRGAN capacity; Sec. 4.1) was not "
            "released either. The widths (64 features, growth 32) are taken from the official code (test.py)."
        ),
        param_count=_param_count,
        options=tile_option_specs(TILE_OVERLAP, exact=False),
        rounding=ROUNDING,
        paper_vs_srbench=PAPER_VS_SRBENCH,
    )
]
