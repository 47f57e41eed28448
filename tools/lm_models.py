#!/usr/bin/python3
"""PyTorch models of the paper's Penn Treebank language models, written from SPEC-symbolic.md.

`LMModel` is the task wrapper of the official char_cnn / word_cnn code: `encoder` =
nn.Embedding(V, E), `conv` = a plain Seq-U-Net in VALID mode or a TemporalConvNet, both with
channels [nhid]*(L-1) + [E], and `decoder` = nn.Linear(E, V) whose weight IS the encoder's
(tied: the state dict lists both names, one storage). Its `state_dict()` names and shapes are
exactly those of the official checkpoints (golden JSON `state_dict`), so a model trained here
loads into the Swift engine the way the golden fixtures do, and the fixtures load here.

* `family="sequnet"`: the plain Seq-U-Net (LeakyReLU convolutions, concatenated skips) with
  unpadded ("valid") convolutions: every conv sits at index 0 of its block's Sequential
  (`conv.downsampling_blocks.i.conv1.block.0.weight`). The model takes windows of exactly
  W inputs and returns S outputs, those of the last S window positions, with W and S chosen
  from the requested output length by `check_padding` (k=3, L=4: 320 -> W=397, S=325; 45 ->
  117/45). Valid convolutions align the decimation grid to the END of the window (its last
  input is a tick of every level): a stride-2 conv over n inputs (n - k even) has its last
  output on the last input; a stride-2 transposed conv over s low-rate vectors keeps the
  2s - k outputs that all k taps reach (full outputs k-1 .. 2s-2, the last one on the tick of
  the newest vector); each skip is cut to the newest entries it needs.
* `family="tcn"`: the weight-normalised dilated causal TCN (`conv.network.i.conv{1,2}
  .weight_g/weight_v/bias`, `downsample` where the width changes, and the `net.0`/`net.4`
  duplicates of the Sequential that holds the same convs). Time-invariant; its windows are
  arguments of the official script (char W=400 scoring S=320; word 117/45).

`forward(ids [B, n])` returns logits [B, n_out, V]: n_out = S for a Seq-U-Net window
(n = W), n for the TCN. `scored_logits` gives the last S rows in both cases.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# the official char_cnn / word_cnn settings (README commands + argument defaults of train.py):
# levels 4, kernel 3; char: E=100, nhid 600 (TCN) / 390 (Seq-U-Net), both 5.9M parameters;
# word: E=600, nhid 600 / 390
PAPER_CONFIGS = {
    ("char", "tcn"): dict(emsize=100, nhid=600, levels=4, kernel_size=3),
    ("char", "sequnet"): dict(emsize=100, nhid=390, levels=4, kernel_size=3),
    ("word", "tcn"): dict(emsize=600, nhid=600, levels=4, kernel_size=3),
    ("word", "sequnet"): dict(emsize=600, nhid=390, levels=4, kernel_size=3),
}
# requested scored length (validseqlen) and, for the TCN, the window (seq_len)
SCORED = {"char": 320, "word": 45}
TCN_WINDOW = {"char": 400, "word": 117}
# training recipe: dropout inside the conv stack / on the embeddings
PAPER_DROPOUT = {"char": (0.1, 0.1), "word": (0.5, 0.25)}


def channel_list(nhid, levels, emsize):
    return [nhid] * (levels - 1) + [emsize]


# --- window sizes of the valid-mode Seq-U-Net ------------------------------------------------

def output_size_for_bottleneck(b, levels, k):
    """outputs S of a valid Seq-U-Net whose bottleneck conv gives b vectors, or None when a
    layer would get too short: per up level j, the transposed conv gives 2s - k (>= 2), its
    conv s - k + 1 (>= 2^(j+1))."""
    s = b
    for j in range(levels - 1):
        s = 2 * s - k
        if s < 2:
            return None
        s = s - k + 1
        if s < 2 ** (j + 1):
            return None
    return s


def input_size_for_bottleneck(b, levels, k):
    """inputs W that give b bottleneck vectors: the bottleneck conv needs b + k - 1, and per
    level (top down) a stride-2 conv 2W - 2 + k, its level conv W + k - 1."""
    W = b + k - 1
    for _ in range(levels - 1):
        W = 2 * W - 2 + k
        W = W + k - 1
    return W


def check_padding(target_output_size, levels, kernel_size):
    """(W, S): the window and scored length of the smallest bottleneck b >= 2 whose output
    reaches the request (the official check_padding with padding 0)."""
    if kernel_size % 2 == 0 or levels < 2:
        raise ValueError("the Seq-U-Net needs an odd kernel and >= 2 levels")
    b = 2
    while True:
        s = output_size_for_bottleneck(b, levels, kernel_size)
        if s is not None and s >= target_output_size:
            return input_size_for_bottleneck(b, levels, kernel_size), s
        b += 1


def first_clock(W, levels):
    """c0 = (-(W-1)) mod 2^(L-1): the clock of a window's first input in a streaming engine,
    so that its last input is a tick of every level."""
    return (-(W - 1)) % (2 ** (levels - 1))


# --- plain Seq-U-Net, valid mode --------------------------------------------------------------

def _block(conv, dropout):
    layers = [conv, nn.LeakyReLU()]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class ValidConv(nn.Module):
    """unpadded conv (stride 1 or 2) at `block.0`, LeakyReLU, dropout."""

    def __init__(self, cin, cout, k, stride=1, dropout=0.0):
        super().__init__()
        self.block = _block(nn.Conv1d(cin, cout, k, stride=stride), dropout)

    def forward(self, x):
        return self.block(x)


class ValidUpConv(nn.Module):
    """stride-2 transposed conv at `block.0`, keeping the 2s - k outputs every tap reaches
    (full outputs k-1 .. 2s-2; output 2m is the tick of input m), then LeakyReLU, dropout."""

    def __init__(self, c, k, dropout=0.0):
        super().__init__()
        self.k = k
        self.block = _block(nn.ConvTranspose1d(c, c, k, stride=2), dropout)

    def forward(self, x):
        y = self.block[0](x)
        y = y[..., self.k - 1:y.shape[-1] - (self.k - 1)]
        for layer in self.block[1:]:
            y = layer(y)
        return y


class OutputConv(nn.Module):
    """1x1 conv, no activation (`output_conv.block.0`)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.block = nn.Sequential(nn.Conv1d(cin, cout, 1))

    def forward(self, x):
        return self.block(x)


class DownsamplingBlock(nn.Module):
    def __init__(self, cin, c, k, dropout):
        super().__init__()
        self.conv1 = ValidConv(cin, c, k, 1, dropout)
        self.conv2 = ValidConv(c, c, k, 2, dropout)

    def forward(self, x):
        s = self.conv1(x)
        return self.conv2(s), s


class UpsamplingBlock(nn.Module):
    """level i+1 -> i: transposed conv, then a level-i conv over concat[upsampled, the newest
    entries of the shortcut] (the upsampled part first)."""

    def __init__(self, c_low, c, k, dropout):
        super().__init__()
        self.conv1 = ValidUpConv(c_low, k, dropout)
        self.conv2 = ValidConv(c_low + c, c, k, 1, dropout)

    def forward(self, v, shortcut):
        up = self.conv1(v)
        return self.conv2(torch.cat([up, shortcut[..., shortcut.shape[-1] - up.shape[-1]:]], dim=1))


class ValidSequnet(nn.Module):
    """Sequnet(num_inputs, channels, num_outputs, k, target_output_size) in valid mode:
    forward(x [B, D_in, W]) -> [B, D_out, S], the outputs of the last S inputs."""

    def __init__(self, num_inputs, channels, num_outputs, kernel_size, target_output_size, dropout=0.0):
        super().__init__()
        L = len(channels)
        if L < 2 or kernel_size % 2 == 0:
            raise ValueError(f"Seq-U-Net needs >= 2 levels and an odd kernel (got {L}, {kernel_size})")
        self.levels, self.kernel_size, self.channels = L, kernel_size, list(channels)
        k = kernel_size
        self.downsampling_blocks = nn.ModuleList(
            [DownsamplingBlock(num_inputs if i == 0 else channels[i - 1], channels[i], k, dropout)
             for i in range(L - 1)])
        # registered in the official order (down, up, bottleneck, output)
        self.upsampling_blocks = nn.ModuleList(
            [UpsamplingBlock(channels[i + 1], channels[i], k, dropout) for i in range(L - 1)])
        self.bottleneck_conv = ValidConv(channels[L - 2], channels[L - 1], k, 1, dropout)
        self.output_conv = OutputConv(channels[0], num_outputs)
        self.input_size, self.output_size = check_padding(target_output_size, L, k)

    def forward(self, x):
        if x.shape[-1] != self.input_size:
            raise ValueError(f"valid Seq-U-Net takes windows of {self.input_size} inputs, got {x.shape[-1]}")
        shortcuts = []
        h = x
        for block in self.downsampling_blocks:
            h, s = block(h)
            shortcuts.append(s)
        v = self.bottleneck_conv(h)
        for i in reversed(range(self.levels - 1)):
            v = self.upsampling_blocks[i](v, shortcuts[i])
        out = self.output_conv(v)
        assert out.shape[-1] == self.output_size
        return out


# --- TCN (weight-normalised, dilated, causal) ---------------------------------------------------

# The TCN is the music models' (tools/music_models.py), with PyTorch's default initialisation.
from music_models import Chomp1d, TemporalBlock, TemporalConvNet  # noqa: E402,F401


# --- the language-model wrapper ------------------------------------------------------------------

class LMModel(nn.Module):
    """token ids in, logits over the vocabulary out; decoder tied to the encoder."""

    def __init__(self, family, level, vocab_size, emsize, nhid, levels, kernel_size,
                 dropout=0.0, emb_dropout=0.0, window=None, scored=None):
        super().__init__()
        self.family, self.level = family, level
        self.vocab_size, self.emsize, self.nhid = vocab_size, emsize, nhid
        self.levels, self.kernel_size = levels, kernel_size
        chans = channel_list(nhid, levels, emsize)
        self.encoder = nn.Embedding(vocab_size, emsize)
        if family == "sequnet":
            self.conv = ValidSequnet(emsize, chans, emsize, kernel_size, scored or SCORED[level], dropout)
            self.window, self.scored = self.conv.input_size, self.conv.output_size
        elif family == "tcn":
            self.conv = TemporalConvNet(emsize, chans, kernel_size, dropout, small_init=False)
            self.window, self.scored = window or TCN_WINDOW[level], scored or SCORED[level]
            if self.scored > self.window:
                raise ValueError("the scored length must not exceed the window")
        else:
            raise ValueError(f"unknown model family '{family}' (sequnet or tcn)")
        self.decoder = nn.Linear(emsize, vocab_size)
        self.decoder.weight = self.encoder.weight
        self.drop = nn.Dropout(emb_dropout)
        with torch.no_grad():  # the official init_weights
            self.encoder.weight.uniform_(-0.1, 0.1)
            self.decoder.bias.zero_()

    def config(self):
        return dict(family=self.family, level=self.level, vocab_size=self.vocab_size, emsize=self.emsize,
                    nhid=self.nhid, levels=self.levels, kernel_size=self.kernel_size,
                    window=self.window, scored=self.scored)

    def forward(self, ids):
        """ids [B, n] (int64) -> logits [B, n_out, V]; for a Seq-U-Net n must be the window W
        and n_out = S (the last S positions); for the TCN n_out = n."""
        emb = self.drop(self.encoder(ids))
        y = self.conv(emb.transpose(1, 2))
        return self.decoder(y.transpose(1, 2))

    def scored_logits(self, ids):
        """logits of the last S window positions [B, S, V] (row r predicts ids[W-S+r+1])."""
        return self(ids)[:, -self.scored:]


def count_params(model):
    """distinct parameters (the tied decoder weight and the TCN's net.* duplicates once)."""
    return sum(p.numel() for p in model.parameters())


def infer_config(state):
    """family, vocabulary, embedding, nhid, levels, kernel from a state dict's names and shapes."""
    if "encoder.weight" not in state or "decoder.bias" not in state:
        raise ValueError("not a language-model state dict (no encoder.weight / decoder.bias)")
    V, E = state["encoder.weight"].shape
    if "conv.output_conv.block.0.weight" in state:
        levels = 1 + len({k.split(".")[2] for k in state if k.startswith("conv.downsampling_blocks.")})
        w = state["conv.downsampling_blocks.0.conv1.block.0.weight"]
        return dict(family="sequnet", vocab_size=V, emsize=E, nhid=w.shape[0], levels=levels, kernel_size=w.shape[2])
    if "conv.network.0.conv1.weight_v" in state:
        levels = len({k.split(".")[2] for k in state if k.startswith("conv.network.")})
        w = state["conv.network.0.conv1.weight_v"]
        return dict(family="tcn", vocab_size=V, emsize=E, nhid=w.shape[0], levels=levels, kernel_size=w.shape[2])
    raise ValueError("neither a valid-mode Seq-U-Net (conv.output_conv.block.0) nor a TCN (conv.network.*) LM")


def load_state(path_or_state, level=None, window=None, scored=None):
    """An LMModel (eval mode) from a plain state dict (file or dict); the level (char/word)
    follows from the vocabulary size unless given. Every tensor must be used with its shape."""
    state = path_or_state
    if not isinstance(state, dict):
        state = torch.load(path_or_state, map_location="cpu")
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError(f"{path_or_state}: not a plain state dict (torch.save(model.state_dict()))")
    cfg = infer_config(state)
    if level is None:
        level = "char" if cfg["vocab_size"] < 1000 else "word"
    model = LMModel(cfg["family"], level, cfg["vocab_size"], cfg["emsize"], cfg["nhid"], cfg["levels"],
                    cfg["kernel_size"], window=window, scored=scored)
    model.load_state_dict(state, strict=True)
    return model.eval()


# --- the official windowed evaluation -----------------------------------------------------------

def window_starts(length, W, S, level):
    """starts 0, S, 2S, ... (< length-1), skipping start + W >= length (char) or >= length - 1 (word)."""
    limit = length if level == "char" else length - 1
    return [i for i in range(0, length - 1, S) if i + W < limit]


def evaluate(model, rows, batch=32, progress=None):
    """(mean cross-entropy in nats, scored tokens) of the official windowed protocol over
    `rows` ([R, n] token ids: char = one row per stream, word = batchify(.., 16)); every
    window of every row scores its last S positions. Windows are run `batch` at a time
    (the official code runs one batch of rows per window; the sum is the same)."""
    was_training = model.training
    model.eval()
    rows = np.asarray(rows)
    if rows.ndim == 1:
        rows = rows[None]
    W, S = model.window, model.scored
    jobs = [(r, i) for r in range(rows.shape[0]) for i in window_starts(rows.shape[1], W, S, model.level)]
    total, count = 0.0, 0
    data = torch.from_numpy(np.array(rows, dtype=np.int64))  # a writable copy
    with torch.no_grad():
        for b in range(0, len(jobs), batch):
            chunk = jobs[b:b + batch]
            x = torch.stack([data[r, i:i + W] for r, i in chunk])
            y = torch.stack([data[r, i + W - S + 1:i + W + 1] for r, i in chunk])
            z = model.scored_logits(x)
            total += F.cross_entropy(z.reshape(-1, z.shape[-1]), y.reshape(-1), reduction="sum").double().item()
            count += y.numel()
            if progress is not None:
                progress(min(b + batch, len(jobs)), len(jobs))
    model.train(was_training)
    return total / count, count


def bpc(ce_nats):
    return ce_nats / math.log(2)
