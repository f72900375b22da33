"""Training recipes of CycleSR / CycleSRGAN (``srbench train cyclesr[:vdsr|:srresnet]``, ``cyclesrgan``).

From the paper (Chen et al., CVPRW 2020, papers/cyclesr.md: Sec. 3.2-3.4 for the objective, Sec. 4.1 for
the schedule). Where the paper leaves a translation value open it says the CycleGAN hyper-parameters
"remain unchanged as they originally are" (Sec. 4.1), so CycleGAN's published defaults are used (Zhu et
al. 2017: LSGAN, lambda_cyc 10, identity 0.5, a 50-image history pool, 70x70 PatchGAN, N(0, 0.02) init);
CycleSRGAN's open values follow ESRGAN, which the paper names for its adversarial loss (Sec. 3.3); what
is left (batch, crop, epoch size, gradient clipping) follows the authors' reference configuration in
Huawei Vega (``examples/data_augmentation/cyclesr/cyclesr.yml``). Every value: ``paper_vs_srbench``.

Unpaired data: ``batch.hr`` are HR crops, ``batch.lr`` crops of real LR images. Networks: ``trans`` (G1:
synthetic LR -> real LR, G2: back), ``d_trans`` (D1 on the real-LR domain, D2 on the synthetic one, with
their history pools as buffers so that a resumed run is exact), ``sr`` (VDSR / SRResNet), and for
CycleSRGAN ``d_sr`` (the HR discriminator) and ``vgg`` (frozen VGG19 features). Stages:

1. ``g1``: CycleGAN between bicubic(HR) and real LR (translation pre-training, Sec. 4.1);
2. ``sr_pre``: the SR network on (bicubic(HR), HR) pairs (SR pre-training, Sec. 4.1);
3. ``joint``: collaborative training (Sec. 3.4), alternating every step: the translation module on
   L'_Trans = L_Trans + lambda_SRtrans * MSE(SR(G1(bicubic(HR))), HR) with the SR weights held, the
   discriminators D1/D2, then the SR network on L_SR(G1(bicubic(HR)) held constant, HR) (and D_h).

Exported: the SR network (``<method>_<variant>_x<s>.srbench.safetensors``, the adapter's file) and G1
(``cyclesr_g1_x<s>.srbench.safetensors``, the ``cyclesr-g1`` degradation's file).
"""

from __future__ import annotations

from pathlib import Path

from srbench.errors import SrbenchError
from srbench.method_api import PaperValue
from srbench.training.losses import bce, lsgan
from srbench.training.recipe import UNPAIRED, Hyper, Recipe, Stage, unwrap
from srbench.training.resize import bicubic_uint8

from . import PAPER, SCALES

#: one epoch of the paper's data in steps: Vega trains on DIV2K_HR_sub480 sub-images of HR 0001-0400
#: (about 16,300 with the usual 480-px / 240-px-step extraction) at batch 64
EPOCH_STEPS = 255
#: epochs: translation pre-training, SR pre-training (Vega: epochs 1-5 and 6), joint 100 + 100 (Sec. 4.1)
PRE_G1_EPOCHS, PRE_SR_EPOCHS, JOINT_EPOCHS = 5, 1, 200
#: lambda_SRtrans = lambda_mse per track (Sec. 4.1): vdsr = NTIRE17 track 2, srresnet = NTIRE18 tracks 2 / 4
LAMBDA_SR = {"vdsr": 1e3, "srresnet": 1e2}
SOURCE = PAPER + " (papers/cyclesr.md, Sec. 3.2-3.4, 4.1)"


# -- networks that exist only for training --------------------------------------------------------

def _cyclegan_init(module) -> None:
    """CycleGAN's default initialisation: conv weights N(0, 0.02), biases 0."""
    from torch import nn

    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def _modules():
    """The training-only modules (defined here so that importing this file does not import torch)."""
    import torch
    from torch import nn

    class PatchDiscriminator(nn.Module):
        """CycleGAN's PatchGAN: C64 (no norm), C128, C256 (stride 2), C512 (stride 1), 1-channel map; 4x4
        convs, LeakyReLU 0.2, InstanceNorm without affine parameters. ``n_layers`` 3 = the 70x70 PatchGAN."""

        def __init__(self, ndf: int = 64, n_layers: int = 3):
            super().__init__()
            layers: list[nn.Module] = [nn.Conv2d(3, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
            ch = ndf
            for n in range(1, n_layers):
                nxt = ndf * min(2**n, 8)
                layers += [nn.Conv2d(ch, nxt, 4, 2, 1), nn.InstanceNorm2d(nxt), nn.LeakyReLU(0.2, True)]
                ch = nxt
            nxt = ndf * min(2**n_layers, 8)
            layers += [nn.Conv2d(ch, nxt, 4, 1, 1), nn.InstanceNorm2d(nxt), nn.LeakyReLU(0.2, True)]
            layers += [nn.Conv2d(nxt, 1, 4, 1, 1)]
            self.net = nn.Sequential(*layers)

        def forward(self, x):
            return self.net(x)

    class Translation(nn.Module):
        """G1 (synthetic LR -> real LR) and G2 (real LR -> synthetic LR): every generator pass of a step
        in one forward (one DDP call per backward)."""

        def __init__(self, g1, g2):
            super().__init__()
            self.g1, self.g2 = g1, g2

        def forward(self, x, y, identity: bool = True):
            fake_y = self.g1(x)  # \hat I^L_real
            fake_x = self.g2(y)
            out = {"fake_y": fake_y, "rec_x": self.g2(fake_y), "fake_x": fake_x, "rec_y": self.g1(fake_x)}
            if identity:
                out["idt_y"], out["idt_x"] = self.g1(y), self.g2(x)
            return out

    class TransDiscriminators(nn.Module):
        """D1 (real-LR domain, judges G1) and D2 (synthetic-LR domain, judges G2), with CycleGAN's history
        pools of earlier fakes kept as buffers (in the training state: resuming stays exact)."""

        def __init__(self, d1, d2, pool: int, lr_patch: int):
            super().__init__()
            self.d1, self.d2 = d1, d2
            self.pool_size = int(pool)
            for k in ("1", "2"):
                self.register_buffer(f"pool{k}", torch.zeros(self.pool_size, 3, lr_patch, lr_patch))
                self.register_buffer(f"count{k}", torch.zeros((), dtype=torch.long))

        def forward(self, real_y, fake_y, real_x, fake_x):
            return self.d1(real_y), self.d1(fake_y), self.d2(real_x), self.d2(fake_x)

        @torch.no_grad()
        def query(self, which: str, images):
            """CycleGAN's image pool: until it is full, store and return each fake; then return, with
            probability 1/2, a stored fake (replacing it by the new one), else the new one."""
            if self.pool_size == 0:
                return images
            pool, count = getattr(self, f"pool{which}"), getattr(self, f"count{which}")
            n, out = int(count), []
            for im in images.detach().float():
                if n < self.pool_size:
                    pool[n].copy_(im)
                    n += 1
                    out.append(im)
                elif float(torch.rand(())) < 0.5:  # the CPU generator: saved with the training state
                    j = int(torch.randint(self.pool_size, ()))
                    out.append(pool[j].clone())
                    pool[j].copy_(im)
                else:
                    out.append(im)
            count.fill_(n)
            return torch.stack(out)

    class HRDiscriminator(nn.Module):
        """ESRGAN's VGG-style discriminator (5 x [3x3 conv, 4x4 stride-2 conv], BatchNorm, LeakyReLU 0.2,
        nf..8nf channels, dense 100, dense 1), its last features average-pooled to 4x4 so that any crop of
        at least 32 px works (at ESRGAN's 128-px crops the pooling is the identity)."""

        def __init__(self, nf: int = 64):
            super().__init__()
            chans = [nf, nf * 2, nf * 4, nf * 8, nf * 8]
            layers: list[nn.Module] = []
            c_in = 3
            for i, c in enumerate(chans):
                layers += [nn.Conv2d(c_in, c, 3, 1, 1, bias=i == 0)] + ([nn.BatchNorm2d(c)] if i else [])
                layers += [nn.LeakyReLU(0.2, True), nn.Conv2d(c, c, 4, 2, 1, bias=False), nn.BatchNorm2d(c),
                           nn.LeakyReLU(0.2, True)]
                c_in = c
            self.features = nn.Sequential(*layers)
            self.pool = nn.AdaptiveAvgPool2d(4)
            self.classifier = nn.Sequential(nn.Linear(chans[-1] * 16, 100), nn.LeakyReLU(0.2, True), nn.Linear(100, 1))

        def forward(self, x):
            return self.classifier(self.pool(self.features(x)).flatten(1))

    class Pair(nn.Module):
        """``net(a), net(b)`` in one forward (one DDP call per backward; BatchNorm sees each batch apart)."""

        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, a, b):
            return self.net(a), self.net(b)

    return PatchDiscriminator, Translation, TransDiscriminators, HRDiscriminator, Pair



def _held(module, *args):
    """``module(*args)`` with its parameters held (detached): gradients reach the inputs only. Used
    where the paper updates one module from a loss through another (L'_Trans through the SR network,
    generator losses through discriminators). Buffers (BatchNorm statistics) update as in any train-mode
    forward."""
    from torch.func import functional_call

    raw = unwrap(module)
    return functional_call(raw, {k: p.detach() for k, p in raw.named_parameters()}, args)


# -- the recipes ----------------------------------------------------------------------------------

class CycleSRRecipe(Recipe):
    """CycleSR: CycleGAN translation (G1, G2, D1, D2) + an MSE-trained SR network, trained collaboratively."""

    method = "cyclesr"
    scales = SCALES
    data = UNPAIRED
    paper = SOURCE
    gan = False

    def __init__(self, variant: str | None = None):
        self.variant = variant or "vdsr"
        if self.variant not in LAMBDA_SR:
            raise SrbenchError(f"{self.method}: unknown variant {self.variant!r} ({', '.join(LAMBDA_SR)})")
        self.stages = self._stages()
        self.presets = self._presets()
        self.paper_vs_srbench = self._paper_table()

    # -- description ------------------------------------------------------------------------------
    def _stages(self) -> tuple[Stage, ...]:
        sr = ("sr", "d_sr") if self.gan else ("sr",)
        return (
            Stage("g1", PRE_G1_EPOCHS, ("trans", "d_trans"), "CycleGAN pre-training of G1/G2, D1/D2 on bicubic(HR) vs real LR"),
            Stage("sr_pre", PRE_SR_EPOCHS, ("sr",), "SR pre-training on (bicubic(HR), HR), pixel MSE"),
            Stage("joint", JOINT_EPOCHS, ("trans", "d_trans", *sr),
                  "collaborative: L'_Trans (translation), then L_SR on G1(bicubic(HR)) (SR)"),
        )

    def _extra(self) -> dict:
        lam = LAMBDA_SR[self.variant]
        nb = 20 if self.variant == "vdsr" else 16
        extra = {
            "lr_trans": 2e-4, "beta1": 0.9, "beta2": 0.999,
            "lambda_cyc": 10.0, "lambda_idt": 0.5, "pool": 50,
            "lambda_mse": lam, "lambda_sr_trans": lam, "grad_clip": 50.0,
            "ngf": 64, "g_blocks": 9, "ndf": 64, "d_layers": 3, "nf": 64, "nb": nb,
        }
        if self.gan:
            extra.update({"lambda_percep": 1.0, "lambda_adv": 5e-3, "percep_layer": "conv5_4", "ndf_sr": 64})
        return extra

    def _presets(self) -> dict[str, Hyper]:
        epochs = PRE_G1_EPOCHS + PRE_SR_EPOCHS + JOINT_EPOCHS
        return {
            "paper": Hyper(steps=epochs * EPOCH_STEPS, batch=64, patch=480, lr=1e-4, extra=self._extra()),
            "short": Hyper(steps=10_000, batch=16, patch=128, lr=1e-4, extra=self._extra()),
        }

    def _paper_table(self) -> tuple[PaperValue, ...]:
        lam = LAMBDA_SR[self.variant]
        track = "NTIRE17 T2" if self.variant == "vdsr" else "NTIRE18 T2 / T4"
        rows = [
            PaperValue("training data", "first 400 DIV2K train HR + last 400 real LR of the track, unpaired (Sec. 4.1)",
                       "--data HR, --lr-data real LR: independent random crops",
                       "the sets are the user's; the paper's split: --data div2k_train@1-400 --lr-data "
                       "div2k_train_unknown_x4@401-800 (NTIRE17 T2); Vega splits DIV2K at image 0401"),
            PaperValue("synthetic LR", "bicubic downsampling of the HR (Sec. 3.1)",
                       "MATLAB bicubic 1/s of each HR crop, uint8 per pass (= srbench imresize)",
                       "Vega: PIL bicubic; srbench: the benchmark's, as the cyclesr-g1 degradation's from_hr"),
            PaperValue("translation model", "CycleGAN, hyper-parameters unchanged (Sec. 3.2, 4.1)",
                       "G1, G2: the adapter's CycleGAN ResNet generator (ngf 64, 9 blocks); D1, D2: 70x70 PatchGAN "
                       "(ndf 64, 3 layers, InstanceNorm)", "CycleGAN's defaults; Vega: the same (ngf/ndf 64, n_layers_D 3)"),
            PaperValue("translation L_adv", "adversarial losses on both LR domains (Eq. 2); form not stated",
                       "least squares: G (D(G(x)) - 1)^2; D 0.5 [(D(real) - 1)^2 + D(fake)^2], fakes from a 50-image pool",
                       "CycleGAN's defaults (gan_mode lsgan, pool_size 50); Vega: the same"),
            PaperValue("lambda_cyc, L_cyc", "lambda_cyc L_cyc (Eq. 2); value not stated ('unchanged', Sec. 4.1)",
                       "10, L1 of G2(G1(x)) - x and G1(G2(y)) - y", "CycleGAN's default; Vega lambda_cycle 10"),
            PaperValue("L_other (identity)", "CycleGAN's identity loss (Sec. 3.2); weight not stated",
                       "0.5 x lambda_cyc = 5, L1 of G1(y) - y and G2(x) - x",
                       "CycleGAN's default lambda_identity 0.5 (relative to lambda_cyc); Vega: the same"),
            PaperValue("collaborative training", "alternate: L'_Trans = L_Trans + lambda_SRtrans L_mse(G_sr(G1(I_syn)), I^H) "
                       "updates the translation module only; L_SR with G1(I_syn) constant updates the SR module "
                       "(Sec. 3.4, Eq. 5)", "the same, every joint step: translation (SR weights held), D1/D2, then SR "
                       "on the detached G1 output" + (", then D_h" if self.gan else ""), ""),
            PaperValue("lambda_SRtrans = lambda_mse", "1e3 NTIRE17 T2, 1e2 NTIRE18 T2 / T4 (Sec. 4.1); equal (Sec. 3.4)",
                       f"{lam:g} for both ({self.variant} = the {track} setting)",
                       "Vega: SR_lam = cycleSR_lam = 1000; --set lambda_sr_trans=0 is Table 3's alternating ablation"),
            PaperValue("optimiser", "Adam, beta1 0.9, beta2 0.999 (Sec. 4.1)", "Adam (0.9, 0.999) for every network",
                       "CycleGAN and Vega use beta1 0.5; the paper's values are used"),
            PaperValue("learning rates", "2e-4 translation, 1e-4 SR (Sec. 4.1)",
                       "2e-4 G1+G2 and D1+D2, 1e-4 SR" + (" and D_h" if self.gan else ""),
                       "D_h: not stated, the SR rate (ESRGAN uses one rate for G and D)" if self.gan else ""),
            PaperValue("pre-training", "translation on unpaired real / synthetic LR, SR on HR + synthetic LR pairs, "
                       "'a few epochs' each (Sec. 4.1)",
                       f"stage g1: {PRE_G1_EPOCHS} epochs of L_Trans; stage sr_pre: {PRE_SR_EPOCHS} epoch of "
                       "lambda_mse MSE on (bicubic(HR), HR)",
                       "Vega: epochs 1-5 translation, epoch 6 SR" + ("; CycleSRGAN pre-trains with the pixel loss only "
                                                                    "(ESRGAN's PSNR-oriented start)" if self.gan else "")),
            PaperValue("schedule", "joint 100 epochs, then the SR rate decays linearly to 0 over 100 more (Sec. 4.1)",
                       "joint stage (200 epochs): constant for its first half, linear to 0 over the second, every optimiser",
                       "the translation rate's decay is not stated: CycleGAN's own schedule (100 + 100, linear) and "
                       "Vega decay it the same way"),
            PaperValue("batch, crops, epoch", "not stated",
                       f"batch 64, HR crop 480 (LR 120 at x4); 1 epoch = {EPOCH_STEPS} steps; "
                       f"{PRE_G1_EPOCHS + PRE_SR_EPOCHS + JOINT_EPOCHS} epochs = "
                       f"{(PRE_G1_EPOCHS + PRE_SR_EPOCHS + JOINT_EPOCHS) * EPOCH_STEPS:,} steps",
                       "Vega's cyclesr.yml: batch 64 of whole DIV2K_HR_sub480 / LR_sub120 sub-images; an epoch = the "
                       "~16,300 sub-images of HR 0001-0400 (480-px crops at a 240-px step, the usual extraction) / 64"),
            PaperValue("gradient clipping", "not stated", "norm 50 per network: G1, G2, D1, D2, SR" + (", D_h" if self.gan else "")
                       + " (--set grad_clip=0: none)",
                       "Vega: grad_clip 50"),
            PaperValue("initialisation", "not stated", "G1, G2, D1, D2: N(0, 0.02) weights, zero biases; SR"
                       + (", D_h" if self.gan else "") + ": torch's defaults", "CycleGAN's init_type normal, gain 0.02"),
            PaperValue("augmentation", "not stated", "random flips / 90-degree rotations of HR and LR crops",
                       "srbench's loop; Vega flips the HR"),
            PaperValue("validation", "NTIRE validation sets, real LR (Sec. 4.1)",
                       "PSNR-Y of the SR of MATLAB-bicubic LR of held-out HR images; with --val-data (e.g. "
                       "div2k_val_unknown_x4) on that set's real LR",
                       "srbench's loop default (a progress signal); --val-data gives the paper's measure"),
        ]
        if self.gan:
            rows += [
                PaperValue("L_SR (CycleSRGAN)", "lambda_mse L_mse + lambda_adv L_adv (relativistic, as ESRGAN) + "
                           "lambda_percep L_percep [Johnson et al.] (Eq. 3, Sec. 3.3); lambda_adv, lambda_percep not stated",
                           f"{lam:g} MSE + 1 x L1(VGG19 conv5_4 features) + 5e-3 x RaGAN generator loss",
                           "ESRGAN's perceptual loss (VGG19 conv5_4 before ReLU, L1) and its weights (perceptual 1, "
                           "adversarial 5e-3); lambda_mse from the paper"),
                PaperValue("L_adv (CycleSRGAN)", "relativistic GAN losses as ESRGAN (Sec. 3.3)",
                           "relativistic average: D 0.5 [BCE(C(hr) - E C(sr), 1) + BCE(C(sr) - E C(hr), 0)], G the "
                           "labels swapped", "ESRGAN's form"),
                PaperValue("D_h", "not stated", "ESRGAN's VGG-style discriminator (64..512 channels, BatchNorm), "
                           "average-pooled to 4x4 before its dense layers",
                           "ESRGAN's VGG128 takes only 128-px crops (the paper's are 480); identical at 128 px"),
                PaperValue("perceptual network, layer", "not stated", "torchvision's ImageNet VGG19 (vgg19-dcbb9e9d.pth), conv5_4 before its ReLU",
                           "ESRGAN's; srbench refuses to train without the file, never uses random VGG weights"),
            ]
        else:
            rows.append(PaperValue("L_SR (CycleSR)", "L_mse only (Sec. 4.1: 'only L2 loss')",
                                   f"{lam:g} x MSE(SR(G1(bicubic(HR))), HR)", ""))
        return tuple(rows)

    # -- model ------------------------------------------------------------------------------------
    def build(self, scale, hp):
        from .networks import SRRESNET_ARCH, VDSR_ARCH, build_g1, build_sr

        e = hp.extra
        lr_patch = hp.patch // scale
        if lr_patch % 4:
            raise SrbenchError(f"{self.method}: the LR crop ({hp.patch}/{scale} = {lr_patch} px) must be a multiple "
                               "of 4 (the generators' two stride-2 convolutions); choose another patch")
        PatchDiscriminator, Translation, TransDiscriminators, HRDiscriminator, Pair = _modules()
        gp = {"ngf": int(e["ngf"]), "n_resblocks": int(e["g_blocks"])}
        g1, g2 = build_g1(gp, scale=scale), build_g1({**gp, "name": "F"}, scale=scale)
        d1 = PatchDiscriminator(int(e["ndf"]), int(e["d_layers"]))
        d2 = PatchDiscriminator(int(e["ndf"]), int(e["d_layers"]))
        for m in (g1, g2, d1, d2):
            _cyclegan_init(m)
        arch = VDSR_ARCH if self.variant == "vdsr" else SRRESNET_ARCH
        nets = {
            "trans": Translation(g1, g2),
            "d_trans": TransDiscriminators(d1, d2, int(e["pool"]), lr_patch),
            "sr": build_sr(arch, scale, {"nf": int(e["nf"]), "nb": int(e["nb"])}),
        }
        if self.gan:
            from srbench.training.perceptual import vgg19_features

            nets["d_sr"] = Pair(HRDiscriminator(int(e["ndf_sr"])))
            nets["vgg"] = vgg19_features(str(e["percep_layer"]))
        return nets

    def optimizers(self, nets, hp):
        import torch

        e = hp.extra
        betas = (float(e["beta1"]), float(e["beta2"]))
        lr_t = float(e["lr_trans"])
        t, d = unwrap(nets["trans"]), unwrap(nets["d_trans"])
        # one parameter group per network: gradients are clipped network by network (Vega)
        opts = {
            "trans": torch.optim.Adam([{"params": t.g1.parameters()}, {"params": t.g2.parameters()}], lr=lr_t, betas=betas),
            "d_trans": torch.optim.Adam([{"params": d.d1.parameters()}, {"params": d.d2.parameters()}], lr=lr_t, betas=betas),
            "sr": torch.optim.Adam(nets["sr"].parameters(), lr=hp.lr, betas=betas),
        }
        if self.gan:
            opts["d_sr"] = torch.optim.Adam(nets["d_sr"].parameters(), lr=hp.lr, betas=betas)
        clip = float(e["grad_clip"])
        if clip > 0:
            for o in opts.values():
                o.register_step_pre_hook(_clip_hook(clip))
        return opts

    def lr_factor(self, stage, done):
        if stage == "joint":
            return min(1.0, 2.0 * (1.0 - done))  # 100 epochs constant, then linear to 0 over 100 (Sec. 4.1)
        return 1.0

    # -- steps ------------------------------------------------------------------------------------
    def train_step(self, stage, batch, nets, ctx, hp):
        import torch.nn.functional as F

        scale = batch.hr.shape[-1] // batch.lr.shape[-1]
        x = bicubic_uint8(batch.hr, scale)  # I^L_syn
        if stage == "sr_pre":
            with ctx.autocast():
                sr = nets["sr"](x)
            mse = F.mse_loss(sr.float(), batch.hr)
            loss = float(hp.extra["lambda_mse"]) * mse
            ctx.backward(loss, "sr")
            return {"mse": float(mse.detach())}
        logs, fake_y = self._translation_step(batch, x, nets, ctx, hp, collaborative=stage == "joint")
        if stage == "joint":
            logs.update(self._sr_step(batch, fake_y, nets, ctx, hp))
        return logs

    def _translation_step(self, batch, x, nets, ctx, hp, collaborative: bool) -> tuple[dict, object]:
        """L_Trans (Eq. 2; stage g1) or L'_Trans (Eq. 5; stage joint) for G1+G2, then D1+D2. Returns the
        losses and G1(x) detached (the SR step's input)."""
        import torch.nn.functional as F

        e = hp.extra
        y, hr = batch.lr, batch.hr
        lam_cyc, lam_idt = float(e["lambda_cyc"]), float(e["lambda_idt"])
        lam_srt = float(e["lambda_sr_trans"]) if collaborative else 0.0
        d = unwrap(nets["d_trans"])
        with ctx.autocast():
            g = nets["trans"](x, y, identity=lam_idt > 0)
            adv = lsgan(_held(d.d1, g["fake_y"]), 1.0) + lsgan(_held(d.d2, g["fake_x"]), 1.0)
            sr_t = _held(nets["sr"], g["fake_y"]) if lam_srt > 0 else None
        cyc = F.l1_loss(g["rec_x"].float(), x) + F.l1_loss(g["rec_y"].float(), y)
        loss = adv + lam_cyc * cyc
        logs = {"g_adv": float(adv.detach()), "cyc": float(cyc.detach())}
        if lam_idt > 0:
            idt = F.l1_loss(g["idt_y"].float(), y) + F.l1_loss(g["idt_x"].float(), x)
            loss = loss + lam_cyc * lam_idt * idt
            logs["idt"] = float(idt.detach())
        if sr_t is not None:
            sr_trans = F.mse_loss(sr_t.float(), hr)
            loss = loss + lam_srt * sr_trans
            logs["sr_trans"] = float(sr_trans.detach())
        logs["trans"] = ctx.backward(loss, "trans")

        fake_y, fake_x = g["fake_y"].detach(), g["fake_x"].detach()
        pool_y, pool_x = d.query("1", fake_y), d.query("2", fake_x)
        with ctx.autocast():
            p_ry, p_fy, p_rx, p_fx = nets["d_trans"](y, pool_y.to(y.dtype), x, pool_x.to(x.dtype))
        loss_d = 0.5 * (lsgan(p_ry, 1.0) + lsgan(p_fy, 0.0)) + 0.5 * (lsgan(p_rx, 1.0) + lsgan(p_fx, 0.0))
        logs["d_trans"] = ctx.backward(loss_d, "d_trans")
        return logs, fake_y.float()

    def _sr_loss(self, sr, hr, nets, ctx, hp) -> tuple:
        """L_SR of CycleSR: lambda_mse MSE (Sec. 3.3, 4.1)."""
        import torch.nn.functional as F

        mse = F.mse_loss(sr.float(), hr)
        return float(hp.extra["lambda_mse"]) * mse, {"mse": float(mse.detach())}

    def _sr_step(self, batch, lr_hat, nets, ctx, hp) -> dict:
        with ctx.autocast():
            sr = nets["sr"](lr_hat)  # \hat I^L_real = G1(I^L_syn), held constant (Sec. 3.4)
        loss, logs = self._sr_loss(sr, batch.hr, nets, ctx, hp)
        logs["sr"] = ctx.backward(loss, "sr")
        self._after_sr(batch, sr.detach(), nets, ctx, logs)
        return logs

    def _after_sr(self, batch, sr, nets, ctx, logs) -> None:
        """CycleSRGAN: the HR discriminator's update; CycleSR: nothing."""

    # -- evaluation and export ----------------------------------------------------------------------
    def super_resolve(self, nets, lr):
        return nets["sr"](lr)

    def export(self, nets, scale, out, training):
        from srbench.checkpoint_format import save_checkpoint

        out = Path(out)
        sr = save_checkpoint(unwrap(nets["sr"]), out / f"{self.method}_{self.variant}_x{scale}.srbench.safetensors",
                             {"method": self.method, "variant": self.variant, "training": dict(training)})
        g1 = save_checkpoint(unwrap(nets["trans"]).g1, out / f"cyclesr_g1_x{scale}.srbench.safetensors",
                             {"method": "cyclesr-g1", "variant": "default",
                              "training": {**dict(training), "trained_with": f"{self.method}:{self.variant}"}})
        return [sr, g1]


class CycleSRGANRecipe(CycleSRRecipe):
    """CycleSRGAN: CycleSR with L_SR = lambda_mse MSE + lambda_percep L_percep + lambda_adv L_adv (RaGAN)."""

    method = "cyclesrgan"
    gan = True

    def _sr_loss(self, sr, hr, nets, ctx, hp) -> tuple:
        """Eq. 3: lambda_mse MSE + lambda_percep L1(VGG(sr), VGG(hr)) + lambda_adv RaGAN generator loss (the
        discriminator held: its parameters get no gradient from this loss)."""
        import torch
        import torch.nn.functional as F

        e = hp.extra
        mse = F.mse_loss(sr.float(), hr)
        with ctx.autocast():
            with torch.no_grad():
                f_hr = nets["vgg"](hr)
                c_real = _held(unwrap(nets["d_sr"]).net, hr)
            f_sr = nets["vgg"](sr)
            c_fake = _held(unwrap(nets["d_sr"]).net, sr)
        percep = F.l1_loss(f_sr.float(), f_hr.float())
        c_real, c_fake = c_real.float(), c_fake.float()
        g_ra = 0.5 * (bce(c_real - c_fake.mean(), 0.0) + bce(c_fake - c_real.mean(), 1.0))
        loss = float(e["lambda_mse"]) * mse + float(e["lambda_percep"]) * percep + float(e["lambda_adv"]) * g_ra
        return loss, {"mse": float(mse.detach()), "percep": float(percep.detach()), "g_ra": float(g_ra.detach())}

    def _after_sr(self, batch, sr, nets, ctx, logs) -> None:
        """D_h on the relativistic average loss (ESRGAN): real HR against the SR just made (detached)."""
        with ctx.autocast():
            c_real, c_fake = nets["d_sr"](batch.hr, sr)
        c_real, c_fake = c_real.float(), c_fake.float()
        loss_d = 0.5 * (bce(c_real - c_fake.mean(), 1.0) + bce(c_fake - c_real.mean(), 0.0))
        logs["d_sr"] = ctx.backward(loss_d, "d_sr")


def _clip_hook(max_norm: float):
    """An optimiser step pre-hook: clip the gradient norm of each parameter group (= each network)."""

    def hook(optimizer, args, kwargs):
        import torch

        for g in optimizer.param_groups:
            params = [p for p in g["params"] if p.grad is not None]
            if params:
                torch.nn.utils.clip_grad_norm_(params, max_norm)

    return hook
