#!/usr/bin/python3
"""Writes the seed corpora of the libFuzzer targets (Fuzz/corpus/<target>/).

Run from anywhere (standard library only, deterministic):
    /usr/bin/python3 scripts/make_fuzz_corpus.py

Seeds are small (a few kB at most) so that libFuzzer's mutations stay fast
and its default input length covers whole files: valid files of each format,
plus the small hostile fixtures (compressed entries, '..' paths, os.system
pickles, float64 storages, damaged headers), and whole pickled modules
(tools/make_module_fixtures.py's files and hand-written hostile trees). Run
scripts/make_broken_checkpoints.py first; its small files are seeds too.
"""

import io
import os
import pickle
import re
import shutil
import struct
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECKPOINTS = os.path.join(ROOT, "Tests", "Fixtures", "checkpoints")
CORPUS = os.path.join(ROOT, "Fuzz", "corpus")
MAX_SEED = 16 * 1024


def safetensors(tensors, metadata=None, dtype="F32"):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, shape, values in tensors:
        data = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    import json
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def legacy_from_zip(zip_bytes):
    """A legacy torch file with the same object and storages as a torch zip:
    torch's five pickles (magic, 1001, sys info, object, keys) and then each
    storage as an int64 element count plus its bytes. Legacy persistent ids
    have a sixth field (view metadata), None here."""
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as z:
        top = z.namelist()[0].split("/")[0]
        data_pkl = z.read(top + "/data.pkl")
        storages = {n.split("/")[-1]: z.read(n) for n in z.namelist() if "/data/" in n}
    # (..., numel) TUPLE [BINPUT] BINPERSID -> add None before TUPLE.
    pattern = re.compile(rb"(K.|M..|J....)t((?:q.)?Q)", re.S)
    object_pickle, count = pattern.subn(rb"\1Nt\2", data_pkl)
    assert count >= len(storages), (count, len(storages))
    keys = sorted(storages)
    out = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    out += pickle.dumps(1001, protocol=2)
    out += pickle.dumps({"protocol_version": 1001, "little_endian": True,
                         "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2)
    out += object_pickle + pickle.dumps(keys, protocol=2)
    for key in keys:
        out += struct.pack("<q", len(storages[key]) // 4) + storages[key]
    return out


def module_pickles():
    """Hand-written data.pkl streams of whole pickled modules (protocol 2, as
    torch writes them: GLOBAL cls, EMPTY_TUPLE, NEWOBJ, then BUILD with the
    module's __dict__), honest and hostile, for the pickle target."""
    def text(value):
        data = value.encode()
        return b"X" + struct.pack("<I", len(data)) + data

    def name(module, qualname):
        return b"c" + module.encode() + b"\n" + qualname.encode() + b"\n"

    def integer(value):
        return b"J" + struct.pack("<i", value)

    counter = [0]

    def tensor(numel):
        counter[0] += 1
        pid = b"(" + text("storage") + name("torch", "FloatStorage") + text(str(counter[0])) + text("cpu") + integer(numel) + b"tQ"
        return (name("torch._utils", "_rebuild_tensor_v2") + b"(" + pid + integer(0) + integer(numel) + b"\x85"
                + integer(1) + b"\x85\x89N" + b"tR")

    def dict_of(items):
        return b"}" + (b"(" + b"".join(text(k) + v for k, v in items) + b"u" if items else b"")

    def module(cls, parameters=(), children=(), extra=()):
        dot = cls.rindex(".")
        state = [("_parameters", dict_of(parameters)), ("_buffers", b"}"), ("_modules", dict_of(children))] + list(extra)
        return name(cls[:dot], cls[dot + 1:]) + b")\x81" + dict_of(state) + b"b"

    def pkl(body):
        return b"\x80\x02" + body + b"."

    conv = module("torch.nn.modules.conv.Conv1d", [("weight", tensor(6)), ("bias", tensor(2))])
    seeds = {
        "module_tree.pkl": pkl(module("sequnet.Sequnet", [("scale", tensor(3))],
                                      [("conv", conv + b"q\x00"), ("same", b"h\x00"), ("none", b"N")])),
        "module_os_system_record.pkl": pkl(module("os.system", [("w", tensor(1))])),
        "module_reduce_in_dict.pkl": pkl(module("m.M", [("w", tensor(1))],
                                                extra=[("hook", name("os", "system") + text("true") + b"\x85R")])),
        "module_cycle.pkl": pkl(name("m", "M") + b")\x81q\x00" + dict_of([("_parameters", b"}"), ("_modules", b"}(" + text("self") + b"h\x00u")]) + b"b"),
        "module_modules_list.pkl": pkl(module("m.M", [("w", tensor(1))], extra=[("_modules", b"]")])),
        "module_collision.pkl": pkl(module("m.M", [("a.b", tensor(1))], [("a", module("m.C", [("b", tensor(1))]))])),
        "module_legacy_pid.pkl": pkl(b"(" + text("module") + name("tcn", "Chomp1d") + text("tcn.py") + b"NtQ)\x81}b"),
    }
    # Each level holds the one below twice: 2^6 paths from a few hundred bytes.
    fanout = module("m.Leaf", [("w", tensor(1))]) + b"q\x000"  # BINPUT 0, POP
    for level in range(1, 7):
        fanout += module("m.Level", children=[("a", b"h" + bytes([level - 1])), ("b", b"h" + bytes([level - 1]))])
        fanout += b"q" + bytes([level]) + (b"0" if level < 6 else b"")
    seeds["module_fanout.pkl"] = pkl(fanout)
    return seeds


def main():
    strided = open(os.path.join(CHECKPOINTS, "strided.pt"), "rb").read()
    with zipfile.ZipFile(io.BytesIO(strided)) as z:
        strided_pickle = z.read("strided/data.pkl")
    small = lambda name: os.path.getsize(name) <= MAX_SEED
    broken = os.path.join(CHECKPOINTS, "broken")
    listing = sorted(os.listdir(broken)) if os.path.isdir(broken) else []

    seeds = {"torch_zip": {}, "torch_legacy": {}, "safetensors": {}, "pickle": {}, "model_load": {}, "prompt_reader": {}}
    for name in ["strided.pt", "compressed.pt", "dotdot.pt", "float64.pt", "malicious.pt", "two_roots.pt"]:
        seeds["torch_zip"][name] = open(os.path.join(CHECKPOINTS, name), "rb").read()
    for name in listing:
        path = os.path.join(broken, name)
        # The broadcast bomb expands to 4 MB per run: far too slow a seed.
        if name.endswith(".pt") and small(path) and "bomb" not in name:
            data = open(path, "rb").read()
            kind = "torch_zip" if data[:2] == b"PK" else "torch_legacy"
            seeds[kind]["broken_" + name] = data
        if name.endswith(".safetensors") and small(path):
            seeds["safetensors"]["broken_" + name] = open(path, "rb").read()
            seeds["model_load"]["broken_" + name] = open(path, "rb").read()

    # Whole checkpoints for the model loader: honest small ones of each family.
    for name in ["tiny_sequnet_c4_l2_d1_k3.safetensors", "wavenet_l4_b2_r16_d16_s32.safetensors"]:
        path = os.path.join(CHECKPOINTS, name)
        if small(path):
            seeds["model_load"][name] = open(path, "rb").read()
    seeds["model_load"]["strided.pt"] = strided

    # Prompts: WAVs of several layouts, and damaged ones.
    def wav(rate, channels, bits, frames, fmt=1):
        width = bits // 8
        data = bytes((i * 37) % 256 for i in range(frames * channels * width))
        header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(data), b"WAVE", b"fmt ", 16, fmt, channels,
                             rate, rate * channels * width, channels * width, bits, b"data", len(data))
        return header + data
    seeds["prompt_reader"]["mono16k.wav"] = wav(16000, 1, 16, 200)
    seeds["prompt_reader"]["stereo44k.wav"] = wav(44100, 2, 16, 300)
    seeds["prompt_reader"]["float8k.wav"] = wav(8000, 1, 32, 100, fmt=3)
    seeds["prompt_reader"]["u8_22k.wav"] = wav(22050, 1, 8, 150)
    seeds["prompt_reader"]["truncated.wav"] = wav(16000, 1, 16, 200)[:60]
    seeds["prompt_reader"]["no_frames.wav"] = wav(16000, 1, 16, 0)

    seeds["torch_legacy"]["strided.legacy.pt"] = legacy_from_zip(strided)
    seeds["torch_legacy"]["malicious.pkl"] = open(os.path.join(CHECKPOINTS, "malicious.pkl"), "rb").read()

    seeds["safetensors"]["two_tensors.safetensors"] = safetensors(
        [("a.weight", [2, 3], [0.5 * i for i in range(6)]), ("a.bias", [2], [1.0, -1.0])])
    seeds["safetensors"]["metadata.safetensors"] = safetensors(
        [("scalar", [], [3.0]), ("empty", [0, 4], [])], metadata={"architecture": "sequnet", "note": "x\u00e9"})
    seeds["safetensors"]["f16.safetensors"] = safetensors([("h", [2], [1.0])], dtype="F16")

    seeds["pickle"]["strided.data.pkl"] = strided_pickle
    for name in ["compressed.pt", "float64.pt", "malicious.pt"]:
        with zipfile.ZipFile(os.path.join(CHECKPOINTS, name)) as z:
            pkl = [n for n in z.namelist() if n.endswith("data.pkl")][0]
            seeds["pickle"][name.replace(".pt", ".data.pkl")] = z.read(pkl)
    seeds["pickle"]["trainer_dict.pkl"] = pickle.dumps(
        {"model_state_dict": {}, "step": 3, "optimizer_state_dict": {"lr": 1e-3, "betas": (0.9, 0.99)}}, protocol=2)
    # Whole pickled modules (tools/make_module_fixtures.py): torch zip and
    # legacy files of a small tree, their data.pkl, and hand-written hostile trees.
    for name in ["module_tree.pt", "module_float64.pt", "module_no_parameters.pt"]:
        seeds["torch_zip"][name] = open(os.path.join(CHECKPOINTS, name), "rb").read()
    seeds["torch_legacy"]["module_tree.legacy.pt"] = open(os.path.join(CHECKPOINTS, "module_tree.legacy.pt"), "rb").read()
    with zipfile.ZipFile(os.path.join(CHECKPOINTS, "module_tree.pt")) as z:
        seeds["pickle"]["module_tree.data.pkl"] = z.read([n for n in z.namelist() if n.endswith("data.pkl")][0])
    seeds["pickle"].update(module_pickles())
    seeds["pickle"]["protocol4.pkl"] = pickle.dumps({"a": [1, 2.5, "x", b"y", None, True]}, protocol=4)

    for target, files in seeds.items():
        directory = os.path.join(CORPUS, target)
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory)
        for name, data in files.items():
            with open(os.path.join(directory, name), "wb") as f:
                f.write(data)
        print("%-13s %3d seeds, %6d bytes" % (target, len(files), sum(len(d) for d in files.values())))


if __name__ == "__main__":
    main()
