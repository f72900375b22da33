"""SSRVAE (Ma et al., arXiv:1912.10227): light metadata only (networks in networks.py)."""

from srbench.degradation_api import INPUT_HR, DegradationInfo
from srbench.method_api import (
    MethodInfo,
    OptionSpec,
    PaperValue,
    WeightFile,
    tile_option_specs,
)

PAPER = "Ma et al., Style-based Variational Autoencoder for Real-World Super-Resolution, arXiv:1912.10227"
CITATION = """@article{ma2019ssrvae,
  title   = {Style-based Variational Autoencoder for Real-World Super-Resolution},
  author  = {Ma, Xin and Li, Yi and Huang, Huaibo and Luo, Mandi and Hu, Tanhao and He, Ran},
  journal = {arXiv preprint arXiv:1912.10227},
  year    = {2019},
  note    = {v2 retitled: Exploiting Style and Attention in Real-World Super-Resolution}
}"""
NO_OFFICIAL = "no official checkpoint: train with srbench or supply one"
#: queries per block of the exact global attention (memory O(chunk * H * W); the result does not depend on it)
ATTENTION_CHUNK = 4096
#: default LR context around each tile when tiling is asked for (approximate for this network)
TILE_OVERLAP = 32
#: outputs clamped to [0, 1] and rounded half away from zero (srbench's convention; no official code)
ROUNDING = "half_away"


def _param_count_sr() -> int:
    from srbench.torch_utils import param_count

    from .networks import SSRVAENet

    return param_count(SSRVAENet())


def _param_count_stylevae() -> int:
    from srbench.torch_utils import param_count

    from .networks import StyleVAE

    return param_count(StyleVAE())


#: parameters of the default networks (architecture v2; tested against the layer-by-layer sums)
PARAMS_SR = 1_514_835
PARAMS_STYLEVAE = 1_064_515

_SOURCE = (
    "No code or weights were released; implemented by srbench from the paper (Sec. 3, 4.1). Architecture "
    "v2 follows every size the paper states (see 'paper vs srbench' below); v1 checkpoints (MUNIT-sized, "
    "before adapter v2) are refused with a message. "
)

#: one row per architectural value of the SR network: what the paper states, what srbench builds, why
PAPER_VS_SRBENCH_SR = (
    PaperValue("scale", "x4 (Sec. 4; Fig. 1 also shows x8)", "x4", "the evaluated setting"),
    PaperValue("parts", "shallow conv, GARN, LARN, upscale module, reconstruction layer (Sec. 3.2)", "the same, in that order"),
    PaperValue("shallow feature extractor", "one conv layer (Sec. 3.2)", "one 3x3 conv 3->64"),
    PaperValue("GARBs in GARN", "8 (Sec. 3.2)", "8"),
    PaperValue("LARBs in LARN", "8 (Sec. 3.2)", "8"),
    PaperValue("kernel size", "3x3 in styleVAE, SR net the same size (Sec. 4.1)", "3x3, except the 1x1 attention convs",
               "the 1x1 attention convs are stated (Sec. 3.2)"),
    PaperValue("feature channels", "not stated", "64",
               "common SR width (EDSR, RCAN); the styleVAE uses the same width (SR size = styleVAE size, Sec. 4.1)"),
    PaperValue("GA similarity", "s_ij = f(x_i)^T g(x_j), softmax over i (Eq. 7)", "the same, over all positions",
               "computed exactly in chunks of queries (option attention_chunk)"),
    PaperValue("GA convs f, g, h, v", "1x1 (Sec. 3.2, Eq. 7-8)", "1x1"),
    PaperValue("GA channels of f, g, h", "not stated", "64/8 = 8; v maps 8->64", "SAGAN [37], whose formulation Eq. 7-9 follow"),
    PaperValue("GA residual", "y = lambda*o + x, lambda a learnable scalar (Eq. 9)", "the same"),
    PaperValue("lambda initial value", "not stated", "0", "SAGAN's gamma: a block starts as a plain residual block (training only)"),
    PaperValue("LA query/key convs", "1x1 (Sec. 3.2, Eq. 10)", "1x1, 64->8 each", "8 channels as GA"),
    PaperValue("LA similarity", "-(q - k)^2, softmax (Eq. 10-11)", "-||q - k||^2 summed over 8 channels, softmax over the window",
               "one aggregation group: the paper names no channel groups (Local Relation Networks [11] use them)"),
    PaperValue("LA window", "not stated", "7x7", "the default of Local Relation Networks [11]"),
    PaperValue("LA geometry prior", "none in Eq. 10", "none"),
    PaperValue("LA value, output conv, lambda", "not stated (LARB structured like GARB, Sec. 3.2)",
               "as GA: h 1x1 64->8, v 1x1 8->64, y = lambda*o + x",
               "mirrors GARB; the paper gives lambda for GA only"),
    PaperValue("LA image border", "not stated", "out-of-image neighbours get no weight",
               "zero padding would add neighbours with key 0, a similarity the image does not have"),
    PaperValue("GARB / LARB layout", "residual block with skip connection (Sec. 3.2, Fig. 4)",
               "x + A(conv3x3-ReLU-conv3x3(x))", "Fig. 4 is not described in the text; RDN/EDSR residual body, A after it"),
    PaperValue("activation", "not stated", "ReLU", "usual in SR residual blocks"),
    PaperValue("global skip", "not stated", "shallow features added to the LARN output", "global residual learning (RDN [39], EDSR)"),
    PaperValue("upscale module", "named, type not stated (Sec. 3.2)", "2 x (3x3 conv 64->256, PixelShuffle 2), no activation",
               "sub-pixel convolution [31], the upsampler the paper cites"),
    PaperValue("reconstruction layer", "one layer (Sec. 3.2)", "one 3x3 conv 64->3"),
    PaperValue("size vs styleVAE", "the same (Sec. 4.1)", f"same kernel size (3x3) and width (64); {PARAMS_SR:,} vs {PARAMS_STYLEVAE:,} parameters",
               "read as layer sizes: the paper gives no widths, so no parameter count can be matched"),
    PaperValue("input / output", "not stated", "RGB in [0, 1], no mean shift; output clamped, rounded half away from zero",
               "srbench convention"),
    PaperValue("training loss", "L1 (Sec. 3.2)", "L1 in srbench train ssrvae",
               "training only; the recipe table (srbench list --verbose) lists every training value"),
)

#: one row per architectural value of the styleVAE
PAPER_VS_SRBENCH_STYLEVAE = (
    PaperValue("scale", "x4 (Sec. 4.3)", "x4"),
    PaperValue("sub-networks", "E_LR (style), E_HR (content), generator G (Sec. 3.1)", "the same"),
    PaperValue("latent code size", "256 (Sec. 4.1)", "256", "srbench v1: 8 (MUNIT)"),
    PaperValue("kernel size", "all convs 3x3 (Sec. 4.1)", "3x3 everywhere", "srbench v1: 7x7, 4x4 and 1x1 (MUNIT)"),
    PaperValue("residual blocks, reference (style) network E_LR", "8 (Sec. 4.1)", "8", "srbench v1: none (strided convs)"),
    PaperValue("residual blocks, generate network G", "2 (Sec. 4.1)", "2", "srbench v1: 4"),
    PaperValue("residual blocks, content encoder E_HR", "not stated", "2",
               "the paper counts the reference and generate networks only; srbench mirrors G, as MUNIT pairs them (v1: 4)"),
    PaperValue("content/style combination", "AdaIN, not concatenation (Sec. 3.1)", "AdaIN"),
    PaperValue("AdaIN placement", "after each residual block of G (Sec. 3.1)", "after each of the 2 blocks",
               "srbench v1: inside the blocks, replacing IN (MUNIT)"),
    PaperValue("AdaIN y_s, y_b", "from the style through a fully connected layer (Sec. 3.1, Eq. 2)", "one FC 256->2x64 per AdaIN",
               "the learned affine transform per AdaIN (as StyleGAN); no mapping MLP (v1: MUNIT's 3-layer MLP)"),
    PaperValue("posterior outputs", "mu and sigma, reparameterised (Sec. 3.1, Eq. 3)", "mu and log sigma^2 from two FC heads 64->256",
               "log-variance for numerical stability"),
    PaperValue("feature channels", "not stated", "64 in every layer", "the SR network's width (SR size = styleVAE size, Sec. 4.1)"),
    PaperValue("content downsampling", "not stated", "2 stride-2 3x3 convs (+ IN + ReLU)", "x4 in x2 stages, 3x3 as stated"),
    PaperValue("normalisation", "not stated", "IN in E_HR; none in E_LR and inside G's blocks",
               "IN removes style, which E_LR must keep; G is normalised by its AdaIN"),
    PaperValue("style pooling", "not stated", "global average pooling after the 8 blocks", "a code for any LR size"),
    PaperValue("padding", "not stated", "reflection (replication for a 1-pixel side)", "srbench v1's choice (MUNIT)"),
    PaperValue("output layer", "not stated", "3x3 conv 64->3, tanh; images in [-1, 1] inside", "usual for image generators"),
    PaperValue("MI estimator T_theta", "Eq. 5, training only", "not built", "not needed to generate LR; not in the checkpoint"),
    PaperValue("style sampling", "z from N(0, I) for diverse LR (Sec. 3.1)", "N(0, I) from a torch.Generator seeded with the seed",
               "or the posterior of a reference real LR (style_ref=)"),
)

METHODS = [
    MethodInfo(
        name="ssrvae",
        title="SSRVAE",
        paper=PAPER,
        citation=CITATION,
        code_url="",
        code_license="n/a (no code released)",
        weights_license="n/a (no official weights; user-trained)",
        scales=(4,),
        stochastic=False,
        variants={
            "default": (
                WeightFile(
                    name="ssrvae_x4.srbench.safetensors",
                    license="set by whoever trained it",
                    source=NO_OFFICIAL,
                    manual=True,
                    scale=4,
                ),
            )
        },
        loader="srbench_methods.ssrvae.model:load",
        training_recipe="srbench_methods.ssrvae.train:SSRVAERecipe",
        adapter_version="2",
        notes=(
            _SOURCE
            + "Only the SR network runs at test time (the styleVAE makes training LR; it is the "
            "'ssrvae-stylevae' degradation). 3x3 conv 3->64; 8 GARBs then 8 LARBs, each x + A(F) with "
            "F = conv3x3-ReLU-conv3x3(x) and A = GA or LA (1x1 f, g, h to 8 channels, v back to 64, "
            "y = lambda*o + F with a learnable scalar lambda, Eq. 9); GA = softmax(f^T g) over all positions, "
            f"computed exactly in chunks of {ATTENTION_CHUNK} queries (option attention_chunk) - O((HW)^2) time, so "
            "large LR images are slow on CPU; LA = softmax of -||q - k||^2 over a 7x7 window (out-of-image "
            "neighbours excluded). Global skip from the shallow features; upscaler 2 x (conv 64->256, "
            f"PixelShuffle 2); 3x3 reconstruction conv 64->3. RGB in [0, 1], clamped and rounded. {PARAMS_SR:,} "
            "parameters. "
            f"Options: tile / tile_overlap (srbench.tiling, default overlap {TILE_OVERLAP}) bound time and memory but "
            "are never exact for this network (the global attention then sees one tile plus its overlap). "
            "Checkpoint arch 'ssrvae.sr', arch_version 2 (docs/checkpoints.md); deterministic. "
            "Trainable (srbench train ssrvae --data HR --lr-data REAL_LR; methods/ssrvae/train.py): stage 1 the "
            "styleVAE with lambda_kl KL + lambda_rec ||y_LR - bicubic(x_HR)||^2 - lambda_mi MINE (Eq. 3-6; "
            "lambdas 1, 1, 10 are srbench's, the paper gives none), stage 2 the SR network with L1 on HR crops "
            "degraded by the frozen styleVAE (z ~ N(0, I), 8-bit); Adam (0.9, 0.999), lr 1e-4 constant; it "
            "writes this file and the ssrvae-stylevae degradation's."
        ),
        param_count=_param_count_sr,
        paper_vs_srbench=PAPER_VS_SRBENCH_SR,
        options=(
            OptionSpec(
                "attention_chunk",
                "queries per block of the global attention (memory; the attention stays exact)",
                "int",
                ATTENTION_CHUNK,
                minimum=1,
                affects_output=False,
            ),
            *tile_option_specs(TILE_OVERLAP, exact=False),
        ),
        rounding=ROUNDING,
    )
]

DEGRADATIONS = [
    DegradationInfo(
        name="ssrvae-stylevae",
        title="SSRVAE styleVAE (HR -> real-world-like LR, sampled style)",
        paper=PAPER,
        citation=CITATION,
        loader="srbench_methods.ssrvae.degradation:load",
        stochastic=True,
        scales=(4,),
        input=INPUT_HR,
        learned=True,
        code_license="n/a (no code released)",
        variants={
            "default": (
                WeightFile(
                    name="ssrvae_stylevae_x4.srbench.safetensors",
                    license="set by whoever trained it",
                    source=NO_OFFICIAL,
                    manual=True,
                    scale=4,
                ),
            )
        },
        notes=(
            _SOURCE
            + "styleVAE generator: E_HR (content) = 3x3 conv + IN + ReLU, 2 stride-2 3x3 convs + IN + ReLU, "
            "2 residual blocks with IN; E_LR (style) = 3x3 conv + ReLU, 8 residual blocks, global average pool, "
            "FC heads to mu and log var of a 256-d code; G = 2 residual blocks, each followed by AdaIN whose "
            "scale/shift come from the code through an FC layer of its own, 3x3 conv to RGB, tanh. 64 "
            "channels and 3x3 kernels everywhere; reflection padding; images in [-1, 1] inside. The MI "
            f"estimator is training-only and not in the checkpoint. {PARAMS_STYLEVAE:,} parameters. "
            "Stochastic: the style code is drawn from N(0, I) with a torch.Generator seeded "
            "with the seed (default seed 0), or taken from a reference real LR (style_ref=; posterior mean "
            "without a seed, posterior sample with one). HR sides that are not multiples of 4 are padded "
            "(reflect) and the LR cropped to ceil(H/4) x ceil(W/4); rounded half away from zero. Checkpoint arch "
            "'ssrvae.stylevae', arch_version 2. No options (style_ref is an argument of the Python call)."
        ),
        param_count=_param_count_stylevae,
        adapter_version="2",
        paper_vs_srbench=PAPER_VS_SRBENCH_STYLEVAE,
    )
]
