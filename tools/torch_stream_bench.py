#!/usr/bin/python3
"""PyTorch streaming step for Seq-U-Net and WaveNet: the "PyTorch" column of the speed table.

This is what a researcher would write to generate with our PyTorch reference one sample at a
time (fp32, inference mode; batch 1 and one thread unless --batch/--threads say otherwise), built
from the state-dict tensors of a model made by tools/sequnet_torch.py, so the weight layout is
the reference's:

* Seq-U-Net: every conv keeps a cached window of its last K inputs (at its level's spacing) as a
  tensor, and a layer is recomputed only when its level's clock ticks (level i every 2^i
  samples). The upconv keeps its "next" output for the level-i tick in between (SPEC.md).
* WaveNet: every layer keeps a queue of its past d inputs; the dilated conv is applied to
  [x[n-d], x[n]].

It is meant to be a *fair* baseline, not a strawman: filter and gate are one stacked matrix per
layer (one addmv), windows are contiguous slices of a doubled ring buffer (no copies, no
torch.cat per step), the gated activation and the residual are fused into addcmul, the input
conv gathers K weight columns instead of multiplying a one-hot vector, and WaveNet's skip sum
(linear) is one product over all layers' gated outputs. Like the Swift engine's `bench`, each
timed step includes the argmax that picks the next input.

With --batch B, B independent streams are stepped together: every cached window, queue and
"next" vector gains a leading batch dimension (row b is stream b), and each addmv becomes one
addmm of the [B, K*in] windows with the transposed [2*out, K*in] weights, so that the weights are
read once per step for all B streams. (That is the product W @ [K*in, B] transposed; with this
machine's OpenBLAS 0.3.21 it measured as fast or faster than W @ X, most at small B.) Each stream
is fed the argmax of its own logits. The streams share the clock phase, hence the Seq-U-Net
tick schedule. Batch 1 keeps plain vectors and addmv: one-row sgemm measured ~1.6x slower than
sgemv in OpenBLAS 0.3.21. --threads T sets torch's intra-op threads and OpenBLAS's threads to T
(interop stays 1); torch's setting alone leaves OpenBLAS on every core (see set_blas_threads).

Usage:
  /usr/bin/python3 tools/torch_stream_bench.py --arch sequnet:features=180,levels=11,depth=2,kernel=5
  /usr/bin/python3 tools/torch_stream_bench.py --arch sequnet:features=180,levels=11,depth=2,kernel=5 --batch 16 --threads 2
  /usr/bin/python3 tools/torch_stream_bench.py --arch wavenet:layers=13,blocks=4,residual=128,dilation=128,skip=512 --json
  /usr/bin/python3 tools/torch_stream_bench.py --checkpoint run/ckpt.pt [--wavenet-layers 10]
  /usr/bin/python3 tools/torch_stream_bench.py --check      # step mode, batch 1 and batched, vs the golden fixtures
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sequnet_torch as st  # noqa: E402

FIXTURE_DIRS = (os.path.join(HERE, "..", "Tests", "Fixtures"), "/work/shared/golden")
TOL = 1e-4


# --- building blocks ----------------------------------------------------------------------------

def batch_shape(batch):
    """leading dims of every state tensor: none at batch 1 (plain vectors, addmv), (B,) otherwise
    (row b is stream b, so that a window over K inputs is a [B, K*in] matrix for addmm)."""
    return () if batch == 1 else (batch,)


class Ring:
    """Last k vectors of width dim (per stream), always readable as one [k*dim] slice ([B, k*dim]
    with a batch), oldest first.

    2k slots; a new vector goes to slots p and p+k, so slots p+1 .. p+k are the window in time
    order: reading it is a view (no copy, no roll), writing is two row copies. The views of
    every slot are made once, because at batch 1 each tensor op (even a slice) costs as much
    Python/dispatch time as a small product. With a batch each stream has its own 2k slots, so
    a window is a [B, k*dim] view with row stride 2k*dim, which BLAS reads in place (lda)."""

    def __init__(self, k, dim, split=None, batch=1, dtype=torch.float32):
        self.k = k
        bs = batch_shape(batch)
        self.buf = torch.zeros(*bs, 2 * k, dim, dtype=dtype)
        self.p = 0
        b = self.buf
        self.slots = [(b.select(-2, p), b.select(-2, p + k), b.narrow(-2, p + 1, k).view(*bs, -1))
                      for p in range(k)]
        # newest k-1 vectors of each window (the upconv's "next" taps)
        self.tails = [b.narrow(-2, p + 2, k - 1).view(*bs, -1) for p in range(k)]
        # the two halves of a row, for windows over concat(a, b)
        self.halves = [(row[..., :split], row[..., split:]) for row, _, _ in self.slots] if split else None

    def push(self, x):
        p = self.p
        row, mirror, win = self.slots[p]
        row.copy_(x)
        mirror.copy_(x)
        self.p = (p + 1) % self.k
        return win

    def push2(self, a, b):
        """push concat(a, b) without materialising the concatenation."""
        p = self.p
        row, mirror, win = self.slots[p]
        lo, hi = self.halves[p]
        lo.copy_(a)
        hi.copy_(b)
        mirror.copy_(row)
        self.p = (p + 1) % self.k
        return win

    def last_tail(self):
        """newest k-1 vectors of the window returned by the last push."""
        return self.tails[(self.p - 1) % self.k]


class Gated:
    """ident + tanh(filter) * sigmoid(gate): one product of the stacked [2*out, K*in] matrix with
    the window into a reused buffer, the activations in place, the product and the residual in
    one addcmul (the only new tensor). The product is an addmv at batch 1 and one addmm for all
    B streams otherwise, [B, K*in] windows times the transposed weights, so that the weights are
    read once per step however many streams there are."""

    def __init__(self, w, b, batch=1):
        self.w, self.b = w, b
        # a transposed view: BLAS takes it as a flag, nothing is copied. None selects addmv.
        self.wt = None if batch == 1 else w.t()
        c = w.shape[0] // 2
        self.y = torch.empty(*batch_shape(batch), 2 * c)
        self.t, self.g = self.y[..., :c], self.y[..., c:]

    def __call__(self, win, ident):
        if self.wt is None:
            torch.addmv(self.b, self.w, win, out=self.y)
        else:
            torch.addmm(self.b, win, self.wt, out=self.y)
        self.t.tanh_()
        self.g.sigmoid_()
        return torch.addcmul(ident, self.t, self.g)


def _stack_conv(layer):
    """filter/gate Conv1d [out, in, K] -> one [2*out, K*in] matrix, tap-major so that column block
    k multiplies window position k (k = K-1 is the newest input), and the stacked bias."""
    w = torch.cat([layer.filter.weight, layer.gate.weight], 0)  # [2out, in, K]
    w = w.permute(0, 2, 1).reshape(w.shape[0], -1).contiguous()
    return w, torch.cat([layer.filter.bias, layer.gate.bias]).contiguous()


def _stack_upconv(layer):
    """ConvTranspose1d [in, out, K] -> ("now", "next") matrices over the last M = ceil(K/2)
    level-(i+1) vectors (oldest first). SPEC: now = sum over even taps j of W_j^T u[n - j/2 t],
    next = sum over odd taps j of W_j^T u[n - (j-1)/2 t]; "next" never reaches the oldest of
    the M vectors, so it is applied to the newest M-1 only."""
    K = layer.filter.weight.shape[2]
    M = (K + 1) // 2

    def taps(w, parity):
        n_blocks = M if parity == 0 else M - 1
        blocks = []
        for q in range(n_blocks):  # q = window position, oldest first
            j = 2 * (n_blocks - 1 - q) + parity
            blocks.append(w[:, :, j].t())  # [out, in]
        return torch.cat(blocks, 1)

    wf, wg = layer.filter.weight, layer.gate.weight
    now = torch.cat([taps(wf, 0), taps(wg, 0)], 0).contiguous()
    nxt = torch.cat([taps(wf, 1), taps(wg, 1)], 0).contiguous()
    return now, nxt, torch.cat([layer.filter.bias, layer.gate.bias]).contiguous(), M


# --- Seq-U-Net step -----------------------------------------------------------------------------

class SequnetStep:
    """One step of B streams (B = batch; batch 1 is plain vectors). step(cls, n) feeds each
    stream its class at sample n and returns the logits predicting sample n+1: [classes] at
    batch 1 (cls an int), [B, classes] otherwise (cls B ints; row b is stream b)."""

    def __init__(self, model, batch=1):
        m = model
        self.C, self.L, self.D, self.K, self.ncls = m.C, m.L, m.D, m.K, m.num_classes
        self.cycles = m.cycles
        self.batch = B = batch
        C, K = self.C, self.K
        # input conv: row k*(classes+1) + c of w_in is the weight column of class c at tap k; each
        # tap's extra zero row (class `classes`) stands for "no input yet" (the zero starting
        # state), so that a row index is always tap offset + class, for one stream or a batch.
        w = m.input_conv.weight.permute(2, 1, 0)  # [K, classes, C]
        self.w_in = torch.cat([w, torch.zeros(K, 1, C)], 1).reshape(K * (self.ncls + 1), C).contiguous()
        self.b_in = m.input_conv.bias.clone()
        self.tap_offset = [k * (self.ncls + 1) for k in range(K)]
        if B == 1:
            self.classes = [self.ncls] * K  # last K input classes, oldest first
        else:
            self.classes = Ring(K, 1, batch=B, dtype=torch.long)  # window [B, K], oldest first
            self.classes.buf.fill_(self.ncls)
            self.tap_offset_t = torch.tensor(self.tap_offset)
        self.down = []      # per level < L-1: list of (w, b, ring)
        self.downconv = []  # per level < L-1: (w, b, ring of the level's shortcut h)
        self.upconv = []    # per level < L-1: (w_now, w_next, b, ring of level-(i+1) outputs)
        self.up = []        # per level < L-1: list of (w, b, ring of concat(c, up))
        for i in range(self.L - 1):
            blk = m.downsampling_blocks[i]
            self.down.append([(Gated(*_stack_conv(cv), B), Ring(K, C, batch=B)) for cv in blk.convs])
            self.downconv.append((Gated(*_stack_conv(blk.downconv), B), Ring(K, C, batch=B)))
            ub = m.upsampling_blocks[i]
            now, nxt, b, M = _stack_upconv(ub.upconv)
            self.upconv.append((Gated(now, b, B), Gated(nxt, b, B), Ring(M, C, batch=B)))
            self.up.append([(Gated(*_stack_conv(cv), B), Ring(K, 2 * C, split=C, batch=B))
                            for cv in ub.convs])
        self.bottleneck = [(Gated(*_stack_conv(cv), B), Ring(K, C, batch=B)) for cv in m.bottlenecks]
        # level i's "up" vector for its tick in between two level-(i+1) ticks (starts at zero)
        self.next_up = [torch.zeros(*batch_shape(B), C) for _ in range(self.L - 1)]
        self.w_out = m.output_conv[1].weight[:, :, 0].contiguous()
        self.w_out_t = self.w_out.t()
        self.b_out = m.output_conv[1].bias.clone()

    def top_level(self, n):
        """highest level whose clock ticks at sample n (level i ticks where n % 2^i == 0)."""
        t = 0
        while t < self.L - 1 and n % (2 << t) == 0:
            t += 1
        return t

    def _input(self, cls):
        """the input conv over each stream's last K classes: [C], or [B, C]."""
        if self.batch == 1:
            hist = self.classes
            del hist[0]
            hist.append(cls)
            idx = torch.tensor([off + c for off, c in zip(self.tap_offset, hist)])
            return torch.index_select(self.w_in, 0, idx).sum(0).add_(self.b_in)
        win = self.classes.push(torch.as_tensor(cls).view(-1, 1))
        idx = torch.add(win, self.tap_offset_t).view(-1)  # stream-major: row b*K + k
        x = torch.index_select(self.w_in, 0, idx).view(self.batch, self.K, self.C).sum(1)
        return x.add_(self.b_in)

    def step(self, cls, n):
        """feed the class(es) at sample n, return the logits predicting sample n+1."""
        L = self.L
        x = self._input(cls)

        top = self.top_level(n)  # one schedule for all streams: they share the clock phase
        shortcuts = []
        # down path: levels 0 .. top, each at its own tick
        for i in range(top + 1):
            if i == L - 1:
                for gated, ring in self.bottleneck:
                    x = gated(ring.push(x), x)
                break
            for gated, ring in self.down[i]:
                x = gated(ring.push(x), x)
            shortcuts.append(x)
            gated, ring = self.downconv[i]
            win = ring.push(x)  # the downconv window advances at every level-i tick ...
            if i < top:         # ... but computes only where level i+1 ticks
                x = gated(win, x)
        # up path: levels min(top, L-2) .. 0; u = output of the level above
        u = x
        for i in range(min(top, L - 2), -1, -1):
            if i + 1 <= top:
                now, nxt, ring = self.upconv[i]
                up = now(ring.push(u), u)
                self.next_up[i] = nxt(ring.last_tail(), u)
            else:
                up = self.next_up[i]
            c = shortcuts[i]
            for gated, ring in self.up[i]:
                c = gated(ring.push2(c, up), c)
            u = c
        if self.batch == 1:
            return torch.addmv(self.b_out, self.w_out, torch.relu(u))
        return torch.addmm(self.b_out, torch.relu(u), self.w_out_t)


# --- WaveNet step -------------------------------------------------------------------------------

class WaveNetStep:
    """Same interface as SequnetStep: [classes] logits at batch 1, [B, classes] otherwise. The
    products are written out twice (addmv / addmm of the transposed weights) rather than behind
    a helper, because at batch 1 a Python call per product would be a visible part of the step."""

    def __init__(self, model, batch=1):
        m = model
        self.cycles = 1
        self.batch = B = batch
        bs = batch_shape(B)
        self.R, self.Dc, self.S = m.R, m.Dc, m.S
        assert m.K == 2, "WaveNet step: kernel 2 only (the reference's)"
        self.w_start = m.start_conv.weight[:, :, 0].t().contiguous()  # [classes, R]: gather row(s)
        self.b_start = m.start_conv.bias.clone()
        # every layer's gated output, for the skip product: with a batch, [B, layers, Dc], so
        # that each stream's stack of all layers is one row of the [B, layers*Dc] skip input
        self.z = torch.zeros(*bs, len(m.dilations), self.Dc)
        self.zflat = self.z.view(*bs, -1)
        self.layers = []
        for l, d in enumerate(m.dilations):
            f, g = m.filter_convs[l], m.gate_convs[l]
            w = torch.cat([f.weight, g.weight], 0)  # [2Dc, R, 2]; tap 0 = x[n-d], tap 1 = x[n]
            w_old, w_new = w[:, :, 0].contiguous(), w[:, :, 1].contiguous()
            w_res = m.residual_convs[l].weight[:, :, 0].contiguous()
            if B > 1:  # transposed views for x @ W^T (BLAS flags, no copies)
                w_old, w_new, w_res = w_old.t(), w_new.t(), w_res.t()
            queue = torch.zeros(d, *bs, self.R)  # the last d inputs, x[n] in slot n % d
            y = torch.empty(*bs, 2 * self.Dc)
            # views made once (see Ring): at batch 1 every slice is as dear as a small product
            self.layers.append((d, list(queue.unbind(0)), w_old, w_new,
                                torch.cat([f.bias, g.bias]).contiguous(), y, y[..., :self.Dc], y[..., self.Dc:],
                                self.z.select(-2, l), w_res, m.residual_convs[l].bias.clone()))
        # skip sum is linear: one product over all layers' z, plus the summed skip biases
        self.w_skip = torch.cat([m.skip_convs[l].weight[:, :, 0] for l in range(len(m.dilations))], 1).contiguous()
        self.b_skip = torch.stack([m.skip_convs[l].bias for l in range(len(m.dilations))]).sum(0)
        self.w1, self.b1 = m.end_conv_1.weight[:, :, 0].contiguous(), m.end_conv_1.bias.clone()
        self.w2, self.b2 = m.end_conv_2.weight[:, :, 0].contiguous(), m.end_conv_2.bias.clone()
        if B > 1:
            self.w_skip, self.w1, self.w2 = self.w_skip.t(), self.w1.t(), self.w2.t()

    def step(self, cls, n):
        if self.batch == 1:
            return self._step1(cls, n)
        x = torch.index_select(self.w_start, 0, torch.as_tensor(cls)).add_(self.b_start)  # [B, R]
        last = len(self.layers) - 1
        for l, (d, queue, wt_old, wt_new, b, y, yf, yg, z, wt_res, b_res) in enumerate(self.layers):
            slot = queue[n % d]  # holds every stream's x[n-d]
            torch.addmm(b, slot, wt_old, out=y)
            y.addmm_(x, wt_new)
            slot.copy_(x)
            torch.mul(yf.tanh_(), yg.sigmoid_(), out=z)
            if l != last:
                x = torch.addmm(b_res, z, wt_res).add_(x)
        skip = torch.addmm(self.b_skip, self.zflat, self.w_skip).relu_()
        h = torch.addmm(self.b1, skip, self.w1).relu_()
        return torch.addmm(self.b2, h, self.w2)

    def _step1(self, cls, n):
        x = self.w_start[cls] + self.b_start
        last = len(self.layers) - 1
        for l, (d, queue, w_old, w_new, b, y, yf, yg, z, w_res, b_res) in enumerate(self.layers):
            slot = queue[n % d]  # holds x[n-d]
            torch.addmv(b, w_old, slot, out=y)
            y.addmv_(w_new, x)
            slot.copy_(x)        # now holds x[n], read again at n+d
            torch.mul(yf.tanh_(), yg.sigmoid_(), out=z)
            if l != last:        # the last layer's residual output feeds nothing
                x = torch.addmv(b_res, w_res, z).add_(x)
        skip = torch.addmv(self.b_skip, self.w_skip, self.zflat).relu_()
        h = torch.addmv(self.b1, self.w1, skip).relu_()
        return torch.addmv(self.b2, self.w2, h)


def make_stepper(model, batch=1):
    with torch.no_grad():  # the step's tensors are plain data, no autograd history
        return (SequnetStep if isinstance(model, st.Sequnet) else WaveNetStep)(model, batch)


# --- models -------------------------------------------------------------------------------------

def parse_arch(spec):
    """The Swift engine's spec syntax (Sources/SequnetEngine/Models/ArchitectureSpec.swift)."""
    kind, _, rest = spec.partition(":")
    vals = {}
    for item in filter(None, rest.split(",")):
        k, _, v = item.partition("=")
        vals[k.strip()] = int(v)
    kind = kind.strip().lower()
    if vals.pop("classes", 256) != 256:
        raise SystemExit("classes must be 256")
    try:
        if kind == "sequnet":
            args = dict(features=vals.pop("features"), levels=vals.pop("levels"),
                        depth=vals.pop("depth", 1), kernel_size=vals.pop("kernel", 5))
            make = lambda: st.Sequnet(**args)  # noqa: E731
        elif kind == "wavenet":
            args = dict(layers=vals.pop("layers"), blocks=vals.pop("blocks"),
                        residual_channels=vals.pop("residual"), dilation_channels=vals.pop("dilation"),
                        skip_channels=vals.pop("skip"))
            make = lambda: st.WaveNet(**args)  # noqa: E731
        else:
            raise SystemExit(f"unknown architecture '{kind}' (sequnet or wavenet)")
    except KeyError as e:
        raise SystemExit(f"architecture spec '{spec}' lacks {e.args[0]}=")
    if vals:
        raise SystemExit(f"architecture spec '{spec}': unknown key(s) {sorted(vals)}")
    return make


def random_model(spec, seed=1):
    """PyTorch's default module init, seeded (the Swift engine draws its own random weights, so
    the numbers differ from its --arch models; only the shapes, hence the speed, agree)."""
    make = parse_arch(spec)
    torch.manual_seed(seed)
    return make().eval()


def load_model(path, wavenet_layers=None):
    """Reference-format checkpoint: dict with model_state_dict, or a bare state dict."""
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        ck = torch.load(path, map_location="cpu")  # torch 1.13 rejects the optimizer's floats
    sd = ck.get("model_state_dict", ck) if isinstance(ck, dict) else ck
    sd = {k: v.float() for k, v in sd.items()}
    if "input_conv.weight" in sd:
        return st.Sequnet.from_state_dict(sd).eval()
    return st.WaveNet.from_state_dict(sd, layers=wavenet_layers).eval()


def arch_label(model):
    c = model.config()
    if c["model"] == "sequnet":
        return f"sequnet:features={c['features']},levels={c['levels']},depth={c['depth']},kernel={c['kernel_size']}"
    return (f"wavenet:layers={c['layers']},blocks={c['blocks']},residual={c['residual_channels']},"
            f"dilation={c['dilation_channels']},skip={c['skip_channels']}")


# --- correctness against the golden fixtures ----------------------------------------------------

def fixture_dir():
    for d in FIXTURE_DIRS:
        if os.path.isdir(d) and any(f.endswith(".json") for f in os.listdir(d)):
            return d
    raise SystemExit("no golden fixtures found in " + " or ".join(FIXTURE_DIRS))


def fixture_names(directory):
    """the golden fixtures in directory, by name (NAME.json beside NAME.pt, NAME.logits.f32, ...)."""
    return sorted(f[:-5] for f in os.listdir(directory) if f.endswith(".json"))


def stream_logits(model, seqs, first_n, separate=False):
    """Stream B = len(seqs) equal-length class sequences from the zero state, sample k of every
    sequence at n = first_n + k, and return the logits as a [len, B, classes] array: all B in one
    batched stepper (a single sequence takes the batch-1 vector path), or with separate, in B
    batch-1 steppers, the reference a batch must agree with."""
    length = len(seqs[0])
    assert all(len(q) == length for q in seqs)
    got = np.empty((length, len(seqs), model.num_classes), dtype=np.float32)
    with torch.inference_mode():
        if len(seqs) > 1 and not separate:
            s = make_stepper(model, len(seqs))
            inputs = torch.tensor(seqs).t().contiguous()  # [len, B]: row k = every stream's input k
            for k in range(length):
                got[k] = s.step(inputs[k], first_n + k).numpy()
        else:
            for b, q in enumerate(seqs):
                s = make_stepper(model)
                for k, c in enumerate(q):
                    got[k, b] = s.step(c, first_n + k).numpy()
    return got


def check_fixture(name, directory=None, batch=1, mixed=False):
    """max abs error of the step mode vs NAME.logits.f32. Priming as SPEC/the Swift engine: pad
    the prompt with silence to input_size, stream that window from the zero state with the last
    prompt sample at n = 0 (so n % 2^(L-1) == 0 there), then feed the steps at n = 1, 2, ...

    batch > 1 steps that many streams together. Without mixed, every stream is fed the golden
    input and each stream's logits must match the fixture. With mixed, only stream 0 is; streams
    1 .. batch-1 get their own random classes and must match batch-1 runs on those, which
    catches a batch that mixes up its streams (same inputs cannot show that)."""
    directory = directory or fixture_dir()
    base = os.path.join(directory, name)
    with open(base + ".json") as f:
        cfg = json.load(f)
    model = load_model(base + ".pt", wavenet_layers=cfg.get("layers"))
    prompt = np.fromfile(base + ".prompt.u8", dtype=np.uint8).tolist()
    steps = np.fromfile(base + ".steps.u8", dtype=np.uint8).tolist()
    want = np.fromfile(base + ".logits.f32", dtype="<f4").reshape(len(steps) + 1, -1).astype(np.float64)
    window = st.prime_window(prompt, cfg["input_size"])
    golden = window + steps
    seqs = [golden] * batch
    if mixed:
        g = torch.Generator().manual_seed(batch)
        seqs = [golden] + torch.randint(0, model.num_classes, (batch - 1, len(golden)), generator=g).tolist()
    first_n = -(len(window) - 1)
    got = stream_logits(model, seqs, first_n)[len(window) - 1:]  # rows at n = 0, 1, ..
    assert got.shape[0::2] == want.shape, (got.shape, want.shape)
    err = np.abs(got[:, 0] - want).max()
    if mixed:
        single = stream_logits(model, seqs[1:], first_n, separate=True)[len(window) - 1:]
        return float(max(err, np.abs(got[:, 1:].astype(np.float64) - single).max()))
    return float(np.abs(got - want[:, None, :]).max())


def run_check(batch=3):
    """every fixture at batch 1, at `batch` streams all fed the golden input, and at `batch`
    streams with their own inputs (stream 0 golden, the rest vs batch-1 runs)."""
    d = fixture_dir()
    ok = True
    for name in fixture_names(d):
        for b, mixed, what in ((1, False, "batch 1"), (batch, False, f"batch {batch}, same input"),
                               (batch, True, f"batch {batch}, own inputs")):
            err = check_fixture(name, d, b, mixed)
            ok &= err < TOL
            print(f"{name:28s} {what:22s} max abs err {err:.3g} {'ok' if err < TOL else 'FAIL'} "
                  f"(tolerance {TOL:g})")
    return ok


# --- benchmark ----------------------------------------------------------------------------------

def set_blas_threads(n):
    """Give OpenBLAS n threads; return its thread count after, or None if no OpenBLAS is loaded.

    torch.set_num_threads does not reach OpenBLAS: a pthreads build (Debian's torch links one)
    keeps its own pool, one thread per core by default, and splits any sgemv or sgemm above a
    small size over it, so "1 thread" would otherwise run the products on every core. The Swift
    engine's bench sets OpenBLAS's threads the same way."""
    import ctypes
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.rsplit("/", 1)[-1]}
    except OSError:
        return None
    count = None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)  # already loaded: this only looks up the same copy
            lib.openblas_set_num_threads(ctypes.c_int(n))
            count = lib.openblas_get_num_threads()
        except (OSError, AttributeError):
            continue
    return count


def bench(model, samples=None, warmup=None, repeats=5, target_seconds=25.0, batch=1):
    """Warm-up, then `repeats` runs of `samples` steps (whole clock cycles for a Seq-U-Net, so
    every level's tick is weighted as in a long run). Each step is fed the argmax of the previous
    logits, as the Swift bench does; with a batch, each stream its own. Without --samples, the
    run is sized from the warm-up rate to take about target_seconds in all. A step advances
    every stream by one sample: latencies and tick costs are per step, rates count all streams."""
    s = make_stepper(model, batch)
    cycles = s.cycles
    round_up = lambda k: max(cycles, -(-k // cycles) * cycles)  # noqa: E731
    warmup = round_up(warmup if warmup is not None else max(cycles, 512))
    n = 0
    if batch == 1:
        cls = st.SILENCE
        pick = lambda logits: int(torch.argmax(logits))  # noqa: E731
    else:
        # distinct first inputs, so that the streams are not copies of one another
        cls = torch.tensor([(st.SILENCE + b) % model.num_classes for b in range(batch)])
        pick = lambda logits: torch.argmax(logits, 1)  # noqa: E731  (row b: stream b)
    clock = time.perf_counter_ns
    with torch.inference_mode():
        t0 = clock()
        for _ in range(warmup):
            cls = pick(s.step(cls, n))
            n += 1
        rate = warmup / max((clock() - t0) * 1e-9, 1e-9)
        if samples is None:
            samples = int(rate * target_seconds / repeats)
        samples = round_up(samples)
        rates, lat = [], []
        by_top = {}
        for _ in range(repeats):
            times = np.empty(samples, dtype=np.int64)
            start = clock()
            for k in range(samples):
                a = clock()
                cls = pick(s.step(cls, n))
                b = clock()
                times[k] = b - a
                n += 1
            rates.append(batch * samples / ((clock() - start) * 1e-9))
            lat.append(times)
            if isinstance(s, SequnetStep):
                first = n - samples
                for k in range(samples):
                    t = s.top_level(first + k)
                    acc = by_top.setdefault(t, [0, 0])
                    acc[0] += int(times[k])
                    acc[1] += 1
    lat = np.concatenate(lat) / 1000.0
    total = statistics.median(rates)
    return {
        "batch": batch,
        "samples_per_second": total,  # all streams together
        "samples_per_second_per_stream": total / batch,
        "samples_per_second_repeats": rates,
        "latency_us": {"p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99)),
                       "mean": float(lat.mean()), "max": float(lat.max())},
        "samples_timed": samples,
        "repeats": repeats,
        "warmup": warmup,
        "tick_cost_us": [{"level": t, "mean_step_us": v[0] / v[1] / 1000.0, "steps": v[1]}
                         for t, v in sorted(by_top.items())],
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--arch", metavar="SPEC", help="random-weight model, e.g. "
                     "sequnet:features=180,levels=11,depth=2,kernel=5 or "
                     "wavenet:layers=13,blocks=4,residual=128,dilation=128,skip=512")
    src.add_argument("--checkpoint", metavar="PATH", help="reference-format torch checkpoint")
    ap.add_argument("--wavenet-layers", type=int, metavar="N",
                    help="WaveNet layers per block (the state dict records only layers x blocks; "
                         "default: all layers in one block)")
    ap.add_argument("--samples", type=int, metavar="N", help="steps per repeat (default: about 25 s in all, "
                    "rounded up to whole clock cycles)")
    ap.add_argument("--warmup", type=int, metavar="N", help="warm-up steps (default: max(1 clock cycle, 512))")
    ap.add_argument("--repeats", type=int, default=5, metavar="R", help="timed repeats; the median is reported")
    ap.add_argument("--batch", type=int, default=1, metavar="B",
                    help="independent streams stepped together, one addmm per layer (default 1); with "
                         "--check, the batch of the batched checks (default 3)")
    ap.add_argument("--threads", type=int, default=1, metavar="T",
                    help="torch intra-op threads and OpenBLAS threads (default 1)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the random weights")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--check", action="store_true", help="check the step mode against the golden fixtures")
    a = ap.parse_args(argv)
    if a.batch < 1 or a.threads < 1:
        ap.error("--batch and --threads must be positive")

    torch.set_num_threads(a.threads)
    blas_threads = set_blas_threads(a.threads)
    # setting it a second time in one process (main() called again, as the tests do) aborts
    # torch 1.13 from C++ rather than raising, so only set it while it differs
    if torch.get_num_interop_threads() != 1:
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass

    if a.check:
        ok = run_check(a.batch if a.batch > 1 else 3)
        if not (a.arch or a.checkpoint):
            return 0 if ok else 1
        if not ok:
            return 1
    if not (a.arch or a.checkpoint):
        ap.error("give --arch SPEC, --checkpoint PATH or --check")
    if a.repeats < 1 or (a.samples is not None and a.samples < 1):
        ap.error("--repeats and --samples must be positive")

    model = random_model(a.arch, a.seed) if a.arch else load_model(a.checkpoint, a.wavenet_layers)
    label = arch_label(model)
    params = st.count_params(model)
    r = bench(model, a.samples, a.warmup, a.repeats, batch=a.batch)
    out = {"arch": label, "weights": "random (seed %d)" % a.seed if a.arch else a.checkpoint,
           "parameters": params, "threads": torch.get_num_threads(), "blas_threads": blas_threads,
           "precision": "fp32", "torch_version": torch.__version__, **r}
    if a.json:
        print(json.dumps(out, sort_keys=True))
        return 0
    print(f"model:        {label} ({out['weights']}), {params:,} parameters")
    threads, batch = out["threads"], r["batch"]
    print(f"setup:        PyTorch {torch.__version__} step, fp32, batch {batch}, {threads} "
          f"thread{'s' if threads > 1 else ''} (OpenBLAS {out['blas_threads'] or 'not loaded'}), "
          f"{r['samples_timed']:,} samples{' per stream' if batch > 1 else ''} "
          f"x {r['repeats']} repeats after {r['warmup']:,} warm-up")
    print(f"speed:        {r['samples_per_second']:,.1f} samples/s in all, "
          f"{r['samples_per_second_per_stream']:,.1f} per stream (median; repeats "
          + ", ".join(f"{x:,.0f}" for x in r["samples_per_second_repeats"]) + ")")
    lu = r["latency_us"]
    print(f"latency (us): p50 {lu['p50']:.1f}  p99 {lu['p99']:.1f}  mean {lu['mean']:.1f}  max {lu['max']:.1f}"
          + (f"  (per step of all {batch} streams)" if batch > 1 else ""))
    for t in r["tick_cost_us"]:
        print(f"  top level {t['level']:2d}: {t['mean_step_us']:9.1f} us mean over {t['steps']:,} steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
