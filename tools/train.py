#!/usr/bin/python3
"""Train a reference-format Seq-U-Net or WaveNet on data/train.u8 (mu-law classes).

Each step takes B random crops of input_size + T samples and runs one *valid* pass over
the first input_size + T - 1 of them: T-ish next-class predictions per crop, every one
with its full receptive field (no zero padding), exactly the function the streaming
engine computes. Seq-U-Net's clock phase is drawn at random per step (the whole batch
shares it) so that every phase of every level is trained; the engine always streams with
its own phase, so a model trained at one phase only would be wrong at the others.

Writes models/training/NAME.pt (reference format: model_state_dict, optimizer_state_dict,
step, plus elapsed_seconds and config) every --save-minutes via atomic rename, resumes from
it, logs validation bits/sample to models/training/NAME.log.csv, and stops when the
cumulative wall time (across resumes) reaches --max-minutes. SIGINT/SIGTERM save and exit.
"""
import argparse
import csv
import math
import os
import signal
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sequnet_torch as st  # noqa: E402

LN2 = math.log(2.0)


def build(args):
    if args.model == "sequnet":
        return st.Sequnet(args.features, args.levels, args.depth, args.kernel_size)
    return st.WaveNet(args.layers, args.blocks, args.residual_channels, args.dilation_channels,
                      args.skip_channels, 2)


def crop_loss(model, crops, first_n, inputs=None):
    """crops: LongTensor [B, N]. Valid pass over crops[:, :-1] with crops[:, 0] at sample
    first_n; each output at sample n is scored on the class at n+1. Mean nats per target.
    inputs, if given, replaces crops as what the model sees (the targets stay crops)."""
    seen = crops if inputs is None else inputs
    logits, n_out = model(seen[:, :-1], first_n=first_n)
    T = logits.shape[-1]
    start = n_out - first_n + 1  # index in crops of the target of the first output
    target = crops[:, start:start + T]
    return F.cross_entropy(logits, target), T


def perturb_classes(crops, max_std, rng):
    """What the model sees in training when --input-noise is on: crops plus rounded Gaussian
    noise, std drawn per crop from [0, max_std], clamped to the class range.

    Generating, a model conditions on its own samples, each a draw from a distribution a few
    classes wide, while clean training data never shows it such errors. Trained on histories
    carrying errors of that size and asked for the clean next class, it learns to pull back
    towards the signal instead of taking its own noise for a noisy recording (LPCNet's reason
    for noisy inputs). A std drawn per crop keeps clean and barely perturbed crops in the mix.
    On the bundled piano models it did not lower the hiss: that hiss is already in each
    prediction, not a feedback (models/README.md, "Where the hiss comes from").
    Returns None when max_std <= 0, which crop_loss reads as "the crops themselves"."""
    if max_std <= 0:
        return None
    std = rng.uniform(0.0, max_std, size=(crops.shape[0], 1))
    noise = np.rint(rng.standard_normal(tuple(crops.shape)) * std).astype(np.int64)
    return (crops + torch.from_numpy(noise)).clamp_(0, 255)


def self_sampled_inputs(model, crops, first_n, max_share, rng, generator):
    """What the model sees in training when --self-inputs is on: the crops with a share of
    the classes (drawn per crop from [0, max_share]) replaced by the model's own samples.

    Each replacement is drawn, at temperature 1, from what the model predicts for that
    position given the clean history: the error generation makes at that point, of the size
    generation makes it (wide right after an onset, narrow in a held note), which no fixed
    noise distribution matches. Asked for the clean next class after such histories, the
    model learns to recover from its own mistakes instead of compounding them. Only positions
    the valid pass predicts can be replaced; the first input_size classes stay clean. Like
    --input-noise, it did not lower the bundled models' hiss (models/README.md).
    Returns None when max_share <= 0."""
    if max_share <= 0:
        return None
    with torch.no_grad():
        logits, n_out = model(crops[:, :-1], first_n=first_n)
        start = n_out - first_n + 1
        T = logits.shape[-1]
        u = torch.rand(logits.shape, generator=generator).clamp_(1e-12, 1.0)
        samples = (logits - torch.log(-torch.log(u))).argmax(dim=1)  # Gumbel-max: one draw each
    share = torch.from_numpy(rng.uniform(0.0, max_share, size=(crops.shape[0], 1)))
    replace = torch.from_numpy(rng.random((crops.shape[0], T))) < share
    inputs = crops.clone()
    window = inputs[:, start:start + T]
    window[replace] = samples[replace]
    return inputs


def save(path, model, opt, step, elapsed, config):
    tmp = path + ".tmp"
    torch.save({"model_state_dict": model.state_dict(), "optimizer_state_dict": opt.state_dict(),
                "step": step, "elapsed_seconds": float(elapsed), "config": config}, tmp)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--model", choices=["sequnet", "wavenet"], default="sequnet")
    ap.add_argument("--features", type=int, default=64)
    ap.add_argument("--levels", type=int, default=10)
    ap.add_argument("--depth", type=int, default=1)
    ap.add_argument("--kernel-size", type=int, default=5)
    ap.add_argument("--layers", type=int, default=13)
    ap.add_argument("--blocks", type=int, default=1)
    ap.add_argument("--residual-channels", type=int, default=64)
    ap.add_argument("--dilation-channels", type=int, default=64)
    ap.add_argument("--skip-channels", type=int, default=128)
    ap.add_argument("--T", type=int, default=8192, help="predictions per crop")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--lr-decay-from", type=float, default=None, metavar="MINUTES",
                    help="from this cumulative wall time on, the learning rate falls along a cosine "
                         "to --lr-end at --max-minutes (default: constant)")
    ap.add_argument("--lr-end", type=float, default=1e-4)
    ap.add_argument("--lr-warmup-steps", type=int, default=0, metavar="N",
                    help="when Adam starts fresh (a new run, or a checkpoint from grow_sequnet.py), ramp "
                         "the learning rate up linearly over its first N steps")
    ap.add_argument("--max-minutes", type=float, default=85)
    ap.add_argument("--save-minutes", type=float, default=4)
    ap.add_argument("--valid-minutes", type=float, default=4)
    ap.add_argument("--valid-crops", type=int, default=6)
    ap.add_argument("--input-noise", type=float, default=0.0, metavar="CLASSES",
                    help="perturb the classes the model sees (never the targets) by rounded "
                         "Gaussian noise whose std is drawn per crop from [0, CLASSES]; 0 = off")
    ap.add_argument("--self-inputs", type=float, default=0.0, metavar="SHARE",
                    help="replace a share (drawn per crop from [0, SHARE]) of the classes the "
                         "model sees by its own one-step samples; 0 = off")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default="data")
    ap.add_argument("--out", default="models/training")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bench", type=int, default=0, help="time N steps and exit (no files written)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    ck_path = os.path.join(args.out, args.name + ".pt")
    log_path = os.path.join(args.out, args.name + ".log.csv")

    model = build(args)
    ck = torch.load(ck_path, map_location="cpu") if os.path.exists(ck_path) and not args.bench else None
    if ck is not None and ck.get("config") and ck["config"] != model.config():
        # Resuming wins over the command line: the architecture is whatever the checkpoint
        # holds (a run restarted with other flags must not crash or silently start over).
        print(f"checkpoint config {ck['config']} differs from the flags' {model.config()}: using the checkpoint's",
              flush=True)
        c = ck["config"]
        if c["model"] == "sequnet":
            model = st.Sequnet(c["features"], c["levels"], c["depth"], c["kernel_size"], c["num_classes"])
        else:
            model = st.WaveNet(c["layers"], c["blocks"], c["residual_channels"], c["dilation_channels"],
                               c["skip_channels"], c["kernel_size"], c["num_classes"])
    config = model.config()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, elapsed = 0, 0.0
    fresh_optimizer = ck is None or ck.get("optimizer_state_dict") is None
    if ck is not None:
        model.load_state_dict(ck["model_state_dict"])
        if ck.get("optimizer_state_dict") is not None:  # None after grow_sequnet.py: fresh Adam
            opt.load_state_dict(ck["optimizer_state_dict"])
        step, elapsed = ck["step"], ck.get("elapsed_seconds", 0.0)
        print(f"resumed {ck_path} at step {step}, {elapsed / 60:.1f} min used", flush=True)
        if elapsed >= args.max_minutes * 60 and not args.bench:
            print(f"{args.name}: already trained for {elapsed / 60:.1f} min >= --max-minutes "
                  f"{args.max_minutes:g}; nothing to do", flush=True)
            return

    def lr_at(wall_seconds):
        """The schedule is a function of cumulative wall time, so a resumed run picks it up
        where it left off whatever the step rate was."""
        minutes = wall_seconds / 60
        if args.lr_decay_from is None or minutes <= args.lr_decay_from:
            return args.lr
        span = max(args.max_minutes - args.lr_decay_from, 1e-9)
        progress = min((minutes - args.lr_decay_from) / span, 1.0)
        return args.lr_end + 0.5 * (args.lr - args.lr_end) * (1 + math.cos(math.pi * progress))

    # Adam's first updates are about lr * sign(gradient) for every weight, before its moment
    # estimates settle: harmless from random weights, a jolt to trained ones.
    warmup_from = step if fresh_optimizer else None

    def warmup_factor(step):
        if warmup_from is None or args.lr_warmup_steps <= 0:
            return 1.0
        return min(1.0, (step - warmup_from + 1) / args.lr_warmup_steps)

    def set_lr(lr):
        for g in opt.param_groups:  # the schedule wins over a resumed optimizer's lr
            g["lr"] = lr

    set_lr(lr_at(elapsed))

    train = np.memmap(os.path.join(args.data, "train.u8"), dtype=np.uint8, mode="r")
    valid = np.memmap(os.path.join(args.data, "valid.u8"), dtype=np.uint8, mode="r")
    N = model.input_size + args.T  # crop length: input_size + T - 1 inputs, +1 for the last target
    cycles = model.cycles
    rng = np.random.default_rng(args.seed * 1000003 + step)
    sample_generator = torch.Generator().manual_seed(args.seed * 1000003 + step)

    # Fixed validation crops, evenly spaced over valid.u8, phases cycling through all levels.
    vstarts = np.linspace(0, len(valid) - N - 1, args.valid_crops).astype(np.int64)
    vcrops = [torch.from_numpy(valid[s:s + N].astype(np.int64))[None] for s in vstarts]

    def validate():
        model.eval()
        tot, cnt = 0.0, 0
        with torch.no_grad():
            for k, c in enumerate(vcrops):
                loss, T = crop_loss(model, c, first_n=(k * 37) % cycles)
                tot += loss.item() * T
                cnt += T
        model.train()
        return tot / cnt / LN2

    print(f"{args.name}: {config} params={st.count_params(model)} "
          f"receptive_field(phase0)={model.receptive_field(0)} crop={N} T={args.T} batch={args.batch} "
          f"lr={args.lr} input_noise={args.input_noise} self_inputs={args.self_inputs}", flush=True)

    stop = {"flag": False}

    def on_signal(signum, frame):
        stop["flag"] = True
        print(f"signal {signum}: saving and exiting after this step", flush=True)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    new_log = not os.path.exists(log_path)
    logf = None if args.bench else open(log_path, "a", newline="")
    log = None if args.bench else csv.writer(logf)
    if log and new_log:
        log.writerow(["step", "wall_seconds", "train_bits", "valid_bits"])
        logf.flush()

    t_start = time.time() - elapsed  # so that time.time() - t_start is the cumulative wall time
    last_save = last_valid = time.time()
    if step == 0 and not args.bench:
        vb = validate()
        log.writerow([0, round(time.time() - t_start, 1), "", round(vb, 4)])
        logf.flush()
        print(f"step 0 valid {vb:.3f} bits", flush=True)
    run_bits, run_n = 0.0, 0
    while True:
        t0 = time.time()
        phase = int(rng.integers(cycles))
        starts = rng.integers(0, len(train) - N, size=args.batch)
        crops = torch.from_numpy(np.stack([train[s:s + N] for s in starts]).astype(np.int64))
        set_lr(lr_at(time.time() - t_start) * warmup_factor(step))
        inputs = perturb_classes(crops, args.input_noise, rng)
        if args.self_inputs > 0:
            inputs = self_sampled_inputs(model, crops if inputs is None else inputs, phase,
                                         args.self_inputs, rng, sample_generator)
        loss, _ = crop_loss(model, crops, first_n=phase, inputs=inputs)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # early steps on silence/onsets spike
        opt.step()
        step += 1
        run_bits += loss.item() / LN2
        run_n += 1
        if args.bench:
            print(f"step {step} {loss.item() / LN2:.3f} bits {time.time() - t0:.2f}s", flush=True)
            if step >= args.bench:
                return
            continue
        now = time.time()
        wall = now - t_start
        done = wall >= args.max_minutes * 60 or stop["flag"]
        if now - last_valid >= args.valid_minutes * 60 or done:
            vb = validate()
            tb = run_bits / max(run_n, 1)
            log.writerow([step, round(time.time() - t_start, 1), round(tb, 4), round(vb, 4)])
            logf.flush()
            print(f"step {step} wall {wall / 60:.1f} min lr {opt.param_groups[0]['lr']:.2e} train {tb:.3f} "
                  f"valid {vb:.3f} bits ({time.time() - t0:.1f}s/step incl. valid)", flush=True)
            run_bits, run_n = 0.0, 0
            last_valid = time.time()
        if now - last_save >= args.save_minutes * 60 or done:
            save(ck_path, model, opt, step, time.time() - t_start, config)
            last_save = time.time()
        if done:
            print(f"stopping at step {step}, {(time.time() - t_start) / 60:.1f} min", flush=True)
            break
    logf.close()


if __name__ == "__main__":
    main()
