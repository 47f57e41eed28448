#!/usr/bin/python3
"""Parity of tools/sequnet_torch.py against the golden reference fixtures.

For each fixture NAME: load NAME.pt into our model, prime with the prompt (pad with
silence to input_size, keep the last input_size), feed the steps, and compare the logits
at the last prompt sample and after each step with NAME.logits.f32 ((steps+1) x 256).
The whole thing is one valid pass over window + steps, with the last prompt sample at
n = 0 (clock phase 0), reading the outputs at n = 0 .. steps.

Runs under pytest (`/usr/bin/python3 -m pytest tools/`) or plain (`python3 tools/test_parity.py`).
"""
import json
import os
import sys
import unittest

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sequnet_torch as st  # noqa: E402

FIXTURES = [d for d in (os.path.join(HERE, "..", "Tests", "Fixtures"), "/work/shared/golden") if os.path.isdir(d)][0]
NAMES = sorted(f[:-5] for f in os.listdir(FIXTURES) if f.endswith(".json"))
TOL = 1e-4


def load_cfg(name):
    with open(os.path.join(FIXTURES, name + ".json")) as f:
        return json.load(f)


def run_fixture(name, **fwd):
    cfg = load_cfg(name)
    model, _ = st.load_checkpoint(os.path.join(FIXTURES, name + ".pt"),
                                  wavenet_layers=cfg.get("layers"))
    model.eval()
    prompt = np.fromfile(os.path.join(FIXTURES, name + ".prompt.u8"), dtype=np.uint8)
    steps = np.fromfile(os.path.join(FIXTURES, name + ".steps.u8"), dtype=np.uint8)
    want = np.fromfile(os.path.join(FIXTURES, name + ".logits.f32"), dtype="<f4").reshape(len(steps) + 1, -1)
    window = st.prime_window(prompt.tolist(), cfg["input_size"])
    seq = torch.tensor([window + steps.tolist()], dtype=torch.long)
    with torch.no_grad():
        out, n0 = model(seq, first_n=-(len(window) - 1), **fwd)
    out = out[0].double().numpy().T  # [T, classes], row t = prediction at sample n0 + t
    got = out[-n0:][:len(want)]
    assert got.shape == want.shape, (got.shape, want.shape, n0)
    err = np.abs(got - want)
    return model, cfg, err


class Parity(unittest.TestCase):
    def test_geometry(self):
        for name in NAMES:
            cfg = load_cfg(name)
            model, _ = st.load_checkpoint(os.path.join(FIXTURES, name + ".pt"), wavenet_layers=cfg.get("layers"))
            self.assertEqual(model.input_size, cfg["input_size"], name)
            self.assertEqual(model.cycles, cfg["cycles"], name)
            self.assertEqual(st.count_params(model), cfg["parameters"], name)
        self.assertEqual(st.Sequnet(180, 11, 2, 5).input_size, 32761)
        self.assertEqual(st.WaveNet(13, 4, 128, 128, 512).input_size, 32765)

    def test_logits(self):
        for name in NAMES:
            with self.subTest(name=name):
                _, _, err = run_fixture(name)
                print(f"\n{name}: max abs err {err.max():.3g} (row 0: {err[0].max():.3g}, "
                      f"worst row {int(err.max(1).argmax())})")
                self.assertLess(err.max(), TOL)


if __name__ == "__main__":
    unittest.main(verbosity=2)
