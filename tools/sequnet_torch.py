"""Reference-format PyTorch Seq-U-Net (residual variant) and WaveNet, written from SPEC.md.

State-dict names and shapes are exactly the reference's (SPEC tables), so a checkpoint
saved from these modules is loadable by the Swift engine's `convert`, and the golden
reference checkpoints load into these modules.

forward() is a full-sequence *valid* (unpadded) pass that computes, at every sample
position it can, the same function as SPEC's streaming step semantics. Every level's
sequence is carried together with the absolute sample index n of its first element, so
the clock phase (level i ticks where n % 2^i == 0) is explicit rather than implied by
tensor lengths.

Semantic details that SPEC.md leaves implicit, found while matching the golden fixtures
(see also tools/test_parity.py):

* Seq-U-Net `upsampling_blocks.i` is the block that returns to level i (upconv from level
  i+1 to i, convs at level i), so the up path runs blocks L-2, L-3, ..., 0 in that order,
  and block i's shortcut is the output of `downsampling_blocks.i`'s last conv.
* Transposed conv in full-sequence form: conv_transpose1d with stride 2; output index p
  sits at sample n_u0 + p*s (n_u0 = sample of u's first element, s = level-i spacing).
  Even p = "now" (even taps), odd p = "next" (odd taps). The first fully-valid output is
  p = K-2 (a "next"), the last is p = 2M-1 (the "next" of u's last element). Its identity
  is u repeated twice (nearest-neighbour upsampling), and the bias is added to both.
* For the streaming engine: the up-block convs need `up` vectors at level-i positions
  going back (K-1)*s, which include "next" vectors of older level-(i+1) ticks; the
  engine must keep the concat(c, up) window, not recompute old ups.
* Seq-U-Net: input_size equals the receptive field of the output at a phase-0 sample
  (n % 2^(L-1) == 0): 149 / 253 for the fixtures, 32761 for the paper model. A valid pass
  over exactly input_size samples ending at phase 0 yields exactly one output, and every
  value a later streaming step needs (up to the next phase-0 sample and beyond) lies inside
  that pass, so priming = one valid pass and the buffers need nothing from before the window.
* Seq-U-Net input_size (the JSON's, 149 / 253 / 32761) is the reference's *sizing* of its
  valid pass, not the receptive field: see reference_io_size(). The true receptive field at
  phase 0 is 149 / 237 / 31737 (max over phases 149 / 247 / 32749), and for every phase p,
  rf(p) - p <= rf(0) <= input_size, so a window of input_size samples ending at phase 0
  covers everything any later output needs: streaming the padded window from *any* buffer
  contents (e.g. zeros) gives the same logits for n >= 0. Checked: priming with 237
  instead of 253 samples also matches c24 to 2.4e-7.
* Clock phase matters and the fixtures only weakly test the top level: shifting the phase by
  half a top-level cycle gives 9.5e-5 error on c16 (just under the 1e-4 tolerance) and
  2.1e-6 on c24 (well under it), while a shift of 1 gives ~0.07. Engines should compare
  at 1e-5 or tighter to catch an off-by-half-cycle phase (ours: 2.4e-7 on all three).
* WaveNet: input_size = receptive field = 1 + sum(d) (31 for l4 b2). The fixture matches
  both a valid pass over window + steps and a stream started from all-zero layer buffers
  (forward(zero_history=True)); with window == receptive field, history before the window
  never reaches an output at n >= 0, so the engine may start from zeros and stream the
  padded window. The state dict does not record layers per block (pass it explicitly).
"""
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

SILENCE = 128


class GatedConv(nn.Module):
    """filter/gate pair; `transposed` uses ConvTranspose1d ([in, out, K] weight layout)."""

    def __init__(self, cin, cout, k, transposed=False):
        super().__init__()
        conv = nn.ConvTranspose1d if transposed else nn.Conv1d
        self.filter = conv(cin, cout, k)
        self.gate = conv(cin, cout, k)


class DownBlock(nn.Module):
    def __init__(self, c, k, depth):
        super().__init__()
        self.convs = nn.ModuleList([GatedConv(c, c, k) for _ in range(depth)])
        self.downconv = GatedConv(c, c, k)


class UpBlock(nn.Module):
    def __init__(self, c, k, depth):
        super().__init__()
        self.upconv = GatedConv(c, c, k, transposed=True)
        self.convs = nn.ModuleList([GatedConv(2 * c, c, k) for _ in range(depth)])


def one_hot_conv(conv, classes):
    """conv(one_hot(classes)) for a Conv1d over class channels, without the one-hot tensor.

    A convolution of one-hot inputs picks, for each tap k, the weight column of the class at
    t + k: an embedding lookup per tap. Same function and same gradients; building, copying and
    back-propagating through the [B, num_classes, N] one-hot input was 40% of a training step.
    classes: LongTensor [B, N] -> [B, C_out, N - K + 1]."""
    weight = conv.weight  # [C_out, num_classes, K]
    K = weight.shape[2]
    T = classes.shape[1] - K + 1
    out = F.embedding(classes[:, :T], weight[:, :, 0].t())
    for k in range(1, K):
        out = out + F.embedding(classes[:, k:k + T], weight[:, :, k].t())
    return (out + conv.bias).transpose(1, 2).contiguous()


def _gate(layer, x, **kw):
    return torch.tanh(F.conv1d(x, layer.filter.weight, layer.filter.bias, **kw)) * \
        torch.sigmoid(F.conv1d(x, layer.gate.weight, layer.gate.bias, **kw))


class Sequnet(nn.Module):
    def __init__(self, features=64, levels=10, depth=1, kernel_size=5, num_classes=256):
        super().__init__()
        assert kernel_size % 2 == 1 and kernel_size >= 3, "SPEC: odd kernel (>= 3 here)"
        C, K = features, kernel_size
        self.C, self.L, self.D, self.K, self.num_classes = C, levels, depth, K, num_classes
        self.input_conv = nn.Conv1d(num_classes, C, K)
        self.downsampling_blocks = nn.ModuleList([DownBlock(C, K, depth) for _ in range(levels - 1)])
        self.bottlenecks = nn.ModuleList([GatedConv(C, C, K) for _ in range(depth)])
        self.upsampling_blocks = nn.ModuleList([UpBlock(C, K, depth) for _ in range(levels - 1)])
        self.output_conv = nn.Sequential(nn.ReLU(), nn.Conv1d(C, num_classes, 1))
        self.cycles = 2 ** (levels - 1)
        self.input_size, self.output_size = self.reference_io_size()

    @classmethod
    def from_state_dict(cls, sd):
        w = sd["input_conv.weight"]
        levels = 1 + len({k.split(".")[1] for k in sd if k.startswith("downsampling_blocks.")})
        depth = len({k.split(".")[3] for k in sd if k.startswith("downsampling_blocks.0.convs.")})
        m = cls(features=w.shape[0], levels=levels, depth=depth, kernel_size=w.shape[2], num_classes=w.shape[1])
        m.load_state_dict(sd)
        return m

    def config(self):
        return {"model": "sequnet", "features": self.C, "levels": self.L, "depth": self.D,
                "kernel_size": self.K, "num_classes": self.num_classes,
                "input_size": self.input_size, "cycles": self.cycles}

    # --- the valid pass -------------------------------------------------------------------
    # A level sequence is (x [B, C, M], n0): element m sits at sample n0 + m * 2^level.

    def _res(self, layer, x, n0, s):
        """residual gated conv at spacing s (dilation 1 on the level sequence)."""
        return x[..., self.K - 1:] + _gate(layer, x), n0 + (self.K - 1) * s

    def _down(self, layer, h, n0, s):
        """strided residual conv: outputs at n % 2s == 0 with a full window of K level-i vectors."""
        K = self.K
        first = n0 + (K - 1) * s
        first += (-first) % (2 * s)  # round up to the next tick of level i+1
        e = (first - n0) // s  # index in h of the newest window element of the first output
        if e >= h.shape[-1]:
            return h[..., :0], first
        y = _gate(layer, h[..., e - (K - 1):], stride=2)
        ident = h[..., e::2]
        m = min(y.shape[-1], ident.shape[-1])
        return ident[..., :m] + y[..., :m], first

    def _up(self, layer, u, n0, s):
        """transposed residual conv from level i+1 (spacing 2s) to level i (spacing s)."""
        K, M = self.K, u.shape[-1]
        f = F.conv_transpose1d(u, layer.filter.weight, layer.filter.bias, stride=2)
        g = F.conv_transpose1d(u, layer.gate.weight, layer.gate.bias, stride=2)
        y = torch.tanh(f) * torch.sigmoid(g)
        ident = torch.repeat_interleave(u, 2, dim=-1)
        # p = K-2 .. 2M-1 are the outputs with every (same-parity) tap inside u.
        return ident[..., K - 2:2 * M] + y[..., K - 2:2 * M], n0 + (K - 2) * s

    def forward(self, classes, first_n=0):
        """classes: LongTensor [B, N]; first_n: sample index of classes[:, 0].

        Returns (logits [B, classes, T], n_out) where logits[..., t] is the prediction made
        at sample n_out + t (i.e. for the class at n_out + t + 1)."""
        K = self.K
        x = one_hot_conv(self.input_conv, classes)
        n = first_n + K - 1
        shortcuts = []
        for i, block in enumerate(self.downsampling_blocks):
            s = 2 ** i
            for conv in block.convs:
                x, n = self._res(conv, x, n, s)
            shortcuts.append((x, n))
            x, n = self._down(block.downconv, x, n, s)
        s = 2 ** (self.L - 1)
        for conv in self.bottlenecks:
            x, n = self._res(conv, x, n, s)
        for i in reversed(range(self.L - 1)):
            block, s = self.upsampling_blocks[i], 2 ** i
            up, nu = self._up(block.upconv, x, n, s)
            c, nc = shortcuts[i]
            # crop both level-i sequences to their common sample range
            start = max(nu, nc)
            end = min(nu + up.shape[-1] * s, nc + c.shape[-1] * s)
            m = max(0, (end - start) // s)
            up = up[..., (start - nu) // s:][..., :m]
            c = c[..., (start - nc) // s:][..., :m]
            n = start
            for conv in block.convs:
                c = c[..., K - 1:] + _gate(conv, torch.cat([c, up], 1))
                up = up[..., K - 1:]
                n += (K - 1) * s
            x = c
        return self.output_conv(x), n

    # --- geometry ------------------------------------------------------------------------
    def _out_range(self, N, first_n):
        """[n_first, n_last] of the outputs of a valid pass over N samples (no tensors)."""
        K = self.K
        lo, hi = first_n + K - 1, first_n + N - 1  # level-0 sequence sample range
        rng = []
        for i in range(self.L - 1):
            s = 2 ** i
            lo += self.D * (K - 1) * s
            rng.append((lo, hi))
            lo += (K - 1) * s
            lo += (-lo) % (2 * s)
            hi -= hi % (2 * s)
        s = 2 ** (self.L - 1)
        lo += self.D * (K - 1) * s
        for i in reversed(range(self.L - 1)):
            s = 2 ** i
            ulo, uhi = lo + (K - 2) * s, hi + s
            clo, chi = rng[i]
            lo, hi = max(ulo, clo), min(uhi, chi)
            lo += self.D * (K - 1) * s
        return lo, hi

    def reference_io_size(self):
        """(input_size, output_size) the way the reference sizes its valid pass: the smallest
        bottleneck length B whose up path yields >= 1 output, where the reference's upconv
        keeps only 2M-K of the 2M+K-2 transposed-conv outputs (drops K-1 at both ends, so it
        ends on the "now" of u's last element), and the down path needs 2(M-1)+K inputs per
        strided conv. This is the JSON's input_size (149 / 253 / 32761); it can exceed the
        true receptive field (237 for c24_l5_d2_k3, 31737 for the paper model) -- the extra
        samples are only sizing slack, the phase-0 output does not depend on them."""
        K, D = self.K, self.D
        B = 1
        while True:
            M = B
            for _ in range(self.L - 1):
                M = 2 * M - K - D * (K - 1)
                if M < 1:
                    break
            if M >= 1:
                break
            B += 1
        N = B + D * (K - 1)
        for _ in range(self.L - 1):
            N = 2 * (N - 1) + K + D * (K - 1)
        return N + K - 1, M

    def receptive_field(self, phase=0):
        """Smallest window ending at a sample with n % cycles == phase whose valid pass
        produces the output at that sample (== SPEC's input_size for phase 0)."""
        N = 1
        while True:
            lo, hi = self._out_range(N, phase - N + 1)
            if lo <= phase <= hi:
                return N
            N += 1

    def receptive_field_max(self):
        return max(self.receptive_field(p) for p in range(self.cycles))


class WaveNet(nn.Module):
    def __init__(self, layers=10, blocks=2, residual_channels=64, dilation_channels=64,
                 skip_channels=256, kernel_size=2, num_classes=256):
        super().__init__()
        R, Dc, S = residual_channels, dilation_channels, skip_channels
        self.layers, self.blocks, self.K, self.num_classes = layers, blocks, kernel_size, num_classes
        self.R, self.Dc, self.S = R, Dc, S
        self.dilations = [2 ** (l % layers) for l in range(layers * blocks)]
        self.start_conv = nn.Conv1d(num_classes, R, 1)
        self.filter_convs = nn.ModuleList([nn.Conv1d(R, Dc, kernel_size) for _ in self.dilations])
        self.gate_convs = nn.ModuleList([nn.Conv1d(R, Dc, kernel_size) for _ in self.dilations])
        self.residual_convs = nn.ModuleList([nn.Conv1d(Dc, R, 1) for _ in self.dilations])
        self.skip_convs = nn.ModuleList([nn.Conv1d(Dc, S, 1) for _ in self.dilations])
        self.end_conv_1 = nn.Conv1d(S, S, 1)
        self.end_conv_2 = nn.Conv1d(S, num_classes, 1)
        self.receptive_field_ = 1 + sum((kernel_size - 1) * d for d in self.dilations)
        self.input_size = self.receptive_field_
        self.cycles = 1

    @classmethod
    def from_state_dict(cls, sd, layers=None):
        n = len({k.split(".")[1] for k in sd if k.startswith("filter_convs.")})
        if layers is None:
            layers = n
        w = sd["filter_convs.0.weight"]
        m = cls(layers=layers, blocks=n // layers, residual_channels=w.shape[1], dilation_channels=w.shape[0],
                skip_channels=sd["skip_convs.0.weight"].shape[0], kernel_size=w.shape[2],
                num_classes=sd["start_conv.weight"].shape[1])
        m.load_state_dict(sd)
        return m

    def config(self):
        return {"model": "wavenet", "layers": self.layers, "blocks": self.blocks,
                "residual_channels": self.R, "dilation_channels": self.Dc, "skip_channels": self.S,
                "kernel_size": self.K, "num_classes": self.num_classes, "input_size": self.input_size,
                "cycles": 1}

    def receptive_field(self, phase=0):
        return self.receptive_field_

    def receptive_field_max(self):
        return self.receptive_field_

    def forward(self, classes, first_n=0, zero_history=False):
        """Valid pass (zero_history=False): output at every sample with a full receptive field.
        zero_history=True: every dilated conv is left-padded with zero vectors instead, i.e. a
        stream started from all-zero layer buffers (one of the priming hypotheses)."""
        K = self.K
        x = one_hot_conv(self.start_conv, classes)
        n = first_n
        skip = 0
        for l, d in enumerate(self.dilations):
            xin = F.pad(x, ((K - 1) * d, 0)) if zero_history else x
            z = torch.tanh(F.conv1d(xin, self.filter_convs[l].weight, self.filter_convs[l].bias, dilation=d)) * \
                torch.sigmoid(F.conv1d(xin, self.gate_convs[l].weight, self.gate_convs[l].bias, dilation=d))
            s = self.skip_convs[l](z)
            skip = s if isinstance(skip, int) else skip[..., -s.shape[-1]:] + s
            x = x[..., x.shape[-1] - z.shape[-1]:] + self.residual_convs[l](z)
            if not zero_history:
                n += (K - 1) * d
        out = self.end_conv_2(F.relu(self.end_conv_1(F.relu(skip))))
        return out, n


def load_checkpoint(path, wavenet_layers=None):
    """Reference checkpoint -> model. weights_only where the torch version can (torch 1.13's
    weights_only unpickler rejects the optimizer state's floats, so fall back: our own files)."""
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        ck = torch.load(path, map_location="cpu")
    sd = ck["model_state_dict"]
    if "input_conv.weight" in sd:
        return Sequnet.from_state_dict(sd), ck
    if wavenet_layers is None and isinstance(ck.get("config"), dict):
        wavenet_layers = ck["config"].get("layers")  # train.py records the layers per block
    return WaveNet.from_state_dict(sd, layers=wavenet_layers), ck


def load_checkpoint_or_exit(path, tool):
    """load_checkpoint for command-line tools: an unreadable file ends the tool with one line
    naming it, not a traceback."""
    try:
        return load_checkpoint(path)
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same one-line error
        sys.exit(f"{tool}: cannot read {path}: {e}".splitlines()[0])


def prime_window(prompt, input_size):
    """SPEC priming: pad with silence in front to input_size, keep the last input_size."""
    p = list(prompt)
    if len(p) < input_size:
        p = [SILENCE] * (input_size - len(p)) + p
    return p[-input_size:]


def count_params(m):
    return sum(p.numel() for p in m.parameters())


if __name__ == "__main__":
    import argparse
    import json
    ap = argparse.ArgumentParser(description="print input_size / receptive field / params of configs")
    ap.parse_args()
    cfgs = [("fixture sequnet c16 l4 d1 k5", Sequnet(16, 4, 1, 5)),
            ("fixture sequnet c24 l5 d2 k3", Sequnet(24, 5, 2, 3)),
            ("fixture wavenet l4 b2 r16 d16 s32", WaveNet(4, 2, 16, 16, 32)),
            ("sequnet-piano c64 l10 d1 k5", Sequnet(64, 10, 1, 5)),
            ("wavenet-piano l10 b2 r64 d64 s256", WaveNet(10, 2, 64, 64, 256)),
            ("paper wavenet l13 b4 r128 d128 s512", WaveNet(13, 4, 128, 128, 512))]
    for name, m in cfgs:
        print(f"{name:40s} input_size={m.input_size:6d} rf_phase0={m.receptive_field(0):6d} rf_max_over_phases={m.receptive_field_max():6d} "
              f"params={count_params(m)}")
    # the paper Seq-U-Net: geometry only (building 27M params is fine but slow-ish)
    m = Sequnet(180, 11, 2, 5)
    print(f"{'paper sequnet c180 l11 d2 k5':40s} input_size={m.input_size:6d} rf_phase0={m.receptive_field(0):6d} params={count_params(m)}")
