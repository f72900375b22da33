from srbench.method_api import MethodInfo, PaperValue

_DOC = "MATLAB imresize documentation"
_SRC = "MATLAB imresize.m"

#: the "paper" of bicubic is MATLAB's imresize (documentation and imresize.m), which made the benchmark LR
#: sets; shown by `srbench list --verbose`
PAPER_VS_SRBENCH = (
    PaperValue("kernel", f"4x4 neighbourhood ({_DOC}, 'bicubic'); Keys' cubic, a = -0.5 ({_SRC}, cubic)",
               "the same (srbench.imresize.cubic)", ""),
    PaperValue("antialiasing", f"on by default when shrinking ({_DOC}, 'Antialiasing')",
               "on when shrinking (kernel widened by 1/scale); no effect when enlarging", ""),
    PaperValue("output size", f"ceil(scale * input size) ({_DOC})", "the same", ""),
    PaperValue("sample positions", f"u = x/scale + 0.5 (1 - 1/scale), 1-based ({_SRC})", "the same", ""),
    PaperValue(
        "borders",
        f"out-of-range taps clamped to the edge pixel ({_SRC} of the releases that made the LR sets)",
        "clamp (replicate)",
        "newer MATLAB releases mirror instead; that rule breaks 456 of the 457 reference LR hashes "
        "(tests/test_imresize.py)",
    ),
    PaperValue("pass order", f"the dimension with the smaller scale first ({_SRC})", "the same", ""),
    PaperValue(
        "uint8 passes",
        f"uint8 in -> each 1-D pass returns uint8 ({_SRC}, imresizemex)",
        "each pass rounded half away from zero and saturated",
        "bit-exact with the reference LR sets",
    ),
    PaperValue("output rounding", "uint8 conversion rounds half away from zero (MATLAB uint8)",
               "half_away", ""),
    PaperValue("float input", f"output of the input's class: double stays double ({_DOC})", "the luma protocol resizes float Y, unrounded", ""),
    PaperValue("scales", f"any ({_DOC})", "x2, x3, x4, x8", "the scales of srbench's datasets"),
)

METHODS = [
    MethodInfo(
        name="bicubic",
        title="Bicubic",
        paper="MATLAB imresize bicubic (Keys 1981, a = -0.5, antialiased)",
        citation="R. Keys, Cubic convolution interpolation for digital image processing, IEEE TASSP 1981.",
        code_license="srbench (MIT)",
        weights_license="n/a",
        scales=(2, 3, 4, 8),
        protocols=("rgb", "luma"),
        learned=False,
        loader="srbench_methods.bicubic.model:load",
        adapter_version="1",
        notes="MATLAB-exact imresize (srbench.imresize); uint8 RGB in/out (rounded half away from zero, as "
        "MATLAB's uint8), or float Y for the luma protocol. No options.",
        rounding="half_away",
        paper_vs_srbench=PAPER_VS_SRBENCH,
    )
]
