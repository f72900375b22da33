"""Deterministic weights for golden fixtures made from the official dSRVAE/RefVAE classes.

The same procedure filled the official models in /tmp when the fixtures were produced (see the READMEs in
tests/fixtures/dsrvae and tests/fixtures/refvae); keys are identical under strict loading.
"""

from __future__ import annotations

import math

import torch


def seeded_state(template: dict, seed: int) -> dict:
    """The deterministic weights of the fixtures (same procedure as used on the official models)."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k in sorted(template):
        t = template[k]
        if not torch.is_floating_point(t):  # num_batches_tracked: 0, as after construction
            out[k] = torch.zeros(t.shape, dtype=t.dtype)
            continue
        if k.endswith("running_var"):
            v = torch.rand(t.shape, generator=g) * 0.5 + 0.75
        elif t.ndim >= 2:
            v = torch.randn(t.shape, generator=g) / math.sqrt(t[0].numel())
        elif k.endswith("weight"):
            v = torch.randn(t.shape, generator=g) * 0.1 + 0.5
        else:
            v = torch.randn(t.shape, generator=g) * 0.1
        out[k] = v
    return out
