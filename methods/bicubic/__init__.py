from srbench.method_api import MethodInfo

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
    )
]
