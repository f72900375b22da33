"""SSRVAE (Ma et al., arXiv:1912.10227): light metadata only (networks in networks.py)."""

from srbench.degradation_api import INPUT_HR, DegradationInfo
from srbench.method_api import MethodInfo, OptionSpec, WeightFile, tile_option_specs

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


_SOURCE = (
    "No code or weights were released; implemented from the paper's description (shallow conv, 8 "
    "global attention residual blocks, 8 local attention residual blocks, sub-pixel upscaler, "
    "reconstruction conv, x4, L1). Sizes the description leaves open are srbench choices, stated here. "
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
        adapter_version="1",
        notes=(
            _SOURCE
            + "Only the SR network runs at test time (the styleVAE makes training LR; it is the "
            "'ssrvae-stylevae' degradation). Choices: 64 feature channels, every conv 3x3 with bias, "
            "ReLU; a block is x + f + gamma*A(f) with f = conv-ReLU-conv(x) and gamma a learnable scalar "
            "initialised to 0 (used in both block types; the paper names the learnable scale for the "
            "global one). Global attention = non-local softmax(q.k) attention over all positions with 1x1 "
            "query/key convs to 64/8 = 8 channels and a 1x1 value conv to 64 (SAGAN/DANet sizes), "
            f"computed exactly in chunks of {ATTENTION_CHUNK} queries (option attention_chunk) - O((HW)^2) time, so "
            "large LR images are slow on CPU. Local attention = local relation aggregation over a 7x7 "
            "window (window of Local Relation Networks), similarity -||q_i - k_j||^2 over the 8-channel "
            "query/key, softmax over the window, out-of-image neighbours excluded, no geometry prior, one "
            "aggregation group. A global skip adds the shallow features to the output of the 16 blocks; "
            "upscaler = 2 x (conv 64->256, PixelShuffle 2) without activation; reconstruction conv 64->3. "
            "No mean shift; RGB in [0,1]; output clamped and rounded. 1,563,859 parameters. "
            f"Options: tile / tile_overlap (srbench.tiling, default overlap {TILE_OVERLAP}) bound time and memory but "
            "are never exact for this network (the global attention then sees one tile plus its overlap). "
            "Checkpoint arch 'ssrvae.sr' (docs/checkpoints.md); deterministic."
        ),
        param_count=_param_count_sr,
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
            + "styleVAE generator as described (real-LR style encoder -> KL-regularised Gaussian style code; "
            "HR content encoder; AdaIN-modulated generator); sizes follow MUNIT, on which its AdaIN design "
            "builds: content encoder = 7x7 conv 64 + IN + ReLU, log2(s) x (4x4 stride-2 conv doubling the "
            "channels + IN + ReLU), 4 residual blocks (IN) at 256 channels; style encoder = 7x7 conv 64, "
            "4x4 stride-2 convs to 128, 256, 256, 256 (ReLU, no norm), global average pool, 1x1 conv to "
            "(mu, log var) of an 8-d code; MLP 8->256->256->4096 (ReLU) giving the AdaIN scale/shift of 4 "
            "AdaIN residual blocks (256 channels); 7x7 conv to RGB, tanh. Reflection padding (edge "
            "replication when an image is too small). Images in [-1, 1] inside the network. The MI "
            "estimator and discriminators are training-only and not in the checkpoint. 14,031,891 "
            "parameters. Stochastic: the style code is drawn from N(0, I) with a torch.Generator seeded "
            "with the seed (default seed 0), or taken from a reference real LR (style_ref=; posterior mean "
            "without a seed, posterior sample with one). HR sides that are not multiples of 4 are padded "
            "(reflect) and the LR cropped to ceil(H/4) x ceil(W/4); rounded half away from zero. Checkpoint arch "
            "'ssrvae.stylevae'. No options (style_ref is an argument of the Python call)."
        ),
        param_count=_param_count_stylevae,
    )
]
