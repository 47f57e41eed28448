#!/usr/bin/python3
"""PyTorch models of the paper's polyphonic-music rows, written from SPEC-symbolic.md.

Two families behind one wrapper, `MusicModel`, whose `state_dict()` names and shapes are
exactly those of the official poly_music checkpoints (golden JSON `state_dict`), so that a
model trained here loads into the Swift engine the same way the golden fixtures do, and
the golden fixtures load here:

* `family="sequnet"`: `.conv` = the PLAIN Seq-U-Net (LeakyReLU convolutions, concatenated
  skips) in padded mode. Every ordinary conv sits at index 1 of its block's Sequential,
  after a ConstantPad1d of k-1 zeros in front (causal), so its names read
  `conv.downsampling_blocks.i.conv1.block.1.weight`; the transposed conv of an up block
  and the 1x1 output conv sit at index 0.
* `family="tcn"`: `.conv` = a weight-normalised temporal convolutional network
  (`conv.network.i.conv{1,2}.weight_g/weight_v/bias`, `downsample` where channels change,
  and the `net.0`/`net.4` duplicates that a Sequential holding the same weight-normalised
  convs produces), then `.linear` (88 logits per frame).

`forward(x)` takes whole sequences [B, 88, T] (frame t = input t) and returns logits
[B, 88, T] (column t predicts frame t+1). The Seq-U-Net pads its input in front with zeros
to n = the smallest b*2^(L-1) - (2^(L-1)-1) >= T, b >= 2, so that the first and the last
input are ticks of every level, and returns the last T outputs: the output at a frame
depends on how far it is from the sequence's end, which is why a streaming engine must
pre-roll n-T zero frames from clock 0 (SPEC "Pre-roll"). The TCN is time-invariant and
needs no padding beyond its causal one.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

KEYS = 88

# the paper's configurations (Stoller et al. 2020, table of polyphonic music results)
PAPER_CONFIGS = {
    ("jsb", "sequnet"): dict(levels=2, kernel_size=3, channels=175),
    ("jsb", "tcn"): dict(levels=2, kernel_size=3, channels=220),
    ("nottingham", "sequnet"): dict(levels=4, kernel_size=5, channels=150),
    ("nottingham", "tcn"): dict(levels=4, kernel_size=5, channels=215),
}
PAPER_DROPOUT = {"jsb": 0.5, "nottingham": 0.2}


def padded_length(T, levels):
    """n = smallest b*2^(L-1) - (2^(L-1) - 1) >= T with b >= 2: n = 1 mod 2^(L-1), so that the
    first and the last of the n inputs are ticks of every level."""
    top = 2 ** (levels - 1)
    b = max(2, -(-(T + top - 1) // top))
    return b * top - (top - 1)


# --- Seq-U-Net (plain, padded) -------------------------------------------------------------

class ConvBlock(nn.Module):
    """pad k-1 zeros in front, conv (stride 1 or 2), LeakyReLU, dropout. The pad is a real
    layer at index 0 because the official names put the conv at `block.1`."""

    def __init__(self, cin, cout, k, stride=1, dropout=0.0):
        super().__init__()
        layers = [nn.ConstantPad1d((k - 1, 0), 0.0), nn.Conv1d(cin, cout, k, stride=stride), nn.LeakyReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        return self.block(x)


class UpConvBlock(nn.Module):
    """stride-2 transposed conv (index 0), LeakyReLU, dropout; forward keeps the first `length`
    outputs. Output p of the full transposed conv over level-(i+1) vectors v[0..M-1] is
    b + sum_{2m+j=p} W[:, :, j]^T v[m]: even p is the tick of v[p/2] (even taps), odd p the
    level-i step after it (odd taps), as in the streaming rule; the last k-1 outputs would
    need level-(i+1) vectors that do not exist yet and are dropped. (The crop commutes with
    the elementwise activation and dropout, so it is done after the Sequential.)"""

    def __init__(self, c, k, dropout=0.0):
        super().__init__()
        layers = [nn.ConvTranspose1d(c, c, k, stride=2), nn.LeakyReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        self.block = nn.Sequential(*layers)

    def forward(self, x, length):
        return self.block(x)[..., :length]


class OutputConv(nn.Module):
    """1x1 conv, no activation (`output_conv.block.0`)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.block = nn.Sequential(nn.Conv1d(cin, cout, 1))

    def forward(self, x):
        return self.block(x)


class DownsamplingBlock(nn.Module):
    """level-i conv (its output is the shortcut), then the stride-2 conv to level i+1."""

    def __init__(self, cin, c, k, dropout):
        super().__init__()
        self.conv1 = ConvBlock(cin, c, k, 1, dropout)
        self.conv2 = ConvBlock(c, c, k, 2, dropout)

    def forward(self, x):
        s = self.conv1(x)
        return self.conv2(s), s


class UpsamplingBlock(nn.Module):
    """level i+1 -> i: transposed conv, then a level-i conv over concat[upsampled, shortcut]
    (the upsampled part first)."""

    def __init__(self, c_low, c, k, dropout):
        super().__init__()
        self.conv1 = UpConvBlock(c_low, k, dropout)
        self.conv2 = ConvBlock(c_low + c, c, k, 1, dropout)

    def forward(self, v, shortcut):
        up = self.conv1(v, shortcut.shape[-1])
        return self.conv2(torch.cat([up, shortcut], dim=1))


class Sequnet(nn.Module):
    """Plain Seq-U-Net, padded mode. forward(x [B, D_in, n]) with n = 1 mod 2^(L-1) returns
    [B, D_out, n]; MusicModel does the front padding and the crop."""

    def __init__(self, num_inputs, channels, num_outputs, kernel_size, dropout=0.0):
        super().__init__()
        L = len(channels)
        if L < 2 or kernel_size % 2 == 0:
            raise ValueError(f"Seq-U-Net needs >= 2 levels and an odd kernel (got {L}, {kernel_size})")
        self.levels, self.kernel_size = L, kernel_size
        k = kernel_size
        self.downsampling_blocks = nn.ModuleList(
            [DownsamplingBlock(num_inputs if i == 0 else channels[i - 1], channels[i], k, dropout)
             for i in range(L - 1)])
        # registered in the official order (down, up, bottleneck, output), so the state dicts
        # list their tensors in the same order too
        self.upsampling_blocks = nn.ModuleList(
            [UpsamplingBlock(channels[i + 1], channels[i], k, dropout) for i in range(L - 1)])
        self.bottleneck_conv = ConvBlock(channels[L - 2], channels[L - 1], k, 1, dropout)
        self.output_conv = OutputConv(channels[0], num_outputs)

    def forward(self, x):
        n = x.shape[-1]
        if (n - 1) % (2 ** (self.levels - 1)) != 0:
            raise ValueError(f"padded length {n} is not 1 mod 2^(L-1)")
        shortcuts = []
        h = x
        for block in self.downsampling_blocks:
            h, s = block(h)
            shortcuts.append(s)
        v = self.bottleneck_conv(h)
        for i in reversed(range(self.levels - 1)):
            v = self.upsampling_blocks[i](v, shortcuts[i])
        return self.output_conv(v)


# --- TCN (weight-normalised, dilated, causal) ----------------------------------------------

class Chomp1d(nn.Module):
    """drops the last `chomp` steps: a conv padded (k-1)d on both sides, chomped, is causal."""

    def __init__(self, chomp):
        super().__init__()
        self.chomp = chomp

    def forward(self, x):
        return x[..., :-self.chomp] if self.chomp else x


class TemporalBlock(nn.Module):
    """relu(conv1) -> relu(conv2) (+ dropout), then relu(h + residual). The Sequential `net`
    holds the very same conv modules as `conv1`/`conv2`, hence the `net.0`/`net.4` names in
    the state dict (one storage each)."""

    def __init__(self, cin, cout, k, dilation, dropout, small_init=True):
        super().__init__()
        pad = (k - 1) * dilation
        wn = nn.utils.weight_norm
        self.conv1 = wn(nn.Conv1d(cin, cout, k, padding=pad, dilation=dilation))
        self.chomp1 = Chomp1d(pad)
        self.relu1 = nn.ReLU()
        self.dropout1 = nn.Dropout(dropout)
        self.conv2 = wn(nn.Conv1d(cout, cout, k, padding=pad, dilation=dilation))
        self.chomp2 = Chomp1d(pad)
        self.relu2 = nn.ReLU()
        self.dropout2 = nn.Dropout(dropout)
        self.net = nn.Sequential(self.conv1, self.chomp1, self.relu1, self.dropout1,
                                 self.conv2, self.chomp2, self.relu2, self.dropout2)
        self.downsample = nn.Conv1d(cin, cout, 1) if cin != cout else None
        self.relu = nn.ReLU()
        # small_init: small initial conv weights, as is usual for this TCN in the music task
        # (weight_norm keeps the direction; g is recomputed from the rescaled v). The language
        # models keep PyTorch's default for the weight-normalised convs (g = ||v||). The 1x1
        # downsample is N(0, 0.01) either way.
        with torch.no_grad():
            if small_init:
                for conv in (self.conv1, self.conv2):
                    conv.weight_v.normal_(0, 0.01)
                    conv.weight_g.copy_(conv.weight_v.norm(dim=(1, 2), keepdim=True))
            if self.downsample is not None:
                self.downsample.weight.normal_(0, 0.01)

    def forward(self, x):
        h = self.net(x)
        res = x if self.downsample is None else self.downsample(x)
        return self.relu(h + res)


class TemporalConvNet(nn.Module):
    """locuslab's TCN: block i has dilation 2^i (shared by the music and language models)."""

    def __init__(self, num_inputs, channels, kernel_size, dropout=0.0, small_init=True):
        super().__init__()
        self.levels, self.kernel_size, self.channels = len(channels), kernel_size, list(channels)
        self.network = nn.Sequential(*[
            TemporalBlock(num_inputs if i == 0 else channels[i - 1], channels[i], kernel_size, 2 ** i, dropout,
                          small_init)
            for i in range(len(channels))])

    def forward(self, x):
        return self.network(x)


# --- the music wrapper ---------------------------------------------------------------------

class MusicModel(nn.Module):
    """88 keys in, 88 Bernoulli logits out, per frame."""

    def __init__(self, family, levels, channels, kernel_size, dropout=0.0):
        super().__init__()
        self.family, self.levels, self.channels, self.kernel_size = family, levels, channels, kernel_size
        chans = [channels] * levels
        if family == "sequnet":
            self.conv = Sequnet(KEYS, chans, KEYS, kernel_size, dropout)
        elif family == "tcn":
            self.conv = TemporalConvNet(KEYS, chans, kernel_size, dropout)
            self.linear = nn.Linear(channels, KEYS)
            with torch.no_grad():
                self.linear.weight.normal_(0, 0.01)
        else:
            raise ValueError(f"unknown model family '{family}' (sequnet or tcn)")

    def config(self):
        return dict(family=self.family, levels=self.levels, channels=self.channels, kernel_size=self.kernel_size)

    def forward(self, x):
        """x [B, 88, T] -> logits [B, 88, T]; column t predicts frame t+1."""
        T = x.shape[-1]
        if self.family == "sequnet":
            n = padded_length(T, self.levels)
            return self.conv(F.pad(x, (n - T, 0)))[..., -T:]
        return self.linear(self.conv(x).transpose(1, 2)).transpose(1, 2)


def count_params(model):
    """distinct parameters (the TCN's net.* duplicates are the same tensors)."""
    return sum(p.numel() for p in model.parameters())


def infer_config(state):
    """family, levels, channels, kernel size from a state dict's names and shapes."""
    if "conv.output_conv.block.0.weight" in state:
        levels = 1 + len({k.split(".")[2] for k in state if k.startswith("conv.downsampling_blocks.")})
        w = state["conv.downsampling_blocks.0.conv1.block.1.weight"]
        return dict(family="sequnet", levels=levels, channels=w.shape[0], kernel_size=w.shape[2])
    if "linear.weight" in state:
        levels = len({k.split(".")[2] for k in state if k.startswith("conv.network.")})
        w = state["conv.network.0.conv1.weight_v"]
        return dict(family="tcn", levels=levels, channels=w.shape[0], kernel_size=w.shape[2])
    raise ValueError("not a music Seq-U-Net or TCN state dict (no conv.output_conv.block.0.weight or linear.weight)")


def load_state(path, family=None):
    """A MusicModel (eval mode) from a plain state dict file; every tensor must be used and
    have the expected shape, or the error names it."""
    state = torch.load(path, map_location="cpu")
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError(f"{path}: not a plain state dict (torch.save(model.state_dict()))")
    cfg = infer_config(state)
    if family is not None and family != cfg["family"]:
        raise ValueError(f"{path}: holds a {cfg['family']} model, not a {family}")
    model = MusicModel(**cfg)
    model.load_state_dict(state, strict=True)
    return model.eval()


def nll_sum(logits, target):
    """BCE-with-logits (natural log) summed over keys and frames; logits, target [..., 88, T]."""
    return F.binary_cross_entropy_with_logits(logits, target, reduction="sum")


def evaluate(model, sequences):
    """(NLL per frame over all sequences together, total frames): the sum over every predicted
    frame of every sequence divided by the number of predicted frames (frame-weighted, not a
    mean of per-sequence means). Each sequence is a [T+1, 88] array: inputs seq[:-1],
    targets seq[1:]."""
    was_training = model.training
    model.eval()
    total, frames = 0.0, 0
    with torch.no_grad():
        for seq in sequences:
            s = torch.as_tensor(seq, dtype=torch.float32).t()[None]  # [1, 88, T+1]
            total += nll_sum(model(s[..., :-1]), s[..., 1:]).item()
            frames += s.shape[-1] - 1
    model.train(was_training)
    return total / frames, frames
