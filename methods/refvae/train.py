"""Training recipe of RefVAE (``srbench train refvae --scale 8``): Liu, Siu, Wang, CVPRW 2021 (papers/refvae.md).

One stage (Sec. 3.4, 4.1). Per step, for HR crops Y and their MATLAB-bicubic LR X:

* a reference R per crop: another crop of the batch (the paper draws WikiArt paintings, which srbench does
  not have; the authors' dataset code draws another random training image), resized to ``ref_size``
  (256: the size the paper and the adapter feed the encoder); ``--set ref=hr`` uses Y itself, as the
  authors' main_GAN.py does;
* the fixed VGG relu4_1 encoder (``vgg_r41.pth``, the file the adapter loads) encodes R and the bicubic
  up-sampled X; the CVAE encodes R into N(mu, sigma^2); z = mu + eps * sigma; the SR is decoded;
* the loss of Eq. 9 plus the adversarial term (Eq. 5; Table 3's "Discri."):
  ``content`` * (|relu4_1(Y) - relu4_1(SR)| + |Y - SR| + |Down(Y) - Down(SR)|)   (Eq. 6)
  + ``style`` * sum_i |mean(V_R^i) - mean(V_SR^i)| + |std(V_R^i) - std(V_SR^i)|  (Eq. 7, relu1_2,
  relu2_2, relu3_4, relu4_1 of torchvision's ImageNet VGG19) + ``lpips`` * LPIPS(SR, Y) (AlexNet v0.1)
  + ``tv`` * TV(SR) (Eq. 8, beta = 1) + ``kl`` * KL(N(mu, sigma^2) || N(0, I)) (Eq. 4)
  + ``adv`` * BCE(D(SR), real), with a PatchGAN discriminator D trained on Y vs SR.

Every term is a mean over its elements (the paper gives the weights, not the normalisation); the paper's
values and srbench's choices are in :attr:`RefVAERecipe.paper_vs_srbench` (``srbench list --verbose``).

Needs three frozen networks: ``vgg_r41.pth`` (``$SRBENCH_VGG_R41``, else the srbench weights cache, where
``srbench weights import refvae vgg_r41.pth`` puts it - refused without it, never random), torchvision's
ImageNet VGG19 (:mod:`srbench.training.perceptual`) and the LPIPS AlexNet (srbench's lpips metric
weights; not needed with ``--set lpips=0``).

Output: ``ConVAE_<s>x.pth`` - the released name and format (a plain state dict, read back with
``torch.load(weights_only=True)``) - with ``ConVAE_<s>x.pth.srbench-trained`` (JSON: arch, training
provenance, the encoder's sha256; it makes run manifests record provenance ``trained``), and a copy of the
``vgg_r41.pth`` it was trained with, so ``srbench run --weights refvae=<out>`` finds every file.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from srbench.checkpoint_format import save_released_layout
from srbench.errors import SrbenchError, WeightsError
from srbench.method_api import PaperValue
from srbench.training.losses import discriminator_step, generator_adversarial
from srbench.training.recipe import PAIRED, Hyper, Recipe, Stage, adam, unwrap

PAPER = "Liu, Siu, Wang, Variational AutoEncoder for Reference based Image Super-Resolution, CVPRW 2021 (papers/refvae.md)"
ENV = "SRBENCH_VGG_R41"
#: torchvision vgg19().features indices of the style layers (Eq. 7) and of the content layer (Eq. 6)
STYLE_LAYERS = {"relu1_2": 3, "relu2_2": 8, "relu3_4": 17, "relu4_1": 20}
CONTENT_LAYER = 20

_EXTRA = {
    "content": 1.0,  # lambda_content (Sec. 4.1)
    "style": 10.0,  # lambda_style
    "lpips": 1.0,  # lambda_LPIPS
    "tv": 1.0,  # lambda_TV
    "kl": 1.0,  # lambda_KL
    "adv": 1e-3,  # the adversarial loss (Eq. 5; its weight is not stated)
    "weight_decay": 1e-4,
    "beta1": 0.9,
    "ref": "other",  # other: another crop of the batch; hr: the crop itself (authors' main_GAN.py)
    "ref_size": 256,  # the reference is resized to ref_size x ref_size before the encoder
}
REF_MODES = ("other", "hr")


def encoder_path() -> Path:
    """The user's ``vgg_r41.pth``: ``$SRBENCH_VGG_R41``, else the srbench weights cache (or a mirror's)."""
    from srbench import paths
    from srbench.weights import cache_dir

    env = os.environ.get(ENV)
    if env:
        p = Path(env).expanduser()
        if not p.is_file():
            raise WeightsError(f"{ENV}={env}: not a file")
        return p
    cands = [cache_dir("refvae") / "vgg_r41.pth"] + [m / "weights" / "refvae" / "vgg_r41.pth" for m in paths.mirrors()]
    for p in cands:
        if p.is_file():
            return p
    from . import WEIGHTS

    url = WEIGHTS[-1].urls[0]
    raise WeightsError(
        "refvae training needs its fixed VGG relu4_1 encoder vgg_r41.pth (the encoder4 of LinearStyleTransfer, "
        f"shipped in the RefVAE release: {url}, or github.com/sunshineatnoon/LinearStyleTransfer models/); it "
        f"is not in {cands[0].parent}. Import it with `srbench weights import refvae /path/to/vgg_r41.pth` or set "
        f"{ENV}=/path/to/vgg_r41.pth (srbench never trains against a random encoder)"
    )




def _mean_std(f, eps: float = 1e-5):
    n, c = f.shape[:2]
    flat = f.reshape(n, c, -1)
    return flat.mean(2), (flat.var(2) + eps).sqrt()


def make_discriminator(nf: int = 64):
    """PatchGAN (pix2pix's 70x70 N-layer discriminator, n = 3): 4x4 convs, stride 2, 2, 2, 1, 1
    (64, 128, 256, 512, 1 channels), instance norm after all but the first and last, LeakyReLU 0.2;
    one logit per patch. Inputs >= 32 px."""
    from torch import nn

    layers = [nn.Conv2d(3, nf, 4, 2, 1), nn.LeakyReLU(0.2)]
    cin = nf
    for c, stride in ((2 * nf, 2), (4 * nf, 2), (8 * nf, 1)):
        layers += [nn.Conv2d(cin, c, 4, stride, 1), nn.InstanceNorm2d(c), nn.LeakyReLU(0.2)]
        cin = c
    layers.append(nn.Conv2d(cin, 1, 4, 1, 1))
    return nn.Sequential(*layers)


class RefVAERecipe(Recipe):
    """RefVAE: content + style + LPIPS + TV + KL (Eq. 9) + adversarial; Adam 1e-4, batch 16, 5e4 steps."""

    method = "refvae"
    scales = (4, 8)
    data = PAIRED
    paper = PAPER + ", Sec. 3.4, 4.1"
    stages = (Stage("refvae", 1.0, ("net", "disc"),
                    "content + 10 style + LPIPS + TV + KL (Eq. 9) + adv * GAN; PatchGAN discriminator"),)
    presets = {
        "paper": Hyper(steps=50_000, batch=16, patch=256, lr=1e-4, extra=dict(_EXTRA)),
        "short": Hyper(steps=5_000, batch=8, patch=256, lr=1e-4, extra=dict(_EXTRA)),
    }
    paper_vs_srbench = (
        PaperValue("scale", "x8 (Sec. 4.1, alpha = 8)", "x8 and x4 (--scale 4 or 8)",
                   "the release has a x4 model too; the paper gives no x4 recipe: the same values"),
        PaperValue("length, batch", "5e4 iterations, batch 16 (Sec. 4.1)", "50,000 steps, batch 16 (short: 5,000, 8)", ""),
        PaperValue("patch", "32x32 LR, 32a x 32a HR = 256 px at x8 (Sec. 4.1)", "256 px HR crops (x8: 32 LR, x4: 64 LR)",
                   "x4: the authors' main_GAN.py default (64 px LR patches)"),
        PaperValue("optimiser", "Adam, momentum 0.9, weight decay 1e-4, lr 1e-4 for all layers (Sec. 4.1)",
                   "Adam(lr 1e-4, betas (0.9, 0.999), weight_decay 1e-4) for the network and the discriminator",
                   "beta2 not stated: torch's default"),
        PaperValue("learning-rate schedule", "not stated", "x0.1 after half of the steps",
                   "the authors' main_GAN.py divides by 10 at half of its epochs"),
        PaperValue("training data", "DIV2K + Flickr2K, bicubic LR (Sec. 4.1)", "--data HR crops, MATLAB-bicubic LR",
                   "srbench's bicubic; give --data div2k_train,flickr2k for the paper's set"),
        PaperValue("references in training", "WikiArt paintings (Sec. 4.1)",
                   "ref=other: the next crop of the batch (the crop itself when the batch per process is 1); "
                   "ref=hr: the crop itself", "WikiArt is not available to srbench; the authors' dataset draws "
                   "another random training image, their main_GAN.py encodes the HR target"),
        PaperValue("reference size", "resized to 256x256 (Sec. 3.1)", "ref_size 256, bilinear (antialiased)",
                   "a no-op for 256 px crops"),
        PaperValue("VGG encoder", "pre-trained VGG-19 (Sec. 3.1)", "the user's vgg_r41.pth (Encoder4), frozen",
                   "the file the adapter loads and the authors' scripts use"),
        PaperValue("content loss (Eq. 6)", "|W_Y - W_SR| (VGG-19 relu4_1) + |Y - SR| + |Down(Y) - Down(SR)|, Down = bicubic / a",
                   "means of the three L1 terms; torchvision's ImageNet VGG19 relu4_1; Down = antialiased bicubic / s",
                   "the authors' main_GAN.py sums its L1 terms (size_average=False) and uses /2, /4 pyramids"),
        PaperValue("style loss (Eq. 7)", "sum_i |mean(V^i) - mean(V_SR^i)| + |var(V^i) - var(V_SR^i)| at relu1_2, "
                   "relu2_2, relu3_4, relu4_1; V of the reference R (text), Y (formula)",
                   "per-channel spatial mean and standard deviation, L1 (means), of R vs SR at those layers",
                   "the text names R and 'mean and std' (SANet's loss, ref. [32]); the authors' code: mean/std of "
                   "relu1_1-4_1 vs the HR"),
        PaperValue("LPIPS loss", "L_LPIPS(SR, Y) (Sec. 3.4)", "lpips v0.1 AlexNet (srbench's lpips metric weights), mean",
                   "the net is not stated: the lpips package's default, as in the authors' script"),
        PaperValue("TV loss (Eq. 8)", "sum ((dx)^2 + (dy)^2)^beta, beta not stated", "mean (dx)^2 + mean (dy)^2 (beta = 1)", ""),
        PaperValue("KL loss (Eq. 4)", "0.5 (sum sigma^2 + mu^2 - log sigma^2 - 1)", "0.5 mean(sigma^2 + mu^2 - log sigma^2 - 1) "
                   "over the 256 latent dims and the batch", "a mean like the other terms"),
        PaperValue("loss weights", "content 1, style 10, LPIPS 1, TV 1, KL 1 (Sec. 4.1)", "the same (--set content=...)",
                   "relative to srbench's per-element means"),
        PaperValue("adversarial loss", "log(1 - D(SR)) (Eq. 5); PatchGAN [38]; weight not stated (not in Eq. 9)",
                   "adv * BCE(D(SR), real) (non-saturating), adv = 1e-3; D: BCE on HR vs SR, averaged",
                   "srbench's weight (SRGAN's 1e-3); D = pix2pix's 3-layer PatchGAN with instance norm"),
        PaperValue("latent in training", "z = mu + eps * sigma (Sec. 3.2)", "the same, eps ~ N(0, I)", ""),
        PaperValue("initialisation", "not stated", "PyTorch's defaults",
                   "as the authors' model.py (VAE_v3_4x / VAE_v3_8x set no initialisation)"),
        PaperValue("augmentation", "not stated", "random flips / 90-degree rotations of the HR crop (srbench's loop)",
                   "the authors' dataset flips and rotates"),
    )

    def __init__(self, variant: str | None = None):
        self.variant = variant
        self.encoder_file: Path | None = None

    def hyper(self, preset, overrides=None):
        hp = super().hyper(preset, overrides)
        if hp.extra["ref"] not in REF_MODES:
            raise SrbenchError(f"refvae: ref must be one of {', '.join(REF_MODES)}, not {hp.extra['ref']!r}")
        if int(hp.extra["ref_size"]) < 32 or hp.patch < 32:
            raise SrbenchError("refvae: patch and ref_size must be >= 32 (the PatchGAN and the encoder's 8x grid)")
        return hp

    # -- model ------------------------------------------------------------------------------------
    def build(self, scale, hp):
        import copy

        import torch
        from torch import nn

        from srbench.training.perceptual import vgg19_features

        from .model import load_encoder
        from .network import RefVAENet

        if hp.patch % 8:
            raise SrbenchError(f"refvae: patch {hp.patch} must be a multiple of 8 (the encoder's 8x grid)")
        self.encoder_file = encoder_path()
        enc = load_encoder(self.encoder_file).eval().requires_grad_(False)
        vgg = vgg19_features("relu4_1")

        class RefPass(nn.Module):
            """The CVAE pass with its (mu, logvar) in forward() (DDP sees one call)."""

            def __init__(self):
                super().__init__()
                self.net = RefVAENet(scale)

            def forward(self, lr, lr_feat, ref_feat, eps):
                mu, logvar = self.net.encode(ref_feat)
                z = mu + eps * torch.exp(0.5 * logvar)
                return self.net.decode(lr, lr_feat, z), mu, logvar

        nets = {"net": RefPass(), "disc": make_discriminator(), "enc": enc, "vgg": vgg}
        if float(hp.extra["lpips"]):
            from srbench.metrics.lpips_backend import get_lpips_model

            with torch.random.fork_rng(devices=[]):  # the backend builds (and caches) it once: keep the RNG stream
                lp = get_lpips_model("alex", "cpu")
            nets["lpips"] = copy.deepcopy(lp).eval().requires_grad_(False)  # a copy: the loop moves it to the device
        self.scale = scale
        return nets

    def optimizers(self, nets, hp):
        betas = (float(hp.extra["beta1"]), 0.999)
        return {k: adam(nets[k].parameters(), hp.lr, betas, float(hp.extra["weight_decay"])) for k in ("net", "disc")}

    def lr_factor(self, stage, done):
        return 0.1 if done >= 0.5 else 1.0

    # -- step -------------------------------------------------------------------------------------
    def _reference(self, hr, hp):
        import torch.nn.functional as F

        ref = hr.roll(1, 0) if hp.extra["ref"] == "other" else hr
        size = int(hp.extra["ref_size"])
        if ref.shape[-2:] != (size, size):
            ref = F.interpolate(ref, size=(size, size), mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
        return ref

    @staticmethod
    def _vgg(vgg, x, layers):
        """{index: activation} of torchvision's VGG19 features at ``layers`` (ImageNet-normalised x)."""
        h = (x - vgg.mean) / vgg.std
        out = {}
        for i, layer in enumerate(vgg.features):
            h = layer(h)
            if i in layers:
                out[i] = h
            if i >= max(layers):
                break
        return out

    def train_step(self, stage, batch, nets, ctx, hp):
        import torch
        import torch.nn.functional as F

        from .network import Z_DIM

        hr, lr = batch.hr, batch.lr
        n, s = hr.shape[0], self.scale
        w = {k: float(hp.extra[k]) for k in ("content", "style", "lpips", "tv", "kl", "adv")}
        ref = self._reference(hr, hp)
        up = F.interpolate(lr, scale_factor=s, mode="bicubic", align_corners=False)
        with torch.no_grad(), ctx.autocast():
            lr_feat, ref_feat = nets["enc"](up), nets["enc"](ref)
        eps = torch.randn(n, Z_DIM, device=hr.device)
        with ctx.autocast():
            sr, mu, logvar = nets["net"](lr, lr_feat, ref_feat, eps)
        sr, mu, logvar = sr.float(), mu.float(), logvar.float()
        style_idx = set(STYLE_LAYERS.values())
        with ctx.autocast():
            f_sr = {k: v.float() for k, v in self._vgg(nets["vgg"], sr, style_idx | {CONTENT_LAYER}).items()}
            with torch.no_grad():
                f_hr = self._vgg(nets["vgg"], hr, {CONTENT_LAYER})[CONTENT_LAYER].float()
                f_ref = {k: v.float() for k, v in self._vgg(nets["vgg"], ref, style_idx).items()}

        def down(x):  # Down of Eq. 6: bicubic / s (antialiased, = MATLAB's kernel away from the borders)
            return F.interpolate(x, scale_factor=1.0 / s, mode="bicubic", align_corners=False, antialias=True)

        content = F.l1_loss(f_sr[CONTENT_LAYER], f_hr) + F.l1_loss(sr, hr) + F.l1_loss(down(sr), down(hr))
        style = sr.new_zeros(())
        for i in sorted(style_idx):
            (m_s, s_s), (m_r, s_r) = _mean_std(f_sr[i]), _mean_std(f_ref[i])
            style = style + F.l1_loss(m_s, m_r) + F.l1_loss(s_s, s_r)
        tv = (sr[..., :, 1:] - sr[..., :, :-1]).pow(2).mean() + (sr[..., 1:, :] - sr[..., :-1, :]).pow(2).mean()
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).mean()
        loss = w["content"] * content + w["style"] * style + w["tv"] * tv + w["kl"] * kl
        out = {"content": float(content.detach()), "style": float(style.detach()), "tv": float(tv.detach()),
               "kl": float(kl.detach())}
        if w["lpips"]:
            with ctx.autocast():
                lp = nets["lpips"](2 * sr - 1, 2 * hr - 1).float().mean()
            loss = loss + w["lpips"] * lp
            out["lpips"] = float(lp.detach())
        if w["adv"]:
            adv = generator_adversarial(ctx, nets["disc"], sr)
            loss = loss + w["adv"] * adv
            out["adv"] = float(adv.detach())
        out["loss"] = ctx.backward(loss, "net")
        if w["adv"]:
            out["d_loss"] = discriminator_step(ctx, nets["disc"], hr, sr, "disc")
        return out

    # -- validation / export ----------------------------------------------------------------------
    def super_resolve(self, nets, lr):
        """The adapter's default path (the LR itself as reference, PIL bicubic to 256x256) with z = mu."""
        import math

        import torch
        import torch.nn.functional as F

        from srbench.torch_utils import to_image

        from .model import _pad_multiple, _tensor, ref_from_lr
        from .network import Z_DIM

        net, enc, s = unwrap(nets["net"]).net, nets["enc"], self.scale
        m = 8 // math.gcd(s, 8)
        outs = []
        for i in range(lr.shape[0]):
            x = lr[i : i + 1]
            h, w = x.shape[-2:]
            ref = _tensor(ref_from_lr(to_image(x, "half_away")), x.device)
            xp = _pad_multiple(x, m)
            up = F.interpolate(xp, scale_factor=s, mode="bicubic", align_corners=False)
            sr = net(xp, enc(up), enc(ref), torch.zeros(1, Z_DIM, device=x.device))
            outs.append(sr[:, :, : s * h, : s * w])
        return torch.cat(outs)

    def export(self, nets, scale, out, training):
        from srbench.hashing import sha256_file

        from .model import CHECKPOINTS, ENCODER

        out = Path(out)
        enc_src = self.encoder_file or encoder_path()
        cfg = {"arch": f"refvae.x{scale}", "method": "refvae", "scale": scale, "training": dict(training),
               "encoder": {"file": ENCODER, "sha256": sha256_file(enc_src)}}
        files = [save_released_layout(unwrap(nets["net"]).net, out / CHECKPOINTS[scale], cfg)]
        enc_dst = out / ENCODER
        if not (enc_dst.exists() and enc_dst.resolve() == Path(enc_src).resolve()):
            shutil.copyfile(enc_src, enc_dst)
        files.append(enc_dst)
        return files
