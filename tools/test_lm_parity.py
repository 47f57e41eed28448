#!/usr/bin/python3
"""Parity of tools/lm_models.py and tools/ptb_data.py with the official char_cnn / word_cnn code.

* The golden character LMs (Tests/Fixtures/symbolic/char_{sequnet,tcn}_small.state.pt, made
  with the official code) load into our modules with exactly their names, order and shapes;
  fed the fixture's window they give its logits (<= 1e-4) and its window cross-entropy, and
  the official windowed test-set figure (<= 1e-5 nats).
* The window rule: check_padding gives W/S 397/325 (char) and 117/45 (word) for k=3, L=4,
  the streaming clock of a window's first input is 4; the Seq-U-Net refuses other lengths.
* The streaming view (SPEC "Streaming", "Phase"), stepped token by token in float64: from
  zero state at clock c0, or continuing a longer stream in the same phase, it gives the
  fixture's scored logits; one clock off it does not. The TCN has no phase.
* The vocabularies and streams: 49 characters in the SPEC's order, equal to the fixtures'
  vocab.txt (also as written by `ptb_data.py --write-vocab`); the fixture windows are the test
  stream at their offsets; 10,000 words with the SPEC's indices; stream lengths.
* The paper's parameter counts (char models 5.9M).

    python3 tools/test_lm_parity.py      (or: make lm-parity)
"""
import json
import os
import sys
import tempfile
import unittest

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lm_models as lm  # noqa: E402
import ptb_data as pd  # noqa: E402

FIXTURES = os.path.join(HERE, "..", "Tests", "Fixtures", "symbolic")
NAMES = ("char_sequnet_small", "char_tcn_small")
LOGIT_TOL, CE_TOL = 1e-4, 1e-5
SPEC_CHARS = list(" aerbnkotlizcwyusfmghd-qpx<>Njv.'1950&$324867#\\/*")


def fixture(name):
    path = os.path.join(FIXTURES, name)
    with open(path + ".json") as f:
        cfg = json.load(f)
    feed = np.fromfile(path + ".feed.u16", dtype="<u2").astype(np.int64)
    logits = np.fromfile(path + ".logits.f32", dtype="<f4").reshape(-1, cfg["vocab_size"])
    return cfg, feed, logits


def lrelu(x):
    return np.where(x >= 0, x, 0.01 * x)


class StreamingSequnet:
    """SPEC-symbolic.md "Streaming" for the plain Seq-U-Net LM, one token per step, float64:
    what a streaming engine computes. Buffers start at zero; `clock` counts inputs."""

    def __init__(self, state, clock=0):
        sd = {k: v.double().numpy() for k, v in state.items()}
        self.sd = sd
        self.L = 1 + len({k.split(".")[2] for k in sd if k.startswith("conv.downsampling_blocks.")})
        self.k = sd["conv.bottleneck_conv.block.0.weight"].shape[2]
        self.clock = clock
        zeros = lambda n, c: [np.zeros(c) for _ in range(n)]  # noqa: E731
        k, L = self.k, self.L
        w = lambda name: sd[f"conv.{name}.block.0.weight"]  # noqa: E731
        self.c1 = [zeros(k, w(f"downsampling_blocks.{i}.conv1").shape[1]) for i in range(L - 1)]
        self.c2 = [zeros(k, w(f"downsampling_blocks.{i}.conv2").shape[1]) for i in range(L - 1)]
        self.bott = zeros(k, w("bottleneck_conv").shape[1])
        self.tc = [zeros((k + 1) // 2, w(f"upsampling_blocks.{i}.conv1").shape[0]) for i in range(L - 1)]
        self.uc = [zeros(k, w(f"upsampling_blocks.{i}.conv2").shape[1]) for i in range(L - 1)]
        self.short = [None] * (L - 1)

    def conv(self, name, buf):
        W, b = self.sd[f"conv.{name}.block.0.weight"], self.sd[f"conv.{name}.block.0.bias"]
        return b + sum(W[:, :, j] @ buf[j] for j in range(self.k))

    @staticmethod
    def push(buf, x):
        buf.pop(0)
        buf.append(x)

    def step(self, token):
        """logits after feeding `token` at the current clock."""
        sd, L, k, t = self.sd, self.L, self.k, self.clock
        ticks = lambda i: t % (2 ** i) == 0  # noqa: E731
        x = sd["encoder.weight"][token]
        for i in range(L - 1):
            if not ticks(i):
                break
            self.push(self.c1[i], x)
            self.short[i] = lrelu(self.conv(f"downsampling_blocks.{i}.conv1", self.c1[i]))
            self.push(self.c2[i], self.short[i])
            if ticks(i + 1):
                x = lrelu(self.conv(f"downsampling_blocks.{i}.conv2", self.c2[i]))
        v = None
        if ticks(L - 1):
            self.push(self.bott, x)
            v = lrelu(self.conv("bottleneck_conv", self.bott))
        top = max(i for i in range(L) if ticks(i))
        for i in range(min(top, L - 2), -1, -1):
            if ticks(i + 1):
                self.push(self.tc[i], v)
            r = 0 if ticks(i + 1) else 1
            W = sd[f"conv.upsampling_blocks.{i}.conv1.block.0.weight"]
            up = sd[f"conv.upsampling_blocks.{i}.conv1.block.0.bias"].copy()
            m = 0
            while r + 2 * m <= k - 1:
                up += W[:, :, r + 2 * m].T @ self.tc[i][-1 - m]
                m += 1
            self.push(self.uc[i], np.concatenate([lrelu(up), self.short[i]]))
            v = lrelu(self.conv(f"upsampling_blocks.{i}.conv2", self.uc[i]))
        y = sd["conv.output_conv.block.0.weight"][:, :, 0] @ v + sd["conv.output_conv.block.0.bias"]
        self.clock += 1
        return sd["decoder.weight"] @ y + sd["decoder.bias"]


class LMParity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(1)

    def load(self, name, cfg):
        path = os.path.join(FIXTURES, name + ".state.pt")
        model = lm.load_state(path)
        state = torch.load(path, map_location="cpu")
        self.assertEqual(list(model.state_dict().keys()), list(state.keys()), name)
        self.assertEqual({k: list(v.shape) for k, v in model.state_dict().items()}, cfg["state_dict"], name)
        self.assertEqual(lm.count_params(model), cfg["parameters"], name)
        self.assertEqual(model.family, {"sequnet-plain": "sequnet", "tcn": "tcn"}[cfg["model_type"]])
        self.assertEqual(model.levels, cfg["levels"])
        self.assertEqual(lm.channel_list(model.nhid, model.levels, model.emsize), cfg["channels"])
        self.assertEqual(model.kernel_size, cfg["kernel_size"])
        self.assertEqual((model.vocab_size, model.emsize), (cfg["vocab_size"], cfg["embedding_dim"]))
        self.assertEqual((model.window, model.scored), (cfg["window"]["W"], cfg["window"]["S"]))
        # tied: one storage
        self.assertEqual(model.decoder.weight.data_ptr(), model.encoder.weight.data_ptr())
        return model

    def test_window_logits_and_ce(self):
        for name in NAMES:
            with self.subTest(name=name):
                cfg, feed, want = fixture(name)
                model = self.load(name, cfg)
                W, S = model.window, model.scored
                self.assertEqual(len(feed), W)
                with torch.no_grad():
                    z = model.scored_logits(torch.from_numpy(feed)[None])[0]
                err = np.abs(z.numpy().astype(np.float64) - want).max()
                print(f"\n{name}: W={W} S={S} max |logit error| {err:.3g}")
                self.assertEqual(tuple(z.shape), want.shape)
                self.assertLess(err, LOGIT_TOL)
                np.testing.assert_allclose(z[0, :5].numpy(), cfg["check"]["logits_row0_first5"], atol=LOGIT_TOL)
                np.testing.assert_allclose(z[-1, :5].numpy(), cfg["check"]["logits_last_row_first5"], atol=LOGIT_TOL)
                targets = torch.from_numpy(np.append(feed[W - S + 1:], cfg["window"]["next_token"]))
                ce = F.cross_entropy(z, targets).item()
                self.assertAlmostEqual(ce, cfg["window_mean_ce_nats"], delta=CE_TOL)

    def test_test_set_ce(self):
        """the whole test text as one stream, windowed as the official evaluate() does."""
        stream = pd.char_stream("test")
        for name in NAMES:
            with self.subTest(name=name):
                cfg = fixture(name)[0]
                model = self.load(name, cfg)
                ce, scored = lm.evaluate(model, stream)
                n = len(lm.window_starts(len(stream), model.window, model.scored, "char"))
                self.assertEqual(scored, n * model.scored)
                print(f"\n{name}: test {n} windows, bpc {lm.bpc(ce):.6f} (official {cfg['test_set_bpc_official_eval']:.6f})")
                self.assertAlmostEqual(ce, cfg["test_set_ce_official_eval"], delta=CE_TOL)

    def test_fixture_windows_are_the_test_stream(self):
        stream = pd.char_stream("test")
        for name in NAMES:
            with self.subTest(name=name):
                cfg, feed, _ = fixture(name)
                w = cfg["window"]
                self.assertEqual(len(stream), w["stream_length"])
                off = w["offset_in_stream"]
                self.assertEqual(off, w["window_index"] * w["S"])
                self.assertIn(off, lm.window_starts(len(stream), w["W"], w["S"], "char"))
                np.testing.assert_array_equal(stream[off:off + w["W"]], feed)
                self.assertEqual(stream[off + w["W"]], w["next_token"])
                np.testing.assert_array_equal(feed[:10], cfg["check"]["feed_first10"])

    def test_streaming_phase(self):
        """SPEC "Phase": a streaming Seq-U-Net started from zero state with the window's first
        token at clock c0 = (-(W-1)) mod 2^(L-1) gives the window's scored logits; so does one
        that continues a longer stream in the same phase; one clock off does not."""
        name = "char_sequnet_small"
        cfg, feed, want = fixture(name)
        state = torch.load(os.path.join(FIXTURES, name + ".state.pt"), map_location="cpu")
        W, S = cfg["window"]["W"], cfg["window"]["S"]
        c0 = lm.first_clock(W, cfg["levels"])
        stream = pd.char_stream("test")
        off = cfg["window"]["offset_in_stream"]

        def run(start, clock):
            net = StreamingSequnet(state, clock)
            rows = [net.step(int(tok)) for tok in stream[start:off + W]]
            return np.array(rows[-S:])

        err = np.abs(run(off, c0) - want).max()
        self.assertLess(err, LOGIT_TOL)
        top = 2 ** (cfg["levels"] - 1)
        self.assertLess(np.abs(run(off - 5 * top, c0) - want).max(), LOGIT_TOL)  # same phase, more context
        self.assertGreater(np.abs(run(off, c0 + 1) - want).max(), 0.01)      # wrong phase

    def test_tcn_has_no_phase(self):
        """the TCN's scored logits are the same from zero state or continuing a stream."""
        name = "char_tcn_small"
        cfg, feed, want = fixture(name)
        model = self.load(name, cfg)
        off, W, S = cfg["window"]["offset_in_stream"], cfg["window"]["W"], cfg["window"]["S"]
        x = torch.from_numpy(np.array(pd.char_stream("test")[off - 37:off + W]))[None]
        with torch.no_grad():
            z = model(x)[0, -S:].numpy()
        self.assertLess(np.abs(z - want).max(), LOGIT_TOL)

    def test_window_rule(self):
        self.assertEqual(lm.check_padding(320, 4, 3), (397, 325))
        self.assertEqual(lm.check_padding(45, 4, 3), (117, 45))
        self.assertEqual(lm.first_clock(397, 4), 4)
        self.assertEqual(lm.first_clock(117, 4), 4)
        cfg = fixture("char_sequnet_small")[0]
        self.assertEqual(lm.first_clock(cfg["window"]["W"], cfg["levels"]), cfg["alignment"]["clock_of_first_input"])
        # every (W, S) of the rule is consistent with the layer arithmetic of the model
        for L in (2, 3, 4, 5):
            for k in (3, 5):
                for target in (1, 10, 45, 320):
                    W, S = lm.check_padding(target, L, k)
                    self.assertGreaterEqual(S, target)
                    self.assertEqual(W % 2, 1)
                    m = lm.ValidSequnet(4, [6] * (L - 1) + [4], 4, k, target)
                    self.assertEqual(tuple(m(torch.zeros(1, 4, W)).shape), (1, 4, S))
        model = lm.LMModel("sequnet", "word", 50, 8, 8, 4, 3)
        self.assertEqual((model.window, model.scored), (117, 45))
        with self.assertRaises(ValueError):
            model(torch.zeros(1, 118, dtype=torch.long))
        tcn = lm.LMModel("tcn", "char", 49, 8, 8, 4, 3)
        self.assertEqual((tcn.window, tcn.scored), (400, 320))

    def test_char_vocab(self):
        v = list(pd.char_vocab())
        self.assertEqual(v, SPEC_CHARS)
        for name in NAMES:
            with open(os.path.join(FIXTURES, name + ".vocab.txt"), encoding="utf-8") as f:
                fixture_text = f.read()
            self.assertEqual(fixture_text.split("\n")[:-1], v)
            self.assertEqual(fixture(name)[0]["vocab"], v)
            with tempfile.TemporaryDirectory() as tmp:
                out = os.path.join(tmp, "v.txt")
                pd.main(["--write-vocab", "char", out])
                with open(out, "rb") as f:
                    written = f.read()
            with open(os.path.join(FIXTURES, name + ".vocab.txt"), "rb") as f:
                self.assertEqual(written, f.read())
        self.assertEqual([len(pd.char_stream(s)) for s in pd.SPLITS], [5269890, 413262, 464989])
        # <eos> is five characters; each line starts with a space
        test = pd.char_text("test")
        self.assertEqual(len(test), len(pd.read_split("test")) + 4 * pd.read_split("test").count("\n"))
        self.assertEqual(test[:1], " ")

    def test_word_vocab(self):
        v = pd.word_vocab()
        self.assertEqual(len(v), 10000)
        for i, w in {0: "aer", 1: "banknote", 2: "berlitz", 24: "<eos>", 26: "<unk>", 27: "N", 32: "the",
                     9999: "unilab"}.items():
            self.assertEqual(v[i], w)
        test = pd.word_stream("test")
        self.assertEqual(len(test), 82430)
        rows = pd.batchify(test, 16)
        self.assertEqual(rows.shape, (16, 5151))
        np.testing.assert_array_equal(rows[3], test[3 * 5151:4 * 5151])
        starts = lm.window_starts(rows.shape[1], 117, 45, "word")
        self.assertEqual(starts[0], 0)
        self.assertTrue(all(i + 117 < 5151 - 1 for i in starts))
        self.assertGreaterEqual(starts[-1] + 45 + 117, 5151 - 1)

    def test_paper_parameter_counts(self):
        counts = {}
        for (level, family), c in lm.PAPER_CONFIGS.items():
            V = len(pd.vocab(level))
            counts[level, family] = lm.count_params(lm.LMModel(family, level, V, **c))
        self.assertEqual(counts["char", "tcn"], 5923249)
        self.assertEqual(counts["char", "sequnet"], 5905139)
        for family in ("tcn", "sequnet"):
            self.assertLess(abs(counts["char", family] - 5.9e6) / 5.9e6, 0.01)


if __name__ == "__main__":
    unittest.main(verbosity=2)
