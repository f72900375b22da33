"""srbench: reproducible evaluation of image super-resolution methods.

Importing this package is cheap: torch, pandas and the method adapters are imported only when a method, a
learned metric or a DataFrame is actually used. The Python API (``docs/api.md``)::

    import srbench
    res = srbench.evaluate(methods="bicubic", datasets="set5", scale=4)   # -> srbench.results.Results
    res.summary                                                           # pandas DataFrame
    srbench.load("runs/a", "runs/b").per_image                            # several runs concatenate
    srbench.train(method="hvae-cnn", data="cifar10", steps=2000)          # -> srbench.training.loop.TrainResult
"""

__version__ = "0.1.0"

__all__ = ["__version__", "evaluate", "load", "train"]


def __getattr__(name: str):
    if name in ("evaluate", "load"):
        from srbench import api

        return getattr(api, name)
    if name == "train":
        from srbench.training.loop import train

        return train
    raise AttributeError(f"module 'srbench' has no attribute {name!r}")
