"""Training recipe of SSRVAE (``srbench train ssrvae --data HR --lr-data REAL_LR``).

From the paper (papers/ssrvae.md: Sec. 3.1 styleVAE objective Eq. 3-6, Sec. 3.2 SR network and its L1
loss, Sec. 4.1 data and implementation details). No code was released; every value the paper leaves
open is an srbench choice, listed in :attr:`SSRVAERecipe.paper_vs_srbench` with its reason.

Two stages, as the paper trains them (Sec. 3, 4.1: "the styleVAE is trained for 10 epochs. After that,
we build the paired dataset during training of the SR network"):

1. ``stylevae``: the styleVAE (E_HR, E_LR, G) and the MINE statistics network T on unpaired batches
   (HR crops + real LR crops): ``lambda_kl * KL + lambda_rec * ||y_LR - bicubic(x_HR)||_F^2 - lambda_mi * MI``,
   MI = the Donsker-Varadhan bound of Eq. 5 between the real LR fed to E_LR and the generated LR.
2. ``sr``: the styleVAE frozen; each HR crop is degraded by it (style code z ~ N(0, I), 8-bit LR) and the
   attention SR network is trained with L1 against the HR.

Exported: ``ssrvae_x4.srbench.safetensors`` (the SR network, method ``ssrvae``) and
``ssrvae_stylevae_x4.srbench.safetensors`` (the styleVAE, degradation ``ssrvae-stylevae``). T is
training-only and not exported.
"""

from __future__ import annotations

import math
from pathlib import Path

from srbench.errors import SrbenchError
from srbench.method_api import PaperValue
from srbench.training.recipe import UNPAIRED, Hyper, Recipe, Stage, unwrap
from srbench.training.resize import bicubic

PAPER_REF = "Ma et al., Style-based Variational Autoencoder for Real-World Super-Resolution, arXiv:1912.10227 (papers/ssrvae.md)"
#: HR training faces (Sec. 4.1: VGGFace2 + CelebA + AFLW + LS3D-W subsets, "180k faces")
HR_TRAIN = 180_000
#: styleVAE epochs (Sec. 4.1)
STYLEVAE_EPOCHS = 10
#: Adam's betas (Sec. 4.1)
BETAS = (0.9, 0.999)
STYLES = ("prior", "posterior")

_ARCH = {
    # the networks' sizes (networks.SR_DEFAULTS / STYLEVAE_DEFAULTS): the paper's, overridable for tests
    "nf": 64, "style_dim": 256, "n_style_res": 8, "n_gen_res": 2, "n_content_res": 2,
    "n_global": 8, "n_local": 8, "reduction": 8, "window": 7,
    "mine_nf": 64,  # width of the statistics network T (training only)
}
_LOSS = {"lambda_kl": 1.0, "lambda_rec": 1.0, "lambda_mi": 10.0, "sr_style": "prior"}


def _steps(batch: int) -> int:
    return STYLEVAE_EPOCHS * HR_TRAIN // batch



def _build_aux():
    """The training-only modules (torch imported lazily, as the recipe module is imported by listings)."""
    import torch
    from torch import nn

    class StyleVAEPass(nn.Module):
        """The styleVAE's training pass in forward() (DDP sees it): the style posterior of the real LR,
        a reparameterised code, and the LR the generator makes from the HR content with it."""

        def __init__(self, vae):
            super().__init__()
            self.vae = vae

        def forward(self, hr, lr_real, eps):
            mu, logvar = self.vae.encode_style(lr_real)
            z = mu + (0.5 * logvar).exp() * eps
            return self.vae(hr, z), mu, logvar

    def encoder(cin: int, nf: int) -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(cin, nf, 3, 1, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(nf, 2 * nf, 3, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * nf, 2 * nf, 3, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )

    class StatisticsNet(nn.Module):
        """MINE's T_theta(x_LR, y_LR) (Eq. 5): one conv encoder per input, globally pooled (the style is a
        property of the whole image and the two images have different content), an MLP on the pair.
        forward() gives T on the joint pairs (x_i, y_i) and on product-of-marginals pairs (x_i, y_{i-1})."""

        def __init__(self, nf: int):
            super().__init__()
            self.fx = encoder(3, nf)
            self.fy = encoder(3, nf)
            self.head = nn.Sequential(nn.Linear(4 * nf, 2 * nf), nn.LeakyReLU(0.2, inplace=True), nn.Linear(2 * nf, 1))

        def forward(self, x, y):
            a, b = self.fx(x), self.fy(y)
            joint = self.head(torch.cat([a, b], 1))[:, 0]
            marginal = self.head(torch.cat([a, b.roll(1, 0)], 1))[:, 0]
            return joint, marginal

    return StyleVAEPass, StatisticsNet


class SSRVAERecipe(Recipe):
    """styleVAE (KL + reconstruction + MINE mutual information, Eq. 6), then the attention SR network with
    L1 on styleVAE-degraded HR (Sec. 3.2, 4.1); Adam (0.9, 0.999), lr 1e-4 constant."""

    method = "ssrvae"
    scales = (4,)
    data = UNPAIRED
    paper = PAPER_REF
    stages = (
        Stage("stylevae", 0.5, ("stylevae", "mine"),
              "styleVAE: lambda_kl KL + lambda_rec ||G(E_HR(HR), z) - bicubic(HR)||^2 - lambda_mi MINE(real LR; generated LR)"),
        Stage("sr", 0.5, ("sr",), "SR net: L1(SR(styleVAE(HR)), HR), styleVAE frozen"),
    )
    presets = {
        # 10 epochs of 180k HR faces at batch 16 for the styleVAE, as many steps for the SR network
        "paper": Hyper(steps=2 * _steps(16), batch=16, patch=64, lr=1e-4, extra={**_ARCH, **_LOSS}),
        "short": Hyper(steps=20_000, batch=16, patch=64, lr=1e-4, extra={**_ARCH, **_LOSS}),
    }
    paper_vs_srbench = (
        PaperValue("stages", "styleVAE first (10 epochs), then the SR network on styleVAE-made pairs (Sec. 3, 4.1)",
                   "stage 'stylevae' (half the steps), then stage 'sr' (half), styleVAE frozen in 'sr'",
                   "the paper trains them one after the other, no joint fine-tuning"),
        PaperValue("styleVAE objective", "lambda1 L_kl + lambda2 L_rec + lambda3 L_mi (Eq. 6)",
                   "lambda_kl KL + lambda_rec L_rec - lambda_mi MI, minimised",
                   "the text maximises the MI (Sec. 3.1), so its estimate enters the minimised loss with a minus sign"),
        PaperValue("L_kl", "KL(q(z|x_LR) || N(0, I)), printed as 1/2N sum (1 + log sigma^2 - mu^2 - sigma^2) (Eq. 3)",
                   "-1/2 sum_j (1 + log sigma^2 - mu^2 - sigma^2), summed over the 256 dims, mean over the batch",
                   "the printed sum is the negative KL (a missing minus sign); E_LR gives log sigma^2"),
        PaperValue("L_rec", "||y_LR - x_HR||_F^2, x_HR resized to the LR size (Eq. 4)",
                   "sum of squared differences per image, mean over the batch, images in [-1, 1]",
                   "the styleVAE's value range; Frobenius norm per image as written"),
        PaperValue("resize of x_HR in L_rec", "not stated", "MATLAB bicubic (antialiased, float), srbench.imresize",
                   "the paper's bicubic (its LFW test LR, Sec. 4.1); exact, as a matrix on each axis"),
        PaperValue("L_mi", "MINE [1]: sup_T E_joint[T] - log E_marginal[e^T] (Eq. 5)",
                   "the same over the batch: joint (x_LR,i, y_LR,i), marginal (x_LR,i, y_LR,i-1); log-mean-exp",
                   "pairing with the next sample draws from the product of marginals (a batch of >= 2 per process)"),
        PaperValue("MINE statistics network T", "'a static deep neural network'; details in the supplement (not available)",
                   "per input: conv3x3 64, conv3x3/2 128, conv3x3/2 128 (LeakyReLU 0.2), global mean; MLP 256-128-1",
                   "srbench's choice: style is an image-wide statistic and the two LR images share no content"),
        PaperValue("T optimisation", "sup over theta (Eq. 5)",
                   "T maximises the same bound, in the same backward pass as the styleVAE (Adam, lr as the styleVAE)",
                   "the plain Donsker-Varadhan bound; MINE's moving-average gradient correction is not mentioned"),
        PaperValue("lambda1 (KL), lambda2 (rec), lambda3 (MI)", "not stated ('trade-off factors', Eq. 6)", "1, 1, 10",
                   "srbench's choice: I(x_LR; y_LR) <= I(x_LR; z) <= E[KL], so with lambda3 <= lambda1 the MI term "
                   "cannot pay for a style code; 10 lets it (--set lambda_mi=...)"),
        PaperValue("adversarial / cycle losses", "none (the styleVAE is chosen over a GAN for stability, Sec. 3.1)",
                   "none"),
        PaperValue("SR loss", "L1 (Sec. 3.2)", "mean absolute error between SR and HR, RGB in [0, 1]"),
        PaperValue("SR training pairs", "each HR fed into the styleVAE during SR training (Sec. 4.1)",
                   "the frozen styleVAE degrades each HR crop on the fly, a code z ~ N(0, I) per crop",
                   "sampling N(0, I) is how the paper gets diverse LR (Sec. 3.1); --set sr_style=posterior takes "
                   "the code of a random real LR crop instead"),
        PaperValue("LR precision in SR training", "not stated", "rounded to 8 bits, float32 styleVAE",
                   "as the ssrvae-stylevae degradation and every real LR the SR network is run on"),
        PaperValue("optimiser", "Adam, beta1 0.9, beta2 0.999 (Sec. 4.1)", "Adam (0.9, 0.999) for styleVAE, T and SR"),
        PaperValue("learning rate", "1e-4, unchanged during training (Sec. 4.1)", "1e-4 constant"),
        PaperValue("styleVAE length", "10 epochs (Sec. 4.1) of 180k HR faces",
                   f"10 x {HR_TRAIN:,} / 16 = {_steps(16):,} steps"),
        PaperValue("SR length", "not stated", f"{_steps(16):,} steps (as the styleVAE)", "srbench's choice"),
        PaperValue("batch size", "not stated", "16", "srbench's choice (EDSR / RCAN's)"),
        PaperValue("HR patch", "not stated; the HR faces of [4] are 64x64 (LR 16x16)", "64 (LR crops 16)",
                   "whole faces at the paper's sizes; on larger images: random crops"),
        PaperValue("data", "HR: 180k faces (VGGFace2, CelebA, AFLW, LS3D-W); LR: 90% of WIDER FACE (Sec. 4.1)",
                   "--data (HR) and --lr-data (real LR), unpaired", "whatever the user gives"),
        PaperValue("augmentation", "not stated", "random flips / 90-degree rotations", "srbench's loop"),
        PaperValue("initialisation", "not stated", "PyTorch defaults; attention lambda 0; AdaIN y_s bias 1",
                   "as networks.py builds them"),
        PaperValue("validation", "FID on WIDER FACE test LR; PSNR on LFW, MATLAB bicubic LR (Sec. 4.1)",
                   "PSNR-Y of held-out HR from MATLAB bicubic LR", "srbench's loop"),
        PaperValue("precision", "not stated (Titan Xp)", "bf16 autocast on CUDA", "srbench's loop; losses in float32"),
        PaperValue("short preset", "n/a", "20,000 steps (10,000 + 10,000), otherwise as the paper preset",
                   "a quick reference checkpoint"),
    )

    def __init__(self, variant: str | None = None):
        self.variant = variant

    # -- model ------------------------------------------------------------------------------------
    def build(self, scale, hp):
        from .networks import build_sr, build_stylevae

        e = hp.extra
        if e["sr_style"] not in STYLES:
            raise SrbenchError(f"ssrvae: sr_style must be one of {', '.join(STYLES)}, not {e['sr_style']!r}")
        if hp.batch < 2:
            raise SrbenchError("ssrvae: the MI estimate pairs each sample with another: batch >= 2")
        StyleVAEPass, StatisticsNet = _build_aux()
        sr = build_sr(scale, {k: int(e[k]) for k in ("nf", "n_global", "n_local", "reduction", "window")})
        vae = build_stylevae(scale, {k: int(e[k]) for k in ("nf", "style_dim", "n_style_res", "n_gen_res", "n_content_res")})
        return {"stylevae": StyleVAEPass(vae), "mine": StatisticsNet(int(e["mine_nf"])), "sr": sr}

    def optimizers(self, nets, hp):
        import torch

        return {k: torch.optim.Adam(nets[k].parameters(), lr=hp.lr, betas=BETAS) for k in ("stylevae", "mine", "sr")}

    # -- training ---------------------------------------------------------------------------------
    def train_step(self, stage, batch, nets, ctx, hp):
        if stage == "stylevae":
            return self._stylevae_step(batch, nets, ctx, hp)
        if stage == "sr":
            return self._sr_step(batch, nets, ctx, hp)
        raise ValueError(f"unknown stage {stage!r}")

    def _stylevae_step(self, batch, nets, ctx, hp):
        import torch

        e = hp.extra
        hr, x_lr = batch.hr * 2 - 1, batch.lr * 2 - 1  # the styleVAE works in [-1, 1]
        n = hr.shape[0]
        if n < 2:
            raise SrbenchError("ssrvae: the MI estimate pairs each sample with another: give each process a batch of >= 2")
        target = bicubic(hr.float(), x_lr.shape[-2:])  # x_HR resized to the LR size (Eq. 4)
        eps = torch.randn((n, unwrap(nets["stylevae"]).vae.style_dim), device=hr.device)
        with ctx.autocast():
            y_lr, mu, logvar = nets["stylevae"](hr, x_lr, eps)
            t_joint, t_marg = nets["mine"](x_lr, y_lr)
        y_lr, mu, logvar, t_joint, t_marg = (t.float() for t in (y_lr, mu, logvar, t_joint, t_marg))
        kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()  # Eq. 3
        rec = (y_lr - target).pow(2).flatten(1).sum(1).mean()  # Eq. 4
        mi = t_joint.mean() - (torch.logsumexp(t_marg, 0) - math.log(n))  # Eq. 5 (Donsker-Varadhan)
        loss = float(e["lambda_kl"]) * kl + float(e["lambda_rec"]) * rec - float(e["lambda_mi"]) * mi  # Eq. 6
        return {"loss": ctx.backward(loss, "stylevae", "mine"), "kl": float(kl.detach()),
                "rec": float(rec.detach()), "mi": float(mi.detach())}

    def _sr_step(self, batch, nets, ctx, hp):
        import torch
        import torch.nn.functional as F

        vae = unwrap(nets["stylevae"]).vae
        with torch.no_grad():  # the frozen styleVAE makes the training LR, in float32 like the degradation
            hr = batch.hr * 2 - 1
            eps = torch.randn((hr.shape[0], vae.style_dim), device=hr.device)
            if hp.extra["sr_style"] == "posterior":
                mu, logvar = vae.encode_style(batch.lr * 2 - 1)
                z = mu + (0.5 * logvar).exp() * eps
            else:
                z = eps
            lr = ((vae(hr, z) + 1) / 2).clamp(0, 1)
            lr = torch.floor(lr * 255 + 0.5) / 255  # 8-bit, rounded half away from zero as the degradation
        with ctx.autocast():
            sr = nets["sr"](lr)
        loss = F.l1_loss(sr.float(), batch.hr)
        return {"l1": ctx.backward(loss, "sr")}

    # -- validation and output --------------------------------------------------------------------
    def super_resolve(self, nets, lr):
        return unwrap(nets["sr"])(lr)

    def export(self, nets, scale, out, training):
        from srbench.checkpoint_format import save_checkpoint

        out = Path(out)
        sr = save_checkpoint(unwrap(nets["sr"]), out / f"ssrvae_x{scale}.srbench.safetensors",
                             {"method": "ssrvae", "variant": "default", "training": dict(training)})
        vae = save_checkpoint(unwrap(nets["stylevae"]).vae, out / f"ssrvae_stylevae_x{scale}.srbench.safetensors",
                              {"method": "ssrvae-stylevae", "variant": "default", "training": dict(training)})
        return [sr, vae]
