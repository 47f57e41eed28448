#!/usr/bin/python3
"""Writes the small whole-module checkpoints of the reader's tests to
Tests/Fixtures/checkpoints/ (what `torch.save(model, f)` writes, as the
official train.py saves its models):

    module_tree.pt           torch zip (torch >= 1.6), the whole module
    module_tree.legacy.pt    the same module, legacy format (torch < 1.6)
    module_tree.state.pt     model.state_dict(), torch zip: what both must read as
    module_float64.pt        the module in float64 (refused: not float32)
    module_no_parameters.pt  a ReLU alone (refused: nothing to load)

The module tree has what the real checkpoints have, small: a class of its
own (`tiny_model.Tiny`), weight norm (weight_g/weight_v parameters, a plain
`weight` attribute and a WeightNorm forward pre-hook), a submodule reached
under two names (`conv` and `body.0`), a transposed conv, a parameter that is
None (Linear without bias), a buffer and a non-persistent buffer.

Legacy files embed each module class's source; it is replaced by None here
(as torch does when the source cannot be found) to keep the file small enough
to seed the fuzzers. Run with the local torch:
    /usr/bin/python3 tools/make_module_fixtures.py
"""

import os
import sys
import types

import torch
import torch.nn as nn
import torch.serialization

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "checkpoints")

# The model class lives in a module of its own name, like the paper's sequnet.Sequnet.
tiny_model = types.ModuleType("tiny_model")
sys.modules["tiny_model"] = tiny_model


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.utils.weight_norm(nn.Conv1d(3, 4, 3))
        self.body = nn.Sequential(self.conv, nn.LeakyReLU(), nn.ConvTranspose1d(4, 2, 3, stride=2))
        self.head = nn.Linear(2, 5, bias=False)
        self.register_buffer("scale", torch.linspace(0.5, 1.5, 5))
        self.register_buffer("scratch", torch.zeros(3), persistent=False)

    def forward(self, x):
        return self.head(self.body(x).transpose(1, 2)) * self.scale


Tiny.__module__ = "tiny_model"
tiny_model.Tiny = Tiny


def no_source(obj):
    raise OSError("source left out of the fixture")


def main():
    torch.manual_seed(0)
    model = Tiny().eval()
    path = lambda name: os.path.join(OUT, name)

    torch.save(model, path("module_tree.pt"))
    torch.save(model.state_dict(), path("module_tree.state.pt"))
    torch.serialization.get_source_lines_and_file = no_source
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.save(model, path("module_tree.legacy.pt"), _use_new_zipfile_serialization=False)
    torch.save(Tiny().double(), path("module_float64.pt"))
    torch.save(nn.ReLU(), path("module_no_parameters.pt"))

    # What torch itself reads back, so the fixtures are known to be right.
    state = model.state_dict()
    for name in ["module_tree.pt", "module_tree.legacy.pt"]:
        loaded = torch.load(path(name))
        assert list(loaded.state_dict()) == list(state), name
        assert all(torch.equal(loaded.state_dict()[k], v) for k, v in state.items()), name
    for name in ["module_tree.pt", "module_tree.legacy.pt", "module_tree.state.pt",
                 "module_float64.pt", "module_no_parameters.pt"]:
        print("%-24s %6d bytes" % (name, os.path.getsize(path(name))))
    print("state dict:", [(k, list(v.shape)) for k, v in state.items()])


if __name__ == "__main__":
    main()
