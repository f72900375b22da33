"""hvae / hvae-cnn: "Image Super-Resolution using Hierarchical VAEs" (DTU 02456 project). Metadata only."""

from srbench.degradation_api import INPUT_HR, DegradationInfo
from srbench.method_api import (
    MethodInfo,
    OptionSpec,
    PaperValue,
    WeightFile,
    tile_option_specs,
)

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

#: notebook = the project's own code (github.com/prasad-jagtap/02456-deep-learning @ ce2780a), which the
#: report's text leaves open; the report is the paper (papers/hvae.md). Sections are the report's.
_TRAINING_ONLY = ("training only (the inference network does not depend on it): srbench train trains it, see the "
                  "training recipe table below")

PAPER_CNN = (
    PaperValue("layer order", "conv, x2 up, conv, x2 up, 3 convs (Sec. 3, Fig. 2)",
               "conv3x3, up x2, conv5x5, up x2, conv5x5, conv5x5, conv5x5", "agrees"),
    PaperValue("scale / sizes", "x4, 8x8 LR -> 32x32 HR (Sec. 1, 3)", "x4 (any LR size)",
               "fully convolutional; the report applies it to 32x32 inputs too (Sec. 3, Fig. 3)"),
    PaperValue("kernel sizes, widths", "not stated in the text", "3,5,5,5,5; 64,64,128,64,3",
               "notebook (cnn_second.ipynb); 518,851 parameters"),
    PaperValue("upsampling", "x2 upscaling, twice (Sec. 3); method not stated",
               "torch bicubic, align_corners=False", "notebook: nn.Upsample(mode='bicubic')"),
    PaperValue("activations", "not stated", "ReLU after every step, final conv included",
               "notebook; the final ReLU leaves the output unbounded above, srbench clamps to [0, 1]"),
    PaperValue("training", "a few epochs (Sec. 6)", "srbench train hvae-cnn: 2 epochs",
               _TRAINING_ONLY + "; notebook: MSE, SGD lr 1e-3 momentum 0.9, batch 4, 2 epochs"),
    PaperValue("output", "not stated", "clamped to [0, 1], rounded half away from zero",
               "srbench's uint8 convention (the notebook keeps floats)"),
)

PAPER_VAE = (
    PaperValue("latent size", "192 (Sec. 4)", "192", "agrees (= 3 x 8 x 8, the size of the prior's input)"),
    PaperValue("prior p(z|LR)", "8x8 RGB LR flattened, one linear layer into the latent space (Sec. 4)",
               "flatten (channel-major) -> one Linear(192, 384) = (mu, log sigma)",
               "agrees; flattening order from the notebook (x.view on 3x8x8)"),
    PaperValue("prior activation", "not stated", "ReLU on (mu, log sigma): mu >= 0, sigma >= 1",
               "notebook; kept so that notebook-trained weights mean what they were trained to mean"),
    PaperValue("prior / posterior family", "normal distributions (Sec. 4)", "diagonal Gaussians", "agrees"),
    PaperValue("observation model", "normal, fixed std 0.01 (Sec. 4)", "N(decoder(z), 0.01^2)",
               "agrees; the noise is added only by sample() with obs_noise=true"),
    PaperValue("beta", "0.5 (Sec. 4)", "0.5 in srbench train", _TRAINING_ONLY + " (beta weighs the KL term of the "
               "training loss, Eq. 1); the notebook's last run uses 0.9"),
    PaperValue("batch, optimiser", "batch 16, Adam lr 1e-3 (Sec. 4)", "batch 16, Adam 1e-3 in srbench train",
               _TRAINING_ONLY + "; notebook: batch 50, Adam 1e-3, 50 epochs"),
    PaperValue("encoder q(z|HR)", "HR 32x32 -> 192-d latent (Sec. 4); layers not stated",
               "conv5x5 64, maxpool 2, conv5x5 32, conv3x3 3, Linear(192, 384)",
               "notebook; training only (test time uses the prior)"),
    PaperValue("decoder p(x|z)", "close to the CNN (Sec. 4); layers not stated",
               "Linear(192, 192), conv3x3 64, up x2, conv5x5 128, up x2, conv5x5 64, conv3x3 3, sigmoid",
               "notebook (SR_VAE_Second.ipynb)"),
    PaperValue("test time", "prior only, from the LR (Sec. 5)",
               "upscale(): decode the prior mean; sample(): z ~ p(z|LR)",
               "the notebook's test-set MSE (presumably Table 1's) decodes a prior sample and samples the "
               "observation too (pxprior.sample()): srbench's sample() with obs_noise=true"),
    PaperValue("LR sizes other than 8x8", "not stated (CIFAR-10 only)", "8x8 tiles, edge-replicated, stitched",
               "srbench's choice: the VAE maps only 8x8 -> 32x32"),
    PaperValue("hierarchy", "title: hierarchical VAEs; Sec. 4 describes one latent layer", "one latent layer",
               "follows the described (and coded) model"),
    PaperValue("output", "not stated", "clamped to [0, 1], rounded half away from zero",
               "srbench's uint8 convention (the sigmoid keeps it in (0, 1))"),
)

PAPER_GAUSS = (
    PaperValue("blur", "Gaussian filter (Sec. 1)", "scipy.ndimage.gaussian_filter per channel", "notebook"),
    PaperValue("sigma", "not stated", f"{SIGMA:g} HR px (option sigma)",
               "the notebook's value (imagesloader.ipynb, the cells that write the training and test sets; "
               "an exploratory cell uses 0.5) - neither srbench's own choice nor a library default "
               "(gaussian_filter has none)"),
    PaperValue("filter extent, border", "not stated", "truncate 4 (9 taps), mode 'reflect'",
               "scipy's defaults, as the notebook calls it"),
    PaperValue("subsampling", "sub-sampling 32x32 -> 8x8 (Sec. 1)", "every 4th row/column from 2 (2, 6, ...)",
               "notebook (np.arange(2, 32, 4))"),
    PaperValue("output", "not stated (notebook keeps floats)", "uint8, rounded half away from zero",
               "srbench's uint8 image API"),
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
        training_recipe="srbench_methods.hvae.train:HVAECNNRecipe",
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
        paper_vs_srbench=PAPER_CNN,
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
        training_recipe="srbench_methods.hvae.train:HVAERecipe",
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
            "(seams at tile borders are the model's, not hidden). Every value the report states (latent 192, "
            "one linear prior layer, observation std 0.01, beta 0.5, ...) is compared with srbench in the "
            "paper-vs-srbench table (srbench list --verbose): the inference network agrees with the report "
            "wherever the report is specific; beta, batch size and optimiser are training-only (the "
            "notebook's last run: beta 0.9, batch 50, Adam 1e-3, 50 epochs; its loss evaluates log p(x|z) "
            "with the decoder applied to a *prior* sample, outputs['pxprior'], rather than the posterior "
            "sample) and do not change the inference network. "
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
        paper_vs_srbench=PAPER_VAE,
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
            f"scipy.ndimage.gaussian_filter per channel, sigma {SIGMA:g} (option sigma; the report states no "
            "sigma: 1 is the notebook's value for the saved data sets, not srbench's choice), mode 'reflect', "
            "truncate 4 (9-tap kernel), on the HR as float; keep rows/columns 2, 6, 10, ... "
            "(imagesloader.ipynb). Output ceil((H-2)/4) x ceil((W-2)/4), i.e. H/4 x W/4 for multiples of 4; "
            "rounded half away from zero to uint8 (the notebook kept floats). Deterministic."
        ),
        options=(OptionSpec("sigma", "standard deviation of the Gaussian blur, in HR pixels", "float", SIGMA, minimum=0),),
        paper_vs_srbench=PAPER_GAUSS,
    )
]
