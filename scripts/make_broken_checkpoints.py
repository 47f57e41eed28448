#!/usr/bin/python3
"""Writes the hostile and broken checkpoints of Tests/Fixtures/checkpoints/broken/.

Run from anywhere (standard library only, no torch, deterministic output):
    /usr/bin/python3 scripts/make_broken_checkpoints.py

Each file is something a user might download or a disk might corrupt. The CLI
test `BrokenCheckpointTests` runs `sequnet info -m FILE` on every file listed
in `expected.tsv` (written here too) and requires one `error:` line on stderr
that contains the expected phrase, an exit status in 1..127, and nothing on
stdout. The phrases name the tensor, entry or global at fault wherever there
is one, which is what a user needs to see.

Sources, kept small so the set stays a few hundred kB: a tiny Seq-U-Net with
seeded random weights (C=4, L=2, D=1, K=3; also written as the control
`Tests/Fixtures/checkpoints/tiny_sequnet_c4_l2_d1_k3.safetensors`, which must
load), the torch-written `strided.pt` zip fixture for damaged zips, and the
legacy-format WaveNet fixture for legacy framing.
"""

import io
import json
import os
import pickle
import random
import struct
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures")
OUT = os.path.join(FIXTURES, "checkpoints", "broken")
ZIP_SOURCE = os.path.join(FIXTURES, "checkpoints", "strided.pt")
CONTROL = os.path.join(FIXTURES, "checkpoints", "tiny_sequnet_c4_l2_d1_k3.safetensors")
# Finite weights whose logits overflow to infinity: loads, then must stop
# generation with an error instead of sampling noise from NaN.
OVERFLOWING = os.path.join(FIXTURES, "checkpoints", "overflowing_logits.safetensors")
LEGACY = os.path.join(FIXTURES, "checkpoints", "wavenet_l4_b2_r16_d16_s32.legacy.pt")
# Every malicious pickle here would create this file if anything ran it.
PWNED_MARKER = "/tmp/sequnet-checkpoint-pwned"


# ---------------------------------------------------------------- the tiny model

def tiny_seq_unet(rng, features=4, kernel=3, classes=256, levels=2):
    """A Seq-U-Net state dict with D=1 (names and shapes as in SPEC.md):
    name -> (shape, float32 LE bytes), small random weights."""
    c, k = features, kernel
    shapes = [("input_conv.weight", [c, classes, k]), ("input_conv.bias", [c])]
    def residual(prefix, inputs):
        for part in ("filter", "gate"):
            shapes.append(("%s.%s.weight" % (prefix, part), [c, inputs, k]))
            shapes.append(("%s.%s.bias" % (prefix, part), [c]))
    for i in range(levels - 1):
        residual("downsampling_blocks.%d.convs.0" % i, c)
        residual("downsampling_blocks.%d.downconv" % i, c)
    residual("bottlenecks.0", c)
    for i in range(levels - 1):
        residual("upsampling_blocks.%d.upconv" % i, c)
        residual("upsampling_blocks.%d.convs.0" % i, 2 * c)
    shapes += [("output_conv.1.weight", [classes, c, 1]), ("output_conv.1.bias", [classes])]
    out = {}
    for name, shape in shapes:
        n = 1
        for d in shape:
            n *= d
        out[name] = (shape, struct.pack("<%df" % n, *(rng.gauss(0, 0.1) for _ in range(n))))
    return out


def tiny_wavenet(rng, layers, channels=1, classes=256):
    """A WaveNet state dict (names and shapes as in SPEC.md), R = Dc = S = channels."""
    r = channels
    shapes = [("start_conv.weight", [r, classes, 1]), ("start_conv.bias", [r])]
    for l in range(layers):
        for conv, shape in [("filter_convs", [r, r, 2]), ("gate_convs", [r, r, 2]),
                            ("residual_convs", [r, r, 1]), ("skip_convs", [r, r, 1])]:
            shapes += [("%s.%d.weight" % (conv, l), shape), ("%s.%d.bias" % (conv, l), [r])]
    shapes += [("end_conv_1.weight", [r, r, 1]), ("end_conv_1.bias", [r]),
               ("end_conv_2.weight", [classes, r, 1]), ("end_conv_2.bias", [classes])]
    out = {}
    for name, shape in shapes:
        n = 1
        for d in shape:
            n *= d
        out[name] = (shape, struct.pack("<%df" % n, *(rng.gauss(0, 0.1) for _ in range(n))))
    return out


# ---------------------------------------------------------------- writers

def safetensors_bytes(tensors, dtype="F32", override=None, metadata=None):
    """The safetensors layout (u64 LE header size, space-padded JSON, data).
    `override` maps a tensor name to header fields that replace the honest ones."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs, offset = [], 0
    for name, (shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        header[name].update((override or {}).get(name, {}))
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def zip_bytes(entries, compress=False):
    """A zip like torch's (stored entries) from (name, bytes) pairs."""
    buffer = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buffer, "w", method) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            z.writestr(info, data)
    return buffer.getvalue()


def torch_zip_with_pickle(pickle_bytes, extra=()):
    return zip_bytes([("archive/data.pkl", pickle_bytes), ("archive/version", b"3\n")] + list(extra))


def with_float(data, index, value):
    """`data` (float32 LE) with element `index` replaced."""
    assert 0 <= index < len(data) // 4
    return data[:4 * index] + struct.pack("<f", value) + data[4 * index + 4:]


# ---------------------------------------------------------------- hostile pickles

def reduce_pickle(module, name, argument):
    """Protocol 2: module.name(argument), via GLOBAL + REDUCE."""
    arg = argument.encode()
    return (b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n"
            + b"X" + struct.pack("<I", len(arg)) + arg + b"\x85R.")


def stack_global_pickle(module, name, argument):
    """Protocol 4: the same call, named through STACK_GLOBAL (strings on the stack)."""
    def s(text):
        raw = text.encode()
        return b"\x8c" + bytes([len(raw)]) + raw
    return b"\x80\x04" + s(module) + s(name) + b"\x93" + s(argument) + b"\x85R."


def broadcast_bomb_pickle(entries, dim):
    """A state dict naming one stride-0 view (dim x dim values of a one-element
    storage, 4 MB for dim 1024, the most one view may expand to) under `entries` keys: memoised once, then
    fetched with BINGET. Each key would be a separate copy."""
    p = b"\x80\x02}("
    for i in range(entries):
        key = ("layer%d.weight" % i).encode()
        p += b"X" + struct.pack("<I", len(key)) + key
        if i == 0:
            p += b"ctorch._utils\n_rebuild_tensor_v2\n("
            p += b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x01tQ"
            p += b"K\x00M" + struct.pack("<H", dim) + b"M" + struct.pack("<H", dim)
            p += b"\x86K\x00K\x00\x86\x89}tRq\x00"
        else:
            p += b"h\x00"
    return p + b"u."


def legacy_with_object_pickle(object_pickle):
    """A legacy torch file whose object pickle is `object_pickle`: the magic
    number, protocol 1001 and sys info pickles are copied from the real file."""
    data = open(LEGACY, "rb").read()
    # Walk three pickles with the stdlib machinery (it stops at STOP).
    stream = io.BytesIO(data)
    for _ in range(3):
        pickle.Unpickler(stream).load()
    return data[:stream.tell()] + object_pickle + pickle.dumps([], protocol=2)


# ---------------------------------------------------------------- the set

def main():
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        os.remove(os.path.join(OUT, old))
    rng = random.Random(5)
    tensors = tiny_seq_unet(rng)
    names = list(tensors)
    honest = safetensors_bytes(tensors, metadata={"note": "tiny random Seq-U-Net for reliability tests"})
    with open(CONTROL, "wb") as f:
        f.write(honest)
    honest = safetensors_bytes(tensors)
    source = open(ZIP_SOURCE, "rb").read()
    overflowing = dict(tensors)
    for name, value in [("input_conv.bias", 3e38), ("output_conv.1.weight", 1e10)]:
        shape, data = overflowing[name]
        overflowing[name] = (shape, struct.pack("<%df" % (len(data) // 4), *[value] * (len(data) // 4)))
    with open(OVERFLOWING, "wb") as f:
        f.write(safetensors_bytes(overflowing))
    command = "touch " + PWNED_MARKER

    files = []  # (file name, bytes, phrase the error line must contain)

    def add(name, data, phrase):
        files.append((name, data, phrase))

    # Empty, truncated, random.
    add("empty.safetensors", b"", "empty")
    add("random.bin", bytes(rng.randrange(256) for _ in range(4096)), "not a torch zip, torch legacy or safetensors")
    add("truncated.pt", source[:len(source) // 2], "zip")
    add("truncated.safetensors", honest[:len(honest) - 100], "tensors end at byte")
    add("truncated_legacy.pt", open(LEGACY, "rb").read()[:3000], "truncated")
    add("only_zip_magic.pt", b"PK\x03\x04", "zip")

    # safetensors header and offsets.
    add("absurd_header_length.safetensors", struct.pack("<Q", 1 << 62) + b"{}", "header length")
    add("header_past_end.safetensors", struct.pack("<Q", 1 << 20) + b'{"a":1}', "header length")
    add("header_not_json.safetensors", struct.pack("<Q", 8) + b"{nope!!}", "header JSON")
    first, second = names[0], names[1]
    first_end = len(tensors[first][1])
    add("overlapping_offsets.safetensors",
        safetensors_bytes(tensors, override={second: {"data_offsets": [first_end - 4, first_end - 4 + len(tensors[second][1])]}}),
        "overlaps")
    add("offsets_past_end.safetensors",
        safetensors_bytes(tensors, override={names[-1]: {"data_offsets": [len(honest), len(honest) + len(tensors[names[-1]][1])]}}),
        "gap before tensor '%s'" % names[-1])
    add("huge_shape.safetensors",
        safetensors_bytes(tensors, override={first: {"shape": [1 << 40, 1 << 40, 1 << 40]}}),
        "'%s'" % first)
    add("negative_shape.safetensors", safetensors_bytes(tensors, override={first: {"shape": [-16, 16, 5]}}),
        "'%s'" % first)

    # dtypes and sizes.
    add("unknown_dtype.safetensors", safetensors_bytes(tensors, override={first: {"dtype": "Q7"}}),
        "tensor '%s' has unknown dtype 'Q7'" % first)
    add("float16.safetensors", safetensors_bytes(tensors, override={first: {"dtype": "F16"}}),
        "tensor '%s' has dtype F16" % first)
    shape = tensors[first][0]
    add("shape_vs_bytes.safetensors",
        safetensors_bytes(tensors, override={first: {"shape": [shape[0] + 1] + shape[1:]}}),
        "tensor '%s' has shape" % first)

    # Model-level: the file is well-formed but is not the model it claims to be.
    missing = dict(tensors)
    del missing["output_conv.1.bias"]
    add("missing_tensor.safetensors", safetensors_bytes(missing), "missing tensor 'output_conv.1.bias'")
    extra = dict(tensors)
    extra["decoder.secret.weight"] = ([2], struct.pack("<2f", 1, 2))
    add("extra_tensor.safetensors", safetensors_bytes(extra), "unexpected tensor 'decoder.secret.weight'")
    wrong = dict(tensors)
    wrong["input_conv.bias"] = ([3], tensors["input_conv.bias"][1][:12])
    add("wrong_shape.safetensors", safetensors_bytes(wrong), "tensor 'input_conv.bias' has shape [3], expected [4]")
    for label, value in [("nan", float("nan")), ("inf", float("inf")), ("neg_inf", float("-inf"))]:
        poisoned = dict(tensors)
        shape, data = poisoned["bottlenecks.0.gate.weight"]
        poisoned["bottlenecks.0.gate.weight"] = (shape, with_float(data, 17, value))
        add("%s.safetensors" % label, safetensors_bytes(poisoned), "tensor 'bottlenecks.0.gate.weight' holds a NaN or infinite value")
    add("no_tensors.safetensors", safetensors_bytes({}), "not a Seq-U-Net, WaveNet, plain Seq-U-Net or TCN")

    # A WaveNet whose metadata splits 30 layers into one block: dilations up
    # to 2^29, gigabytes of stream state from a 24 kB file (it crashed the
    # first stream until the engine capped the state size).
    wavenet = tiny_wavenet(rng, layers=30)
    add("wavenet_huge_dilation.safetensors",
        safetensors_bytes(wavenet, metadata={"sequnet.architecture": "wavenet", "wavenet.layers_per_block": "30"}),
        "a WaveNet with 30 layers per block")

    # Metadata that states absurd sizes, with tensors to match: before the
    # configuration was validated whatever its source, these loaded and then
    # crashed the engine (kernel 0, 0 or 512 classes) or primed for minutes
    # (25 levels), from files of a few kB. The metadata is written as sequnet
    # wrote it then (camelCase keys), which loading took on trust.
    absurd = random.Random(6)
    for label, fields, phrase in [
            ("kernel_zero", {"kernelSize": 0}, "kernel size 0 is not odd"),
            ("classes_zero", {"classes": 0}, "0 classes"),
            ("classes_512", {"classes": 512}, "mu-law audio needs 256 classes"),
            ("levels_25", {"levels": 25, "features": 1, "kernelSize": 1}, "25 levels (need 2...24)")]:
        config = {"classes": 256, "features": 4, "levels": 2, "depth": 1, "kernelSize": 3}
        config.update(fields)
        model = tiny_seq_unet(absurd, features=config["features"], kernel=config["kernelSize"],
                              classes=config["classes"], levels=config["levels"])
        metadata = {"sequnet.architecture": "sequnet", "sequnet.config": json.dumps(config, sort_keys=True)}
        add("metadata_%s.safetensors" % label, safetensors_bytes(model, metadata=metadata), phrase)

    # Metadata that contradicts the tensors: every field is checked against
    # the configuration read off the tensors, and the error names it.
    truth = {"classes": 256, "features": 4, "levels": 2, "depth": 1, "kernel_size": 3}
    for field, value in [("kernel_size", 0), ("classes", 512), ("levels", 25)]:
        config = dict(truth, **{field: value})
        metadata = {"sequnet.architecture": "sequnet", "sequnet.config": json.dumps(config, sort_keys=True)}
        add("metadata_contradicts_%s.safetensors" % field, safetensors_bytes(tensors, metadata=metadata),
            "metadata says %s %d, but the tensors say %d" % (field, value, truth[field]))
    flat = dict(tensors)
    shape, data = flat["input_conv.weight"]
    flat["input_conv.weight"] = ([shape[0], shape[1] * shape[2]], data)
    add("input_conv_2d.safetensors", safetensors_bytes(flat),
        "tensor 'input_conv.weight' has shape [4, 768], expected 3 dimensions [features, classes, kernel size]")
    add("metadata_wrong_architecture.safetensors",
        safetensors_bytes(tensors, metadata={"sequnet.architecture": "wavenet"}),
        "metadata says sequnet.architecture 'wavenet', but the tensors say 'sequnet'")
    add("metadata_input_size.safetensors",
        safetensors_bytes(tensors, metadata={"sequnet.architecture": "sequnet", "sequnet.input_size": "99999"}),
        "metadata says sequnet.input_size 99999")
    add("metadata_unknown_field.safetensors",
        safetensors_bytes(tensors, metadata={"sequnet.architecture": "sequnet", "sequnet.config": '{"heads": 4}'}),
        "names 'heads', which a Seq-U-Net does not have")
    add("metadata_not_integer.safetensors",
        safetensors_bytes(tensors, metadata={"sequnet.architecture": "sequnet", "sequnet.config": '{"levels": "many"}'}),
        "field 'levels' is not an integer")

    # Zip structure.
    with zipfile.ZipFile(io.BytesIO(source)) as z:
        members = [(info.filename, z.read(info.filename)) for info in z.infolist()]
    top = members[0][0].split("/")[0]
    add("compressed_entries.pt", zip_bytes(members, compress=True), "is compressed")
    add("nested_folder.pt", zip_bytes([("outer/" + n, d) for n, d in members]), "no entry outer/data.pkl")
    add("zip_in_zip.pt", zip_bytes([("archive/data.pkl", source)]), "unsupported pickle opcode 0x50")
    add("two_top_folders.pt", zip_bytes(members + [("other/data.pkl", b"")]), "outside the archive's top folder")
    add("dotdot_entry.pt", zip_bytes(members + [(top + "/../../etc/passwd", b"")]), "'..'")
    add("absolute_entry.pt", zip_bytes([("/" + n, d) for n, d in members]), "absolute path")
    add("missing_storage.pt", zip_bytes([(n, d) for n, d in members if n != top + "/data/0"]),
        "no entry %s/data/0" % top)
    # End record that claims a central directory far past the end of the file.
    eocd = source.rfind(b"PK\x05\x06")
    bad_directory = bytearray(source)
    struct.pack_into("<I", bad_directory, eocd + 16, 0x7FFF0000)
    add("directory_past_end.pt", bytes(bad_directory), "central directory")
    # A stored entry whose size runs past the end of the file.
    bad_size = bytearray(source)
    directory = struct.unpack_from("<I", source, eocd + 16)[0]
    struct.pack_into("<I", bad_size, directory + 20, 0x7FFFFFF0)  # compressed size
    struct.pack_into("<I", bad_size, directory + 24, 0x7FFFFFF0)  # uncompressed size
    add("entry_past_end.pt", bytes(bad_size), "truncated")

    # Pickles: globals outside the allow-list are refused by name, nothing runs.
    add("os_system.pt", torch_zip_with_pickle(reduce_pickle("os", "system", command)), "refusing pickle global os.system")
    add("posix_system.pt", torch_zip_with_pickle(reduce_pickle("posix", "system", command)), "refusing pickle global posix.system")
    add("builtins_eval.pt", torch_zip_with_pickle(stack_global_pickle("builtins", "eval", "__import__('os').system('%s')" % command)),
        "refusing pickle global builtins.eval")
    add("subprocess_legacy.pt", legacy_with_object_pickle(reduce_pickle("subprocess", "call", command)),
        "refusing pickle global subprocess.call")
    add("os_system.pkl", reduce_pickle("os", "system", command), "refusing pickle global os.system")
    add("torch_load.pt", torch_zip_with_pickle(reduce_pickle("torch", "load", "/etc/passwd")), "refusing pickle global torch.load")
    add("not_a_state_dict.pt", torch_zip_with_pickle(pickle.dumps([1, 2, 3], protocol=2)), "not a state dict")
    add("deep_nesting.pt", torch_zip_with_pickle(b"\x80\x02" + b"]" * 100000 + b"a" * 99999 + b"."),
        "pickle nesting depth exceeds the limit")
    add("broadcast_bomb.pt", torch_zip_with_pickle(broadcast_bomb_pickle(400, 1024), [("archive/data/0", b"\0\0\x80\x3f")]),
        "tensor 'layer1.weight': brings the state dict to")
    add("bad_opcode.pt", torch_zip_with_pickle(b"\x80\x02\xff."), "unsupported pickle opcode 0xff")

    manifest = []
    for name, data, phrase in files:
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        manifest.append("%s\t%s" % (name, phrase))
    with open(os.path.join(OUT, "expected.tsv"), "w") as f:
        f.write("# file\tphrase its one-line error must contain (written by scripts/make_broken_checkpoints.py)\n")
        f.write("\n".join(manifest) + "\n")
    print("wrote %d broken checkpoints to %s" % (len(files), os.path.relpath(OUT, ROOT)))


if __name__ == "__main__":
    main()
