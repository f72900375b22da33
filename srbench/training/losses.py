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
