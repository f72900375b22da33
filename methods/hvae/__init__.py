"""hvae / hvae-cnn: "Image Super-Resolution using Hierarchical VAEs" (DTU 02456 project). Metadata only."""

from srbench.degradation_api import INPUT_HR, DegradationInfo
from srbench.method_api import MethodInfo, OptionSpec, WeightFile, tile_option_specs

PAPER = "Zifferero, Jagtap & Connetable, Image Super-Resolution using Hierarchical VAEs, DTU 02456 project report, 2020"
CITATION = """@techreport{zifferero2020hvae,
  title       = {Image Super-Resolution using Hierarchical {VAEs}},
  author      = {Zifferero, Paolo and Jagtap, Prasad and Connetable, Paul},
  institution = {DTU Compute, Technical University of Denmark (course 02456 Deep Learning)},
  year        = {2020},
  note        = {Project report, https://github.com/prasad-jagtap/02456-deep-learning}
}"""
CODE_URL = "https://github.com/prasad-jagtap/02456-deep-learning"
NO_OFFICIAL = "no official checkpoint: train with srbench or supply one"
#: hvae-cnn: default LR context around each tile, >= networks.cnn_receptive_field_radius() (exact tiling)
TILE_OVERLAP = 8
#: hvae: 8x8 LR tiles per forward pass (memory only)
TILE_BATCH = 4096
#: hvae-gauss: the Gaussian's standard deviation in HR pixels (the notebook's saved data sets)
SIGMA = 1.0
#: outputs clamped to [0, 1] and rounded half away from zero (srbench's convention; the notebooks keep floats)
ROUNDING = "half_away"


def _file(method: str) -> tuple[WeightFile, ...]:
    return (
        WeightFile(
            name=f"{method}_x4.srbench.safetensors",
            license="set by whoever trained it",
            source=NO_OFFICIAL,
            manual=True,
            scale=4,
        ),
    )


def _param_count_cnn() -> int:
    from srbench.torch_utils import param_count

    from .networks import SRCNN4x

    return param_count(SRCNN4x())


def _param_count_vae() -> int:
    from srbench.torch_utils import param_count

    from .networks import SRVAE

    return param_count(SRVAE())


_SOURCE = (
    "Written from the project report and the layer definitions of its notebooks (cnn_second.ipynb, "
    "SR_VAE_Second.ipynb; no licence stated, nothing vendored; module names follow the notebooks, so "
    "their state_dict() loads strictly, with or without an srbench config). Training data in the "
    "project: CIFAR-10 32x32 HR, 8x8 LR by the 'hvae-gauss' degradation (Gaussian sigma 1 + sampling "
    "rows/cols 2,6,...). Images RGB in [0,1], no normalisation; outputs clamped to [0,1] and rounded."
)

METHODS = [
    MethodInfo(
        name="hvae-cnn",
        title="HVAE project CNN",
        paper=PAPER,
        citation=CITATION,
        code_url=CODE_URL,
        code_license="none stated",
        weights_license="n/a (no official weights; user-trained)",
        scales=(4,),
        stochastic=False,
        variants={"default": _file("hvae-cnn")},
        loader="srbench_methods.hvae.model:load_cnn",
        adapter_version="1",
        notes=(
            "conv3x3(3->64)+ReLU, bicubic x2 (+ReLU), conv5x5(64->64)+ReLU, bicubic x2 (+ReLU), "
            "conv5x5(64->128)+ReLU, conv5x5(128->64)+ReLU, conv5x5(64->3)+ReLU (518,851 parameters). "
            "Upsampling is torch's bicubic (align_corners=False), as nn.Upsample(mode='bicubic') in the "
            "notebook; the final ReLU is kept (the output is not bounded above; srbench clamps). Fully "
            "convolutional, so it runs on any LR size (the report shows it applied to larger images). "
            "Trained in the notebook with MSE, SGD lr 1e-3, momentum 0.9, batch 4, 2 epochs. Options: tile / "
            f"tile_overlap (srbench.tiling; exact at the default overlap of {TILE_OVERLAP} LR pixels). " + _SOURCE
        ),
        param_count=_param_count_cnn,
        options=tile_option_specs(TILE_OVERLAP, exact=True),
        rounding=ROUNDING,
    ),
    MethodInfo(
        name="hvae",
        title="HVAE project conditional VAE",
        paper=PAPER,
        citation=CITATION,
        code_url=CODE_URL,
        code_license="none stated",
        weights_license="n/a (no official weights; user-trained)",
        scales=(4,),
        stochastic=True,
        variants={"default": _file("hvae")},
        loader="srbench_methods.hvae.model:load_vae",
        adapter_version="2",  # 2: the draws of sample() no longer depend on tile_batch
        notes=(
            "VAE with a 192-d latent (655,558 parameters): posterior q(z|HR) = conv5x5(3->64, valid)+ReLU, "
            "maxpool 2, conv5x5(64->32)+ReLU, conv3x3(32->3)+ReLU, linear(192->384)+ReLU; conditional prior "
            "p(z|LR) = the 8x8 LR flattened channel-major, one linear(192->384)+ReLU; decoder = "
            "linear(192->192)+ReLU to 3x8x8, conv3x3(3->64), bicubic x2, conv5x5(64->128), bicubic x2, "
            "conv5x5(128->64), conv3x3(64->3), sigmoid (ReLU after each step); Gaussian observation "
            "model sigma 0.01. The ReLU on (mu, log sigma) is in the notebook and kept: mu >= 0 and sigma >= 1. "
            "Test time uses only the prior and the decoder: upscale() decodes the prior mean; sample(n, seed) "
            "decodes z = mu + sigma * eps with eps from a torch.Generator seeded with the seed, drawn for all "
            "tiles at once in row-major order (observation noise off; option obs_noise=true adds the sigma "
            "0.01 noise as the notebook's px.sample() did, drawn after all eps; option tile_batch = tiles per "
            "forward pass, memory only). "
            "Sizes other than 8x8: the VAE only maps 8x8 LR to 32x32, so srbench tiles the LR into 8x8 "
            "patches (edge-replicated to a multiple of 8), super-resolves each independently (each with "
            "its own latent) and stitches the 32x32 outputs without overlap, then crops to 4H x 4W "
            "(seams at tile borders are the model's, not hidden). Paper vs code: the report says beta = 0.5 "
            "and batch 16; the notebook's last run sets beta = 0.9, batch 50, Adam 1e-3, 50 epochs; its loss "
            "evaluates log p(x|z) with the decoder applied to a *prior* sample (outputs['pxprior']) rather "
            "than the posterior sample - training-only differences that do not change the inference network. "
            + _SOURCE
        ),
        param_count=_param_count_vae,
        options=(
            OptionSpec("tile_batch", "8x8 LR tiles per forward pass (memory only)", "int", TILE_BATCH, minimum=1,
                       affects_output=False),
            OptionSpec("obs_noise", "sample(): add the N(0, 0.01^2) observation noise (notebook's px.sample())",
                       "bool", False),
        ),
        rounding=ROUNDING,
    ),
]

DEGRADATIONS = [
    DegradationInfo(
        name="hvae-gauss",
        title="Gaussian blur (sigma 1) + subsample x4 (02456 HVAE project)",
        paper=PAPER,
        citation=CITATION,
        loader="srbench_methods.hvae.degradation:load",
        stochastic=False,
        scales=(4,),
        input=INPUT_HR,
        learned=False,
        code_url=CODE_URL,
        code_license="none stated",
        notes=(
            f"scipy.ndimage.gaussian_filter per channel, sigma {SIGMA:g} (option sigma), mode 'reflect', "
            "truncate 4 (9-tap kernel), on the HR as float; keep rows/columns 2, 6, 10, ... "
            "(imagesloader.ipynb). Output ceil((H-2)/4) x ceil((W-2)/4), i.e. H/4 x W/4 for multiples of 4; "
            "rounded half away from zero to uint8 (the notebook kept floats). Deterministic."
        ),
        options=(OptionSpec("sigma", "standard deviation of the Gaussian blur, in HR pixels", "float", SIGMA, minimum=0),),
    )
]
