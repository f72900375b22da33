"""ImageNet VGG19 features for training losses (perceptual / content losses, dSRVAE's DAE encoder).

The network is torchvision's ``vgg19().features`` (layer names ``features.N``); its weights are the
ImageNet checkpoint torchvision publishes (``vgg19-dcbb9e9d.pth``). They are read from, in order:
``$SRBENCH_VGG19`` (a file), ``$TORCH_HOME/hub/checkpoints/vgg19-dcbb9e9d.pth`` (where torchvision
caches it), else downloaded (not offline) with torch.hub's hash-prefix check. The file is loaded without
executing code (``torch.load(weights_only=True)`` / safetensors) and only the ``features.*`` tensors that
the requested layers need are used, strictly: a file with any of them missing or misshaped is refused.
Without the file, training refuses with where to get it - never with random VGG weights.
"""

from __future__ import annotations

import os
from pathlib import Path

from srbench.errors import WeightsError

URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
FILE = "vgg19-dcbb9e9d.pth"
#: torchvision's layer indices in vgg19().features of the activations losses name
LAYERS = {
    "relu1_1": 1, "relu1_2": 3, "relu2_1": 6, "relu2_2": 8, "relu3_1": 11, "relu3_4": 17, "relu4_1": 20,
    "relu4_4": 26, "conv5_4": 34, "relu5_4": 35, "pool5": 36,
}
#: ImageNet normalisation the VGG weights expect (inputs in [0, 1])
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def weights_path() -> Path:
    env = os.environ.get("SRBENCH_VGG19")
    if env:
        p = Path(env).expanduser()
        if not p.is_file():
            raise WeightsError(f"SRBENCH_VGG19={env}: not a file")
        return p
    import torch.hub

    p = Path(torch.hub.get_dir()) / "checkpoints" / FILE
    if p.is_file():
        return p
    from srbench import paths

    if paths.offline():
        raise WeightsError(
            f"this recipe needs the ImageNet VGG19 weights ({FILE}, {URL}), which are not in {p.parent} and srbench is "
            f"offline: put the file there (or set SRBENCH_VGG19=/path/to/{FILE})"
        )
    p.parent.mkdir(parents=True, exist_ok=True)
    torch.hub.download_url_to_file(URL, str(p), hash_prefix=FILE.split("-")[1].split(".")[0])
    return p


def vgg19_features(upto: str):
    """A frozen ``nn.Module``: ImageNet-normalise an N x 3 x H x W batch in [0, 1] and return the VGG19
    activation ``upto`` (a key of :data:`LAYERS`)."""
    import torch
    from torch import nn
    from torchvision.models.vgg import cfgs, make_layers

    from srbench.weights import load_checkpoint

    if upto not in LAYERS:
        raise ValueError(f"unknown VGG19 layer {upto!r} (have: {', '.join(LAYERS)})")
    n = LAYERS[upto] + 1
    path = weights_path()
    state = load_checkpoint(path)
    feats = make_layers(cfgs["E"], batch_norm=False)[:n]  # vgg19().features without building the classifier
    wanted = {k: v for k, v in feats.state_dict().items()}
    sub = {k: state.get(f"features.{k}") for k in wanted}
    bad = [k for k, v in sub.items() if v is None or tuple(v.shape) != tuple(wanted[k].shape)]
    if bad:
        raise WeightsError(f"{path}: not torchvision's VGG19 (features.{bad[0]} missing or misshaped)")
    feats.load_state_dict(sub, strict=True)

    class VGGFeatures(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = feats
            self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1))

        def forward(self, x):
            return self.features((x - self.mean) / self.std)

    net = VGGFeatures().eval()
    for p in net.parameters():
        p.requires_grad_(False)
    net.weights_file = str(path)
    return net
