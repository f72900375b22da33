"""GAN losses the recipes share (float32 whatever the autocast dtype)."""

from __future__ import annotations


def bce(logits, target: float):
    """Binary cross-entropy of logits against a constant label (the standard GAN's loss)."""
    import torch
    import torch.nn.functional as F

    logits = logits.float()
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, float(target)))


def lsgan(pred, target: float):
    """Least-squares GAN loss against a constant label (CycleGAN's ``gan_mode lsgan``)."""
    import torch
    import torch.nn.functional as F

    pred = pred.float()
    return F.mse_loss(pred, torch.full_like(pred, float(target)))


def discriminator_bce(real_logits, fake_logits):
    """The standard discriminator loss: 0.5 * (BCE(real, 1) + BCE(fake, 0))."""
    return 0.5 * (bce(real_logits, 1.0) + bce(fake_logits, 0.0))


def generator_adversarial(ctx, disc, fake):
    """The generator's standard GAN term: BCE(D(fake), 1), D run under the step's autocast."""
    with ctx.autocast():
        logit = disc(fake).float()
    return bce(logit, 1.0)


def discriminator_step(ctx, disc, real, fake, optimiser: str) -> float:
    """One standard discriminator update on a real and a (detached) fake batch, both in one forward;
    returns the loss (``StepContext.backward`` with the named optimiser)."""
    import torch

    with ctx.autocast():
        logits = disc(torch.cat([real, fake.detach()])).float()
    n = real.shape[0]
    return ctx.backward(discriminator_bce(logits[:n], logits[n:]), optimiser)
