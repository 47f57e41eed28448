#!/usr/bin/python3
"""NLL per frame of a music state dict on a split: the PyTorch number the engine must match.

    python3 tools/eval_music.py models/training/music/jsb-sequnet.best.state.pt --data jsb --split test

Prints the NLL per frame first (nats: BCE-with-logits summed over the 88 keys and every
predicted frame of every sequence, divided by the number of predicted frames; frame 0 of a
sequence is never predicted), then the totals; --json prints one JSON object instead. The
family, levels, channels and kernel size are read from the state dict's names and shapes
(--family only checks). The Seq-U-Net gets the official front padding (= the streaming
engine's zero-frame pre-roll), the TCN none. Whole sequences, one at a time, float32.
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import music_data as md  # noqa: E402
import music_models as mm  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("state", help="plain state dict (torch.save(model.state_dict()))")
    ap.add_argument("--data", choices=md.DATASETS, required=True)
    ap.add_argument("--split", choices=md.SPLITS, default="test")
    ap.add_argument("--family", choices=["sequnet", "tcn"], help="fail unless the state dict is this family")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        model = mm.load_state(args.state, args.family)
    except (ValueError, RuntimeError, OSError) as e:
        sys.exit(f"eval_music.py: {e}")
    sequences = md.load_split(args.data, args.split)
    t0 = time.time()
    nll, frames = mm.evaluate(model, sequences)
    result = dict(nll_per_frame=nll, nll_sum=nll * frames, frames=frames, sequences=len(sequences),
                  data=args.data, split=args.split, state=args.state, parameters=mm.count_params(model),
                  **model.config())
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{nll:.6f}")
        print(f"nll_sum {nll * frames:.4f} frames {frames} sequences {len(sequences)} "
              f"({model.family}, L={model.levels}, {model.channels} ch, k={model.kernel_size}; "
              f"{args.data} {args.split}; {time.time() - t0:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
