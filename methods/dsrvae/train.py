"""Training recipe of dSRVAE (``srbench train dsrvae``): Liu et al., CVPRW 2020 (papers/dsrvae.md).

Two stages, as the paper trains the two parts of the network (Sec. 3, 4.1):

1. ``dae`` - the Denoising AutoEncoder alone (Eq. 7): the fixed ImageNet VGG19 (conv layers up to pool5,
   no FC) encodes the *clean* LR patch T into q(z | T) = N(mu, sigma^2) (the Linear head of
   :class:`~srbench_methods.dsrvae.network.Denoiser`); z = mu + eps * sigma; the decoder estimates the
   noise from z and the noisy LR X and subtracts it. Loss: L1(g(X), T) + kl * KL(q(z|T) || N(0, I)).
2. ``sr`` - the Super-Resolution Sub-Network f on the frozen DAE's output g(X) (the DAE's test-time path,
   z ~ N(0, I)), with a discriminator (Sec. 3.2): the cycle MAE of Eq. 8,
   |s(Y) - g(X)| + |Y - f(s(Y))| with Y = f(g(X)) and s = bicubic down-sampling, plus Eq. 9's
   ``vgg`` * |s(phi(Y)) - phi(g(X))| (phi = VGG19 conv5_4, "the 4th convolution before the 5th max-pool")
   and ``adv`` * the generator's adversarial loss; the discriminator tells reference HR patches from Y.

Data (paired, from HR crops): X = MATLAB bicubic / 4 of the HR crop plus white Gaussian noise of a
standard deviation drawn per crop from U[noise_min, noise_max] (8-bit units), quantised to uint8 - the
paper trains on the NTIRE 2020 track-1 source images, whose degradation is unknown, so srbench
synthesises noisy LR by its Eq. 1 (X = sKY + mu). T = the noise-free bicubic LR, recomputed on the
device from the HR with the same MATLAB kernel. The discriminator's real samples ("references", 512 px
crops in the paper) are the batch's HR crops; the discriminator is unconditional, so which LR they came
from does not matter.

Every value the paper states and every choice srbench makes where it is silent is in
:attr:`DSRVAERecipe.paper_vs_srbench` (``srbench list --verbose``).

Output: ``VAE_denoiser.pth`` and ``VAE_SR.pth`` - the released file names and format (plain state
dicts; srbench reads them with ``torch.load(weights_only=True)``), so ``srbench run --weights
dsrvae=<out>`` and ``srbench weights import dsrvae <file>`` take them exactly like the official files.
Beside each, ``<file>.srbench-trained`` holds the JSON config with the training provenance; its presence
makes run manifests record the file's provenance as ``trained``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from srbench.checkpoint_format import save_released_layout
from srbench.errors import SrbenchError
from srbench.method_api import PaperValue
from srbench.training.losses import discriminator_step, generator_adversarial
from srbench.training.recipe import PAIRED, Hyper, Recipe, Stage, adam, unwrap
from srbench.training.resize import bicubic_down

PAPER = "Liu et al., Unsupervised Real Image Super-Resolution via Generative VAE, CVPRW 2020 (papers/dsrvae.md)"
SCALE = 4
LR_PATCH = 128  # the DAE's noise decoder always produces a 128x128 map (network.PATCH)
PAPER_STEPS = 1_000_000

#: the recipe values beside batch/patch/lr (weights, noise model, optimiser, crop of the SR stage)
_EXTRA = {
    "kl": 1.0,  # weight of KL(q(z|T) || N(0, I)) in the DAE loss (Eq. 7: 1)
    "vgg": 1.0,  # lambda of Eq. 9 (VGG19 conv5_4 feature loss)
    "adv": 1e-4,  # eta of Eq. 9 (adversarial loss)
    "weight_decay": 1e-4,  # Adam's weight decay (Sec. 4.1)
    "beta1": 0.9,  # Adam's momentum (Sec. 4.1)
    "noise_min": 0.0,  # AWGN standard deviation of the LR, 8-bit units, drawn per crop
    "noise_max": 25.0,
    "sr_crop": LR_PATCH,  # LR side of the denoised patch the SRSN trains on in stage 2 (a multiple of 16)
    "supervised": 0,  # 1: Sec. 4.3's supervised variant (Table 2): the MAE of Eq. 8 against the HR
}


def vgg_layer(vgg, x, index: int):
    """torchvision's vgg19().features[:index + 1] of the ImageNet-normalised x (``vgg`` from
    :func:`srbench.training.perceptual.vgg19_features`)."""
    return vgg.features[: index + 1]((x - vgg.mean) / vgg.std)




class DSRVAERecipe(Recipe):
    """dSRVAE: the DAE (Eq. 7), then the SRSN with its discriminator (Eq. 8, 9); Adam 1e-4, batch 16,
    128 px LR patches."""

    method = "dsrvae"
    scales = (SCALE,)
    data = PAIRED
    paper = PAPER + ", Sec. 3.1-3.2, 4.1"
    stages = (
        Stage("dae", 0.5, ("dae",), "L1(g(X), T) + kl * KL(q(z | VGG19(T)) || N(0, I)) (Eq. 7)"),
        Stage("sr", 0.5, ("sr", "disc"),
              "cycle MAE (Eq. 8) + vgg * |s(conv5_4(Y)) - conv5_4(g(X))| + adv * GAN (Eq. 9); DAE frozen"),
    )
    presets = {
        "paper": Hyper(steps=PAPER_STEPS, batch=16, patch=SCALE * LR_PATCH, lr=1e-4, extra=dict(_EXTRA)),
        "short": Hyper(steps=20_000, batch=8, patch=SCALE * LR_PATCH, lr=1e-4, extra={**_EXTRA, "sr_crop": 64}),
    }
    paper_vs_srbench = (
        PaperValue("stages", "DAE, then SRSN + discriminator (Sec. 3, Fig. 2)",
                   "stage dae, then stage sr (the DAE frozen, run as at test time with z ~ N(0, I))",
                   "the paper does not say whether the DAE is fine-tuned with the SRSN; the authors' "
                   "main_GAN.py keeps it frozen (eval, no_grad), srbench too"),
        PaperValue("length", "1e6 iterations (Sec. 4.1), not split by stage",
                   "1e6 steps in all: 500,000 DAE + 500,000 SR", "the paper gives one count; srbench splits it evenly"),
        PaperValue("batch", "16 (Sec. 4.1)", "16 (short: 8)", ""),
        PaperValue("patch", "128x128 LR patches; 512x512 reference patches (Sec. 4.1)",
                   "512 px HR crops -> 128 px LR (fixed: the DAE's noise map is 128x128)",
                   "stage sr: option sr_crop (default 128) crops the denoised LR the SRSN trains on, short: 64"),
        PaperValue("optimiser", "Adam, momentum 0.9, weight decay 1e-4, lr 1e-4 for all layers (Sec. 4.1)",
                   "Adam(lr 1e-4, betas (0.9, 0.999), weight_decay 1e-4) for DAE, SRSN and discriminator",
                   "beta2 not stated: torch's default (the authors' scripts: 0.999)"),
        PaperValue("learning-rate schedule", "not stated", "x0.1 after half of each stage",
                   "the authors' main_denoiser.py / main_GAN.py divide by 10 at half of their epochs"),
        PaperValue("training data", "NTIRE 2020 RWSR track 1: Flickr2K source (unknown noise, x4 down) -> DIV2K target (Sec. 4.1)",
                   "paired crops of --data HR: X = MATLAB bicubic /4 + AWGN, T = the noise-free bicubic LR",
                   "the unknown real degradation is replaced by Eq. 1 with white Gaussian noise"),
        PaperValue("noise of the LR", "additive noise mu of Eq. 1; not specified (real NTIRE 2020 images)",
                   "AWGN, sigma ~ U[noise_min, noise_max] = U[0, 25] (8-bit units) per crop, rounded to uint8",
                   "srbench's choice; Table 1 evaluates the DAE at sigma 15, inside the range"),
        PaperValue("DAE encoder", "pre-trained VGG19 conv layers, no FC, on the clean image (Sec. 3.1, 4.1)",
                   "torchvision's ImageNet VGG19 features up to pool5 (4x4x512 = 8192 for 128 px), frozen, on T",
                   "main_denoiser.py: feature_layer 36 = pool5; the weights: $SRBENCH_VGG19 or the torch hub cache"),
        PaperValue("DAE loss", "-ELBO of Eq. 7: E_q[log P(T | X, z)] - KL(Q(z | X, T) || P(z | X)), batch mean",
                   "L1(g(X), T) (mean) + kl * 0.5 sum_j (mu^2 + sigma^2 - 1 - log sigma^2) (batch mean), kl = 1",
                   "the likelihood is not stated: L1 as the authors' script; the prior P(z|X) = N(0, I), as "
                   "at test time (their script sums the KL over the batch too)"),
        PaperValue("reparameterisation", "z = mu + eps * sigma^0.5, sigma the variance (Sec. 3.1)",
                   "z = mu + eps * exp(logvar / 2)", "the same"),
        PaperValue("SR loss (Eq. 8)", "sum |s(Y) - g(X)| + |Y - f(s(Y))|, Y = f(g(X)), s bicubic",
                   "mean |s(Y) - g(X)| + mean |Y - f(s(Y))|, s = MATLAB bicubic /4 (float)",
                   "means instead of sums (the weights below are relative to means); the authors' main_GAN.py "
                   "compares with its data's target images instead of g(X); srbench follows the paper"),
        PaperValue("VGG loss (Eq. 9)", "lambda |phi_i(f(g(X))) - s(phi_i(g(X)))|, phi = 4th conv before the 5th max-pool; "
                   "text: the SR features are down-sampled", "vgg * mean |s(conv5_4(Y)) - conv5_4(g(X))|, vgg = 1",
                   "lambda not stated: 1 (the authors' script; it detaches both features, srbench lets the "
                   "gradient through); down-sampled side from the text"),
        PaperValue("adversarial loss", "eta log(1 - D(G(g(X)))) (Eq. 9)",
                   "adv * BCE(D(Y), real) (non-saturating), adv = 1e-4; D: BCE(real HR) + BCE(fake Y), averaged",
                   "eta not stated: 1e-4 (the authors' main_GAN.py)"),
        PaperValue("discriminator", "not described (Fig. 2)",
                   "8 convs (3x3 / 4x4 stride 2, 64-512 ch, LeakyReLU 0.2), 4x4 average pool, Linear 8192-100-1",
                   "srbench's design, size-agnostic (the authors' has batch norms and a 512 px-only head)"),
        PaperValue("discriminator references", "random 512x512 crops of reference (target-domain HR) images",
                   "the batch's HR crops at the SRSN's crop", "an unconditional discriminator: any clean HR crops"),
        PaperValue("supervised variant (Table 2)", "MAE of Eq. 8 against the HR + adversarial loss (Sec. 4.3)",
                   "--set supervised=1: mean |Y - HR| replaces Eq. 8 (VGG and adversarial terms kept)",
                   "default 0: the unsupervised model the paper proposes and the authors released"),
        PaperValue("initialisation", "not stated", "PyTorch's defaults",
                   "the authors' scripts use Kaiming-normal; not a paper value"),
        PaperValue("augmentation", "not stated", "random flips / 90-degree rotations of the HR crop (srbench's loop)",
                   "the authors' dataset flips and rotates by 180 degrees"),
    )

    def __init__(self, variant: str | None = None):
        self.variant = variant

    def hyper(self, preset, overrides=None):
        """The preset with ``overrides``, checked now (before any data is read); keeps the noise range
        for :meth:`degrade`, which the loop calls before :meth:`build`."""
        hp = super().hyper(preset, overrides)
        self._check(hp)
        self._noise = (float(hp.extra["noise_min"]), float(hp.extra["noise_max"]))
        return hp

    # -- data -------------------------------------------------------------------------------------
    def degrade(self, hr: np.ndarray, scale: int, rng: np.random.Generator) -> np.ndarray:
        """MATLAB bicubic / scale, then N(0, sigma^2) noise with sigma ~ U[noise_min, noise_max] (8-bit),
        rounded and clipped to uint8 (the range of the run's preset: :meth:`hyper`)."""
        from srbench.imresize import imresize

        lo, hi = getattr(self, "_noise", (_EXTRA["noise_min"], _EXTRA["noise_max"]))
        lr = imresize(hr, 1.0 / scale).astype(np.float64)
        sigma = float(rng.uniform(lo, hi)) if hi > lo else float(lo)
        noisy = lr + rng.standard_normal(lr.shape) * sigma
        return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)

    # -- model ------------------------------------------------------------------------------------
    def _check(self, hp: Hyper) -> None:
        if hp.patch != SCALE * LR_PATCH:
            raise SrbenchError(
                f"dsrvae: patch must be {SCALE * LR_PATCH} (128 px LR: the DAE's noise decoder always makes a "
                f"128x128 map), not {hp.patch}; make the SR stage cheaper with --set sr_crop=N instead"
            )
        c = int(hp.extra["sr_crop"])
        if c % 16 or not 16 <= c <= LR_PATCH:
            raise SrbenchError(f"dsrvae: sr_crop must be a multiple of 16 in [16, {LR_PATCH}] (VGG conv5_4 is /16), not {c}")
        lo, hi = float(hp.extra["noise_min"]), float(hp.extra["noise_max"])
        if not 0 <= lo <= hi:
            raise SrbenchError(f"dsrvae: need 0 <= noise_min <= noise_max, got {lo}, {hi}")

    def build(self, scale, hp):
        import torch
        from torch import nn

        from srbench.training.perceptual import vgg19_features

        from .network import Denoiser, SRNet

        if scale != SCALE:
            raise SrbenchError(f"dsrvae trains x{SCALE} only (the SRSN's bicubic up-sampling is fixed), not x{scale}")
        self._check(hp)
        vgg = vgg19_features("pool5")  # first: without the ImageNet VGG19 weights this refuses, saying where to get them

        class DAEPass(nn.Module):
            """The DAE's training pass (encoder on VGG19(T), reparameterisation, decoder on X) in forward()."""

            def __init__(self):
                super().__init__()
                self.net = Denoiser()

            def forward(self, t_feat, x, eps):
                h = self.net.VAE_encoder(t_feat.flatten(1))
                mu, logvar = self.net.q_z_mu(h), self.net.q_z_logvar(h)
                z = mu + eps * torch.exp(0.5 * logvar)
                return self.net(x, z), mu, logvar

        class SRPass(nn.Module):
            """Y = f(x), s(Y) and the back-projected f(s(Y)) of Eq. 8 in one forward()."""

            def __init__(self):
                super().__init__()
                self.net = SRNet()

            def forward(self, x, cycle: bool):
                y = self.net(x)
                if not cycle:
                    return y, None, None
                sy = bicubic_down(y.float(), SCALE).to(y.dtype)
                return y, sy, self.net(sy)

        return {"dae": DAEPass(), "sr": SRPass(), "disc": make_discriminator(), "vgg": vgg}

    def optimizers(self, nets, hp):
        betas = (float(hp.extra["beta1"]), 0.999)
        return {k: adam(nets[k].parameters(), hp.lr, betas, float(hp.extra["weight_decay"])) for k in ("dae", "sr", "disc")}

    def lr_factor(self, stage, done):
        return 0.1 if done >= 0.5 else 1.0

    # -- steps ------------------------------------------------------------------------------------
    def train_step(self, stage, batch, nets, ctx, hp):
        if stage == "dae":
            return self._dae_step(batch, nets, ctx, hp)
        return self._sr_step(batch, nets, ctx, hp)

    def _dae_step(self, batch, nets, ctx, hp):
        import torch
        import torch.nn.functional as F

        x = batch.lr
        t = bicubic_down(batch.hr, SCALE)  # the noise-free LR (MATLAB bicubic, float)
        with torch.no_grad(), ctx.autocast():
            t_feat = vgg_layer(nets["vgg"], t, 36).float()  # pool5: N x 512 x 4 x 4
        eps = torch.randn(x.shape[0], unwrap(nets["dae"]).net.q_z_mu.out_features, device=x.device)
        with ctx.autocast():
            den, mu, logvar = nets["dae"](t_feat, x, eps)
        den, mu, logvar = den.float(), mu.float(), logvar.float()
        l1 = F.l1_loss(den, t)
        kl = (0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)).sum(1).mean()
        loss = l1 + float(hp.extra["kl"]) * kl
        return {"loss": ctx.backward(loss, "dae"), "l1": float(l1.detach()), "kl": float(kl.detach())}

    def _sr_step(self, batch, nets, ctx, hp):
        import torch
        import torch.nn.functional as F

        from .network import Z_DIM

        x, hr = batch.lr, batch.hr
        n = x.shape[0]
        with torch.no_grad(), ctx.autocast():
            g = unwrap(nets["dae"]).net(x, torch.randn(n, Z_DIM, device=x.device)).float()  # g(X), z ~ N(0, I)
        c = int(hp.extra["sr_crop"])
        if c < g.shape[-1]:
            top, left = (int(v) for v in torch.randint(0, g.shape[-1] - c + 1, (2,)))
            g = g[:, :, top : top + c, left : left + c]
            hr = hr[:, :, SCALE * top : SCALE * (top + c), SCALE * left : SCALE * (left + c)]
        supervised = bool(int(hp.extra["supervised"]))
        w_vgg, w_adv = float(hp.extra["vgg"]), float(hp.extra["adv"])
        with ctx.autocast():
            y, sy, y_back = nets["sr"](g, not supervised)
        y = y.float()
        if supervised:
            mae = F.l1_loss(y, hr)
        else:
            mae = F.l1_loss(sy.float(), g) + F.l1_loss(y, y_back.float())
        out = {"mae": float(mae.detach())}
        loss = mae
        if w_vgg:
            with ctx.autocast():
                fy = vgg_layer(nets["vgg"], y, 34).float()  # conv5_4
                with torch.no_grad():
                    fg = vgg_layer(nets["vgg"], g, 34).float()
            vgg = F.l1_loss(bicubic_down(fy, SCALE), fg)
            loss = loss + w_vgg * vgg
            out["vgg"] = float(vgg.detach())
        if w_adv:
            adv = generator_adversarial(ctx, nets["disc"], y)
            loss = loss + w_adv * adv
            out["adv"] = float(adv.detach())
        out["loss"] = ctx.backward(loss, "sr")
        if w_adv:
            out["d_loss"] = discriminator_step(ctx, nets["disc"], hr, y, "disc")
        return out

    # -- validation / export ----------------------------------------------------------------------
    def super_resolve(self, nets, lr):
        """The adapter's test path (128 px patches, overlap 8, z ~ N(0, I) from a CPU generator seeded
        with DEFAULT_SEED, linear-ramp blending) on each image of the batch."""
        import torch

        from srbench.conventions import DEFAULT_SEED

        from .model import OVERLAP, draw_latents, pad_to_patch, patchify, recompose

        den, sr = unwrap(nets["dae"]).net, unwrap(nets["sr"]).net
        outs = []
        for i in range(lr.shape[0]):
            x = lr[i : i + 1]
            h, w = x.shape[-2:]
            xp = pad_to_patch(x)
            patches = patchify(xp)
            gen = torch.Generator().manual_seed(DEFAULT_SEED)
            ys = [sr(den(p, z.to(x.device))) for p, z in zip(patches, draw_latents(len(patches), gen))]
            outs.append(recompose(ys, SCALE * xp.shape[-2], SCALE * xp.shape[-1], SCALE * OVERLAP)[:, :, : SCALE * h, : SCALE * w])
        return torch.cat(outs)

    def export(self, nets, scale, out, training):
        return [
            save_released_layout(unwrap(nets["dae"]).net, Path(out) / "VAE_denoiser.pth", _config("dsrvae.denoiser", training)),
            save_released_layout(unwrap(nets["sr"]).net, Path(out) / "VAE_SR.pth", _config("dsrvae.sr", training)),
        ]


def _config(arch: str, training) -> dict:
    return {"arch": arch, "method": "dsrvae", "scale": SCALE, "training": dict(training)}


def make_discriminator(nf: int = 64):
    """srbench's dSRVAE discriminator (the paper describes none): 3x3 / 4x4-stride-2 conv pairs (64, 128,
    256, 512 channels, LeakyReLU 0.2, no normalisation), a 4x4 adaptive average pool and Linear
    8192 -> 100 -> 1 (one logit per image). Any input side >= 16."""
    from torch import nn

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            layers, cin = [], 3
            for c in (nf, 2 * nf, 4 * nf, 8 * nf):
                layers += [nn.Conv2d(cin, c, 3, 1, 1), nn.LeakyReLU(0.2), nn.Conv2d(c, c, 4, 2, 1), nn.LeakyReLU(0.2)]
                cin = c
            self.features = nn.Sequential(*layers)
            self.pool = nn.AdaptiveAvgPool2d(4)
            self.head = nn.Sequential(nn.Linear(8 * nf * 16, 100), nn.LeakyReLU(0.2), nn.Linear(100, 1))

        def forward(self, x):
            return self.head(self.pool(self.features(x)).flatten(1)).view(-1)

    return Discriminator()
