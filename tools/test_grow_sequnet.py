#!/usr/bin/python3
"""grow_sequnet widens a Seq-U-Net without changing what it computes, and the new channels can learn."""
import os
import subprocess
import sys
import tempfile
import unittest

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sequnet_torch as st  # noqa: E402
from grow_sequnet import widen_state_dict  # noqa: E402

# depth 2 and 4 levels reach every kind of layer: input conv, residual convs, strided down
# convs, bottleneck, transposed up convs, the up path's concat convs and the output conv
NARROW = dict(features=8, levels=4, depth=2, kernel_size=5, num_classes=256)


def narrow_and_wide(seed=0, wide_features=12):
    torch.manual_seed(seed)
    narrow = st.Sequnet(**NARROW)
    wide = st.Sequnet(**{**NARROW, "features": wide_features})
    wide.load_state_dict(widen_state_dict(narrow.state_dict(), wide.state_dict()))
    return narrow, wide


def random_classes(model, extra=40, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (2, model.input_size + extra), generator=g)


class GrowSequnetTest(unittest.TestCase):
    def test_wide_model_computes_the_narrow_models_logits_at_every_clock_phase(self):
        narrow, wide = narrow_and_wide()
        x = random_classes(narrow)
        with torch.no_grad():
            for phase in range(narrow.cycles):
                a, n_a = narrow(x, first_n=phase)
                b, n_b = wide(x, first_n=phase)
                self.assertEqual(n_a, n_b)
                self.assertEqual(a.shape, b.shape)
                self.assertLess((a - b).abs().max().item(), 1e-5 * max(1.0, a.abs().max().item()))

    def test_new_channels_are_live_but_silent(self):
        narrow, wide = narrow_and_wide()
        x = random_classes(narrow)
        # silent: whatever the new channels carry, the logits do not move...
        with torch.no_grad():
            before, _ = wide(x)
            wide.input_conv.weight[NARROW["features"]:] += 5.0
            after, _ = wide(x)
        self.assertEqual((before - after).abs().max().item(), 0.0)
        # ...live: they are nonzero, so the zeroed weights out of them get a gradient at once
        logits, _ = wide(x)
        logits.logsumexp(1).mean().backward()
        grad_out = wide.output_conv[1].weight.grad[:, NARROW["features"]:]
        self.assertGreater(grad_out.abs().max().item(), 0.0)

    def test_command_writes_a_checkpoint_train_py_resumes_and_refuses_to_overwrite(self):
        torch.manual_seed(0)
        narrow = st.Sequnet(**NARROW)
        with tempfile.TemporaryDirectory() as tmp:
            small, wide = os.path.join(tmp, "small.pt"), os.path.join(tmp, "wide.pt")
            torch.save({"model_state_dict": narrow.state_dict(), "optimizer_state_dict": {},
                        "step": 123, "elapsed_seconds": 456.0, "config": narrow.config()}, small)
            grow = [sys.executable, os.path.join(HERE, "grow_sequnet.py"), small, wide]
            done = subprocess.run(grow + ["--features", "16"], capture_output=True, text=True)
            self.assertEqual(done.returncode, 0, done.stderr)
            ck = torch.load(wide)
            self.assertEqual(ck["config"]["features"], 16)
            self.assertEqual((ck["step"], ck["elapsed_seconds"]), (123, 456.0))
            self.assertIsNone(ck["optimizer_state_dict"])  # Adam's moments had the old shapes
            st.Sequnet.from_state_dict(ck["model_state_dict"])  # loads strictly at C=16

            again = subprocess.run(grow + ["--features", "32"], capture_output=True, text=True)
            self.assertEqual(again.returncode, 1)
            self.assertIn("exists", again.stderr)
            os.remove(wide)
            narrower = subprocess.run(grow + ["--features", "8"], capture_output=True, text=True)
            self.assertEqual(narrower.returncode, 1)
            self.assertIn("must exceed", narrower.stderr)
            self.assertFalse(os.path.exists(wide))


if __name__ == "__main__":
    unittest.main()
