"""Which GPU archs a HIP shared object carries code for: the clang offload bundles inside it.

A HIP .so keeps its device code in offload bundles (LLVM clang-offload-bundler format): the magic
"__CLANG_OFFLOAD_BUNDLE__", a little-endian uint64 entry count, then per entry uint64 offset, uint64 size,
uint64 id length and the id, e.g. "hipv4-amdgcn-amd-amdhsa--gfx942:sramecc+:xnack-". Runs inside the build
(stdlib only).
"""

from __future__ import annotations

import struct

from .. import UserError

MAGIC = b"__CLANG_OFFLOAD_BUNDLE__"
COMPRESSED_MAGIC = b"CCOB"  # clang's compressed bundle; its ids are inside the compressed payload
_U64 = struct.Struct("<Q")


def bundle_ids(data: bytes) -> list[str]:
    """Every entry id of every uncompressed offload bundle in `data`, in file order."""
    ids: list[str] = []
    start = data.find(MAGIC)
    while start != -1:
        pos = start + len(MAGIC)
        (count,) = _U64.unpack_from(data, pos)
        pos += _U64.size
        if count > 4096:
            raise UserError(f"offload bundle at byte {start}: {count} entries is not a bundle header")
        for _ in range(count):
            _offset, _size, id_len = struct.unpack_from("<QQQ", data, pos)
            pos += 24
            ids.append(data[pos:pos + id_len].decode("ascii"))
            pos += id_len
        start = data.find(MAGIC, pos)
    return ids


def archs(data: bytes) -> set[str]:
    """The GPU archs (gfx942, gfx950, ...) the bundles carry code objects for; host entries are skipped."""
    found = {i.split("--", 1)[1].split(":", 1)[0] for i in bundle_ids(data) if "amdgcn" in i and "--" in i}
    if not found and COMPRESSED_MAGIC in data and MAGIC not in data:
        raise UserError("compressed offload bundles (built with --offload-compress): list them with "
                        "`roc-obj-ls`; this check reads uncompressed bundles only")
    return found


def missing(data: bytes, required: list[str]) -> list[str]:
    """The required archs without a code object; a feature suffix on the requirement is ignored."""
    have = archs(data)
    return [a for a in required if a.split(":", 1)[0] not in have]
