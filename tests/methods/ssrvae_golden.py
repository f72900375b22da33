"""Weights, inputs and the writer of the SSRVAE golden fixture (tests/fixtures/ssrvae/golden.npz).

There is no official SSRVAE code, so the fixture is a *regression* fixture of srbench's own architecture
v2: it pins what the default-size networks return for fixed weights and inputs, so that any change of a
layer, key, padding or formula is caught (and must come with an ``adapter_version`` bump and a new
fixture). ``python tests/methods/ssrvae_golden.py`` writes it (see tests/fixtures/ssrvae/README.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # seeded_weights, also when run as a script

from seeded_weights import seeded_state

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ssrvae" / "golden.npz"
SR_SEED, VAE_SEED = 20, 21
#: the style-code seeds of the two styleVAE cases (prior sample; posterior sample of the reference)
Z_SEED, REF_SEED = 5, 6


def sr_state(template: dict) -> dict:
    """``seeded_state(template, SR_SEED)`` with three deterministic changes so that the output of the
    16-block network stays near [0, 1] and the attention paths weigh as much as the convolutions: every
    attention ``lam`` = 1, the second conv of every block body x 0.1, the reconstruction conv x 0.1 and
    its bias + 0.5."""
    st = seeded_state(template, SR_SEED)
    for k in st:
        if k.endswith(".lam"):
            st[k] = torch.ones_like(st[k])
        elif k.endswith("body.2.weight"):
            st[k] = st[k] * 0.1
    st["tail.weight"] = st["tail.weight"] * 0.1
    st["tail.bias"] = st["tail.bias"] + 0.5
    return st


def vae_state(template: dict) -> dict:
    """``seeded_state(template, VAE_SEED)`` with the output conv x 0.1, so that the tanh is not saturated."""
    st = seeded_state(template, VAE_SEED)
    st["generator.out.conv.weight"] = st["generator.out.conv.weight"] * 0.1
    return st


def _image(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Smooth random colours plus noise, uint8 HxWx3."""
    coarse = rng.random((h // 4 + 2, w // 4 + 2, 3))
    ys, xs = np.linspace(0, coarse.shape[0] - 1, h), np.linspace(0, coarse.shape[1] - 1, w)
    y0, x0 = np.floor(ys).astype(int).clip(0, coarse.shape[0] - 2), np.floor(xs).astype(int).clip(0, coarse.shape[1] - 2)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    c = coarse
    smooth = (c[y0][:, x0] * (1 - fy) * (1 - fx) + c[y0 + 1][:, x0] * fy * (1 - fx)
              + c[y0][:, x0 + 1] * (1 - fy) * fx + c[y0 + 1][:, x0 + 1] * fy * fx)
    return np.clip(np.round(255 * smooth + rng.normal(0, 12, smooth.shape)), 0, 255).astype(np.uint8)


def inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2019)
    return {
        "sr_lr": _image(rng, 12, 10),  # SR input (48x40 output)
        "vae_hr": _image(rng, 30, 22),  # HR sides not multiples of 4: the padding path (LR 8x6)
        "vae_ref": _image(rng, 16, 16),  # a "real LR" style reference
    }


def sr_net():
    from srbench_methods.ssrvae.networks import SSRVAENet

    net = SSRVAENet()
    net.load_state_dict(sr_state(net.state_dict()), strict=True)
    return net.eval()


def vae_net():
    from srbench_methods.ssrvae.networks import StyleVAE

    net = StyleVAE()
    net.load_state_dict(vae_state(net.state_dict()), strict=True)
    return net.eval()


def _hwc(t: torch.Tensor) -> np.ndarray:
    return t[0].permute(1, 2, 0).numpy().astype(np.float32)


@torch.no_grad()
def compute() -> dict[str, np.ndarray]:
    """The fixture's arrays, computed with srbench's networks on CPU (direct calls, no adapter code)."""
    inp = inputs()
    out = dict(inp)
    sr = sr_net()
    x = torch.from_numpy(inp["sr_lr"].transpose(2, 0, 1).copy()).float().div(255).unsqueeze(0)
    out["sr_out"] = _hwc(sr(x))  # float, before x255 and clamping

    vae = vae_net()
    hr = torch.from_numpy(inp["vae_hr"].transpose(2, 0, 1).copy()).float().div(255).unsqueeze(0)
    hr = torch.nn.functional.pad(hr, (0, 2, 0, 2), mode="reflect")  # 30x22 -> 32x24
    ref = torch.from_numpy(inp["vae_ref"].transpose(2, 0, 1).copy()).float().div(255).unsqueeze(0)
    z = torch.randn((1, 256), generator=torch.Generator().manual_seed(Z_SEED))
    out["vae_z"] = z.numpy()
    out["vae_lr_prior"] = _hwc((vae(hr * 2 - 1, z) + 1) / 2)[:8, :6]
    mu, logvar = vae.encode_style(ref * 2 - 1)
    out["vae_mu"], out["vae_logvar"] = mu.numpy(), logvar.numpy()
    out["vae_lr_refmean"] = _hwc((vae(hr * 2 - 1, mu) + 1) / 2)[:8, :6]
    eps = torch.randn((1, 256), generator=torch.Generator().manual_seed(REF_SEED))
    out["vae_lr_refsample"] = _hwc((vae(hr * 2 - 1, mu + (0.5 * logvar).exp() * eps) + 1) / 2)[:8, :6]
    out["seeds"] = np.array([SR_SEED, VAE_SEED, Z_SEED, REF_SEED])
    out["torch_version"] = np.array(torch.__version__)
    return out


def main() -> None:
    arrays = compute()
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(FIXTURE, **arrays)
    print(f"wrote {FIXTURE} ({FIXTURE.stat().st_size} bytes): " + ", ".join(f"{k} {v.shape}" for k, v in arrays.items()))


if __name__ == "__main__":
    main()
