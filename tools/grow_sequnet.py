"""Widen a trained Seq-U-Net training checkpoint to more features without changing its function.

    grow_sequnet.py SMALL.pt WIDE.pt --features 64

Training a wide model from scratch throws away the minutes the narrow one already had. This
copies the narrow model into the first C channels of every layer of a wider one and gives the
new channels fresh random weights, with every weight from a new channel into an old one set to
zero (and the new channels' columns of the output layer too). The old channels then compute
exactly what they did, so the wide model starts with the narrow one's logits and loss; the
zeroed weights get gradients from the first step, and the new channels join in as they grow.

The output is a train.py checkpoint (same step count and cumulative wall time, no optimizer
state: Adam's moments belong to the old shapes), so `train.py --name ...` resumes from it.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sequnet_torch as st  # noqa: E402


def _in_channel_map(name, c_old, c_new, cin_old):
    """Where each old input channel sits in the wide layer's input. The up-path convs read
    concat(shortcut, upsampled), so their second half moves from c_old to c_new."""
    if cin_old == 2 * c_old:
        return list(range(c_old)) + list(range(c_new, c_new + c_old))
    return list(range(cin_old))


def widen_state_dict(small, wide):
    """small, wide: Sequnet state dicts. Returns a copy of `wide` holding `small` in its old
    channels and zeros from every new channel into an old one."""
    c_old = small["input_conv.weight"].shape[0]
    c_new = wide["input_conv.weight"].shape[0]
    out = {}
    for name, w_wide in wide.items():
        w_small = small[name]
        w = w_wide.clone()
        if name.endswith(".bias"):
            w[:w_small.shape[0]] = w_small
        elif name == "input_conv.weight":  # [C, classes, K]: only outputs widen
            w[:c_old] = w_small
        elif name == "output_conv.1.weight":  # [classes, C, 1]: only inputs widen
            w.zero_()
            w[:, :c_old] = w_small
        else:
            transposed = ".upconv." in name  # ConvTranspose1d weights are [in, out, K]
            if transposed:
                w_small, w = w_small.transpose(0, 1), w.transpose(0, 1)  # views: write through
            cout_old, cin_old = w_small.shape[0], w_small.shape[1]
            old_in = _in_channel_map(name, c_old, c_new, cin_old)
            new_in = [j for j in range(w.shape[1]) if j not in set(old_in)]
            w[:cout_old, new_in] = 0  # new channels do not reach old ones
            w[:cout_old, old_in] = w_small
            if transposed:
                w = w.transpose(0, 1)
        out[name] = w.contiguous()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("small", help="train.py checkpoint of the narrow Seq-U-Net")
    ap.add_argument("wide", help="where to write the widened train.py checkpoint")
    ap.add_argument("--features", type=int, required=True, help="feature count C of the wide model")
    ap.add_argument("--seed", type=int, default=0, help="seed for the new channels' weights")
    args = ap.parse_args()

    small, ck = st.load_checkpoint_or_exit(args.small, "grow_sequnet")
    if not isinstance(small, st.Sequnet):
        sys.exit(f"grow_sequnet: {args.small} is not a Seq-U-Net checkpoint")
    if args.features <= small.C:
        sys.exit(f"grow_sequnet: --features {args.features} must exceed the checkpoint's {small.C}")
    if os.path.exists(args.wide):
        sys.exit(f"grow_sequnet: {args.wide} exists; not overwriting a training checkpoint")

    torch.manual_seed(args.seed)
    wide = st.Sequnet(args.features, small.L, small.D, small.K, small.num_classes)
    wide.load_state_dict(widen_state_dict(small.state_dict(), wide.state_dict()))

    tmp = args.wide + ".tmp"
    torch.save({"model_state_dict": wide.state_dict(), "optimizer_state_dict": None,
                "step": ck["step"], "elapsed_seconds": ck.get("elapsed_seconds", 0.0),
                "config": wide.config(),
                "grown_from": {"features": small.C, "step": ck["step"],
                               "elapsed_seconds": ck.get("elapsed_seconds", 0.0)}}, tmp)
    os.replace(tmp, args.wide)
    print(f"{args.small} (C={small.C}, {st.count_params(small)} params, step {ck['step']}) -> "
          f"{args.wide} (C={args.features}, {st.count_params(wide)} params)")


if __name__ == "__main__":
    main()
