#!/usr/bin/python3
"""train.py's input noise and self-sampled inputs change what the model sees, never what it is
scored on."""
import os
import sys
import unittest

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sequnet_torch as st  # noqa: E402
from train import crop_loss, perturb_classes, self_sampled_inputs  # noqa: E402


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



def model_that_always_predicts(*classes):
    """A small Seq-U-Net that, whatever it sees, gives the classes equal probability and
    every other class none."""
    torch.manual_seed(0)
    model = st.Sequnet(features=8, levels=3, depth=1, kernel_size=3)
    with torch.no_grad():
        model.output_conv[1].weight.zero_()
        model.output_conv[1].bias.fill_(-1e4)
        model.output_conv[1].bias[list(classes)] = 0.0
    return model


class SelfSampledInputsTest(unittest.TestCase):
    def test_no_share_means_the_clean_crops(self):
        model = model_that_always_predicts(7)
        crops = torch.randint(0, 256, (1, model.input_size + 30))
        self.assertIsNone(self_sampled_inputs(model, crops, 0, 0.0, np.random.default_rng(0),
                                              torch.Generator().manual_seed(0)))

    def test_replacements_are_the_models_own_samples_and_only_where_it_predicts(self):
        model = model_that_always_predicts(7)
        crops = torch.randint(100, 256, (64, model.input_size + 200))  # never class 7
        before = crops.clone()
        for phase in (0, 1, model.cycles - 1):
            seen = self_sampled_inputs(model, crops, phase, 1.0, np.random.default_rng(phase),
                                       torch.Generator().manual_seed(phase))
            self.assertTrue(torch.equal(crops, before))
            changed = seen != crops
            self.assertTrue(bool((seen[changed] == 7).all()), "a replacement is not a model sample")
            with torch.no_grad():
                logits, n_out = model(crops[:, :-1], first_n=phase)
            start, T = n_out - phase + 1, logits.shape[-1]
            self.assertFalse(bool(changed[:, :start].any()), "a class the pass does not predict changed")
            self.assertFalse(bool(changed[:, start + T:].any()))
            # shares drawn per crop on [0, 1]: about half replaced overall, some crops nearly
            # untouched and some nearly all replaced
            per_crop = changed[:, start:start + T].double().mean(dim=1)
            self.assertAlmostEqual(float(per_crop.mean()), 0.5, delta=0.1)
            self.assertLess(float(per_crop.min()), 0.1)
            self.assertGreater(float(per_crop.max()), 0.9)


    def test_replacements_are_drawn_from_the_predicted_distribution(self):
        model = model_that_always_predicts(7, 9)
        crops = torch.randint(100, 256, (32, model.input_size + 500))
        seen = self_sampled_inputs(model, crops, 0, 1.0, np.random.default_rng(0),
                                   torch.Generator().manual_seed(0))
        replaced = seen[seen != crops]
        self.assertGreater(len(replaced), 3000)
        self.assertTrue(bool(((replaced == 7) | (replaced == 9)).all()))
        self.assertAlmostEqual(float((replaced == 7).double().mean()), 0.5, delta=0.05)


if __name__ == "__main__":
    unittest.main()
