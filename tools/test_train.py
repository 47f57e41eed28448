#!/usr/bin/python3
"""train.py's input noise perturbs what the model sees, never what it is scored on."""
import os
import sys
import unittest

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sequnet_torch as st  # noqa: E402
from train import crop_loss, perturb_classes  # noqa: E402


class InputNoiseTest(unittest.TestCase):
    def test_zero_noise_means_the_clean_crops(self):
        crops = torch.randint(0, 256, (2, 100))
        self.assertIsNone(perturb_classes(crops, 0.0, np.random.default_rng(0)))

    def test_noise_stays_in_the_class_range_and_leaves_the_crops_alone(self):
        crops = torch.tensor([[0, 1, 128, 254, 255] * 2000])
        before = crops.clone()
        noisy = perturb_classes(crops, 8.0, np.random.default_rng(0))
        self.assertTrue(torch.equal(crops, before))
        self.assertEqual(noisy.dtype, torch.int64)
        self.assertGreaterEqual(int(noisy.min()), 0)
        self.assertLessEqual(int(noisy.max()), 255)
        self.assertFalse(torch.equal(noisy, crops))

    def test_the_size_of_the_noise_is_drawn_per_crop_up_to_the_maximum(self):
        crops = torch.full((400, 2000), 128)
        noisy = perturb_classes(crops, 3.0, np.random.default_rng(1))
        stds = (noisy - crops).double().std(dim=1)
        # a uniform draw on [0, 3] per crop: some near-clean crops, some near the maximum,
        # none above it (rounding adds at most ~0.3 to a std this size)
        self.assertLess(float(stds.min()), 0.3)
        self.assertGreater(float(stds.max()), 2.7)
        self.assertLess(float(stds.max()), 3.3)
        self.assertAlmostEqual(float(stds.mean()), 1.5, delta=0.15)

    def test_the_loss_scores_the_clean_targets_whatever_the_model_sees(self):
        torch.manual_seed(0)
        model = st.Sequnet(features=8, levels=3, depth=1, kernel_size=3)
        crops = torch.randint(0, 256, (1, model.input_size + 30))
        noisy = perturb_classes(crops, 4.0, np.random.default_rng(2))
        with torch.no_grad():
            clean_loss, _ = crop_loss(model, crops, first_n=0)
            noisy_loss, _ = crop_loss(model, crops, first_n=0, inputs=noisy)
            # what the noisy run must equal: the model fed the noisy classes, scored on
            # the clean ones, computed here without crop_loss
            logits, n_out = model(noisy[:, :-1], first_n=0)
            start = n_out + 1
            expected = torch.nn.functional.cross_entropy(
                logits, crops[:, start:start + logits.shape[-1]])
        self.assertAlmostEqual(float(noisy_loss), float(expected), places=6)
        self.assertNotAlmostEqual(float(noisy_loss), float(clean_loss), places=3)


if __name__ == "__main__":
    unittest.main()
