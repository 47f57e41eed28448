#!/usr/bin/python3
"""Parity of tools/music_models.py and tools/music_data.py with the official poly_music code.

* The golden music checkpoints (Tests/Fixtures/symbolic/music_{sequnet,tcn}_jsb.state.pt,
  made with the official code) load into our modules with exactly their names and shapes;
  fed the fixture's test sequence they give its logits (<= 1e-4) and its per-sequence NLL
  (<= 1e-3), and the official NLL of the whole JSB test split (<= 1e-3).
* The pre-roll rule: the Seq-U-Net's outputs after n-T zero frames fed before the sequence
  (the padded conv stack run on them explicitly) are the fixture's, and without the zero
  frames they are not; the TCN must get no zero frame.
* The piano-roll text files equal the .mat files, every split of both sets.
* The paper's parameter counts (JSB 522K / 534K, Nottingham 1.7M each).

    python3 tools/test_music_parity.py      (or: make music-parity)
"""
import json
import os
import sys
import unittest

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import music_data as md  # noqa: E402
import music_models as mm  # noqa: E402

FIXTURES = os.path.join(HERE, "..", "Tests", "Fixtures", "symbolic")
NAMES = ("music_sequnet_jsb", "music_tcn_jsb")
LOGIT_TOL, NLL_TOL = 1e-4, 1e-3


def fixture(name):
    path = os.path.join(FIXTURES, name)
    with open(path + ".json") as f:
        cfg = json.load(f)
    feed = np.fromfile(path + ".feed.u8", dtype=np.uint8).reshape(-1, mm.KEYS)
    logits = np.fromfile(path + ".logits.f32", dtype="<f4").reshape(-1, mm.KEYS)
    with open(path + ".nll.txt") as f:
        nll = {k: float(v) for k, v in (line.split() for line in f if line.strip() and not line.startswith("#"))}
    return cfg, feed, logits, nll


def targets(cfg, feed):
    """targets seq[1:] = feed[1:] plus the final frame the JSON lists (not in the feed)."""
    last = np.zeros((1, mm.KEYS), dtype=np.float32)
    last[0, cfg["data"]["last_target_active_keys"]] = 1.0
    return np.concatenate([feed[1:].astype(np.float32), last])


class MusicParity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(1)

    def load(self, name, cfg):
        model = mm.load_state(os.path.join(FIXTURES, name + ".state.pt"))
        state = torch.load(os.path.join(FIXTURES, name + ".state.pt"), map_location="cpu")
        self.assertEqual(list(model.state_dict().keys()), list(state.keys()), name)
        self.assertEqual({k: list(v.shape) for k, v in model.state_dict().items()}, cfg["state_dict"], name)
        self.assertEqual(mm.count_params(model), cfg["parameters"], name)
        self.assertEqual(model.levels, cfg["levels"])
        self.assertEqual(model.kernel_size, cfg["kernel_size"])
        return model

    def test_logits_and_nll(self):
        for name in NAMES:
            with self.subTest(name=name):
                cfg, feed, want, nll = fixture(name)
                model = self.load(name, cfg)
                T = len(feed)
                x = torch.from_numpy(feed.T.astype(np.float32))[None]
                with torch.no_grad():
                    z = model(x)
                got = z[0].numpy().T
                err = np.abs(got.astype(np.float64) - want).max()
                print(f"\n{name}: T={T} max |logit error| {err:.3g}")
                self.assertLess(err, LOGIT_TOL)
                y = torch.from_numpy(targets(cfg, feed).T)[None]
                per_frame = mm.nll_sum(z, y).item() / T
                self.assertAlmostEqual(per_frame, nll["nll_per_frame"], delta=NLL_TOL)
                self.assertEqual(int(nll["frames"]), T)
                # mm.evaluate on the whole sequence [T+1, 88] gives the same number
                seq = np.concatenate([feed[:1].astype(np.float32), targets(cfg, feed)])
                self.assertAlmostEqual(mm.evaluate(model, [seq])[0], nll["nll_per_frame"], delta=NLL_TOL)

    def test_test_set_nll(self):
        """the whole JSB test split, frame-weighted, as the official evaluate() gave it."""
        test = md.load_split("jsb", "test")
        for name in NAMES:
            with self.subTest(name=name):
                cfg = fixture(name)[0]
                nll, frames = mm.evaluate(self.load(name, cfg), test)
                self.assertEqual(frames, 4648)
                self.assertAlmostEqual(nll, cfg["test_set_nll_official_eval"], delta=NLL_TOL)

    def test_sequnet_preroll(self):
        """streaming view: n-T zero frames from clock 0, then the sequence; outputs after the
        zeros are the fixture's. Dropping the pre-roll changes them (errors of 1-5)."""
        name = "music_sequnet_jsb"
        cfg, feed, want, _ = fixture(name)
        model = self.load(name, cfg)
        T = len(feed)
        n = mm.padded_length(T, model.levels)
        self.assertEqual(n, cfg["alignment"]["padded_length"])
        self.assertEqual(n - T, cfg["alignment"]["preroll_zero_frames"])
        x = torch.from_numpy(feed.T.astype(np.float32))[None]
        with torch.no_grad():
            streamed = model.conv(F.pad(x, (n - T, 0)))[0, :, n - T:].numpy().T
            self.assertLess(np.abs(streamed - want).max(), LOGIT_TOL)
            # the sequence alone (its last 2^(L-1)k+1 frames so that the length is valid):
            # no zero frames in front -> different outputs
            top = 2 ** (model.levels - 1)
            m = T - ((T - 1) % top)
            alone = model.conv(x[..., T - m:])[0].numpy().T
        self.assertGreater(np.abs(alone - want[T - m:]).max(), 0.1)

    def test_padded_length(self):
        self.assertEqual(mm.padded_length(100, 2), 101)  # SPEC examples
        self.assertEqual(mm.padded_length(190, 4), 193)
        self.assertEqual(mm.padded_length(1, 4), 9)      # b >= 2
        self.assertEqual(mm.padded_length(9, 4), 9)
        self.assertEqual(mm.padded_length(10, 4), 17)
        self.assertEqual(mm.padded_length(2, 2), 3)

    def test_tcn_needs_no_preroll(self):
        """the TCN is time-invariant: a zero frame in front changes its outputs (so the engine
        must not pre-roll it), and a longer sequence leaves earlier outputs unchanged."""
        name = "music_tcn_jsb"
        cfg, feed, want, _ = fixture(name)
        model = self.load(name, cfg)
        x = torch.from_numpy(feed.T.astype(np.float32))[None]
        with torch.no_grad():
            padded = model(F.pad(x, (1, 0)))[0, :, 1:].numpy().T
            prefix = model(x[..., :40])[0].numpy().T
        self.assertGreater(np.abs(padded - want).max(), 1e-3)
        self.assertLess(np.abs(prefix - want[:40]).max(), LOGIT_TOL)

    def test_paper_parameter_counts(self):
        paper = {("jsb", "sequnet"): 522e3, ("jsb", "tcn"): 534e3,
                 ("nottingham", "sequnet"): 1.7e6, ("nottingham", "tcn"): 1.7e6}
        for (data, family), c in mm.PAPER_CONFIGS.items():
            n = mm.count_params(mm.MusicModel(family, c["levels"], c["channels"], c["kernel_size"]))
            self.assertLess(abs(n - paper[(data, family)]) / paper[(data, family)], 0.05, (data, family, n))
        self.assertEqual(mm.count_params(mm.MusicModel("sequnet", 2, 175, 3)), 521938)
        self.assertEqual(mm.count_params(mm.MusicModel("tcn", 2, 220, 3)), 534468)

    def test_text_equals_mat(self):
        try:
            import scipy.io  # noqa: F401
        except ImportError:
            self.skipTest("scipy is not installed (scripts/install-deps.sh --tools)")
        counts = {("jsb", "train"): 229, ("jsb", "valid"): 76, ("jsb", "test"): 77,
                  ("nottingham", "train"): 694, ("nottingham", "valid"): 173, ("nottingham", "test"): 170}
        for data in md.DATASETS:
            for split in md.SPLITS:
                with self.subTest(data=data, split=split):
                    text, mat = md.load_split(data, split), md.load_mat_split(data, split)
                    self.assertEqual(len(text), counts[(data, split)])
                    self.assertEqual(len(text), len(mat))
                    for i, (a, b) in enumerate(zip(text, mat)):
                        self.assertEqual(a.shape, b.shape, (data, split, i))
                        self.assertTrue(np.array_equal(a, b), (data, split, i))

    def test_parse_rolls(self):
        rolls = md.parse_rolls("# c\n60 64\n\n21 108\n---\n\n", "t")
        self.assertEqual([r.shape for r in rolls], [(3, 88), (1, 88)])
        self.assertEqual(list(np.flatnonzero(rolls[0][0])), [39, 43])
        self.assertEqual(rolls[0][1].sum(), 0)
        self.assertEqual(list(np.flatnonzero(rolls[0][2])), [0, 87])
        self.assertEqual(rolls[1].sum(), 0)
        with self.assertRaises(ValueError):
            md.parse_rolls("# c\n20\n", "t")
        self.assertEqual([r.shape for r in md.parse_rolls("60\n\n", "t")], [(2, 88)])


if __name__ == "__main__":
    unittest.main(verbosity=2)
