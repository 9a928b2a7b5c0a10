"""Which GPU archs a HIP shared object carries code for: the clang offload bundles inside it.

A HIP .so keeps its device code in offload bundles (LLVM clang-offload-bundler format): the magic
"__CLANG_OFFLOAD_BUNDLE__", a little-endian uint64 entry count, then per entry uint64 offset, uint64 size,
uint64 id length and the id, e.g. "hipv4-amdgcn-amd-amdhsa--gfx942:sramecc+:xnack-". A bundle built with
--offload-compress is a "CCOB" header (uint16 version, uint16 method; from version 2 on the total size, uint32 in
version 2 and uint64 in version 3) and a compressed payload: its ids are listed by clang-offload-bundler
(production's base has it in /opt/rocm/llvm/bin). Stdlib only: it runs in the build (the module_mhc.so check) and
in the image (mhc-probe reads tilelang's kernels). A header that does not parse is one line naming the file and the
byte offset.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile

from .. import UserError

MAGIC = b"__CLANG_OFFLOAD_BUNDLE__"
COMPRESSED_MAGIC = b"CCOB"
_U64 = struct.Struct("<Q")
_MAX_ENTRIES, _MAX_ID = 4096, 1024
_CCOB_METHODS = (1, 2)  # zlib, zstd


def _malformed(name: str, start: int, why: str) -> UserError:
    return UserError(f"{name}: malformed offload bundle header at byte {start} ({why}); the file is damaged or "
                     "not a HIP build, rebuild it")


def bundle_ids(data: bytes, name: str = "module_mhc.so") -> list[str]:
    """Every entry id of every uncompressed offload bundle in `data`, in file order."""
    ids: list[str] = []
    start = data.find(MAGIC)
    while start != -1:
        pos = start + len(MAGIC)
        try:
            (count,) = _U64.unpack_from(data, pos)
            pos += _U64.size
            if count > _MAX_ENTRIES:
                raise _malformed(name, start, f"{count} entries")
            for _ in range(count):
                _offset, _size, id_len = struct.unpack_from("<QQQ", data, pos)
                pos += 24
                if id_len > _MAX_ID or pos + id_len > len(data):
                    raise _malformed(name, start, f"an entry id of {id_len} bytes")
                ids.append(data[pos:pos + id_len].decode("ascii"))
                pos += id_len
        except struct.error:
            raise _malformed(name, start, "truncated") from None
        except UnicodeDecodeError:
            raise _malformed(name, start, "an entry id that is not ASCII") from None
        start = data.find(MAGIC, pos)
    return ids


def compressed_bundles(data: bytes) -> list[tuple[int, bytes]]:
    """(offset, bytes) of each compressed bundle: a CCOB magic followed by a version and method clang writes."""
    found, start = [], data.find(COMPRESSED_MAGIC)
    while start != -1:
        head = data[start + 4:start + 8]
        version, method = struct.unpack("<HH", head) if len(head) == 4 else (0, 0)
        end = None
        if version == 2 and len(data) >= start + 12:
            end = start + struct.unpack_from("<I", data, start + 8)[0]
        elif version == 3 and len(data) >= start + 16:
            end = start + struct.unpack_from("<Q", data, start + 8)[0]
        if version in (1, 2, 3) and method in _CCOB_METHODS:
            # version 1 records no total size: up to the next bundle or the end
            nxt = [i for i in (data.find(COMPRESSED_MAGIC, start + 4), data.find(MAGIC, start + 4)) if i != -1]
            found.append((start, data[start:end if end and end <= len(data) else min(nxt, default=len(data))]))
        start = data.find(COMPRESSED_MAGIC, start + 4)
    return found


def compressed_ids(data: bytes, name: str = "module_mhc.so") -> list[str] | None:
    """The entry ids of the compressed bundles, listed by clang-offload-bundler; None when it is not on PATH."""
    tool = shutil.which("clang-offload-bundler")
    if tool is None:
        return None
    ids: list[str] = []
    for start, blob in compressed_bundles(data):
        with tempfile.NamedTemporaryFile(suffix=".hipfb") as f:
            f.write(blob)
            f.flush()
            out = subprocess.run([tool, "--list", "--type=o", f"--input={f.name}"], capture_output=True, text=True)
        if out.returncode != 0:
            why = (out.stderr.strip().splitlines() or ["no output"])[-1]
            raise UserError(f"{name}: clang-offload-bundler cannot list the compressed bundle at byte {start} ({why})")
        ids += out.stdout.split()
    return ids


def _archs_of(ids: list[str]) -> set[str]:
    return {i.split("--", 1)[1].split(":", 1)[0] for i in ids if "amdgcn" in i and "--" in i}


def archs(data: bytes, name: str = "module_mhc.so") -> set[str]:
    """The GPU archs (gfx942, gfx950, ...) the bundles carry code objects for; host entries are skipped."""
    found = _archs_of(bundle_ids(data, name))
    if compressed_bundles(data):
        listed = compressed_ids(data, name)
        if listed is None and not found:
            raise UserError(f"{name}: compressed offload bundles (built with --offload-compress) and no "
                            "clang-offload-bundler on PATH to list them; put ROCm's llvm/bin on PATH")
        found |= _archs_of(listed or [])
    return found


def missing(data: bytes, required: list[str], name: str = "module_mhc.so") -> list[str]:
    """The required archs without a code object; a feature suffix on the requirement is ignored."""
    have = archs(data, name)
    return [a for a in required if a.split(":", 1)[0] not in have]
