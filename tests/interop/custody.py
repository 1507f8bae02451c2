"""custody.py -- the chain of custody of docs/PROTOCOL.md ("Chain of
custody"), written from the document alone: the canonical byte form of a
change, its link hash and its Ed25519 signature.

A second implementation of what common/custody.c does; tests/vectors/
custody-1.json pins the bytes both must produce (test-vectors checks C,
``python3 custody.py --check VECTORS`` checks this file).  Uses hashlib
(BLAKE2b) and the `cryptography` package (Ed25519).
"""
import hashlib
import json
import struct
import sys

GENESIS = "0" * 64
CANONICAL_MAGIC = b"fieldsync-change-1\x00"
LINK_MAGIC = b"fieldsync-link-1\x00"


def _str(b):
    if isinstance(b, str):
        b = b.encode("utf-8")
    return struct.pack(">I", len(b)) + b


def number_text(v):
    """The shortest %.Ng (N = 1..17) that reads back as the same double."""
    v = float(v)
    for p in range(1, 18):
        t = "%.*g" % (p, v)
        if float(t) == v:
            return t
    return "%.17g" % v


def value(v):
    if v is None:
        return b"n"
    if v is False:
        return b"f"
    if v is True:
        return b"t"
    if isinstance(v, (int, float)):
        return b"d" + _str(number_text(v))
    if isinstance(v, str):
        return b"s" + _str(v)
    if isinstance(v, list):
        return b"a" + struct.pack(">I", len(v)) + b"".join(value(x) for x in v)
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: k.encode("utf-8"))
        return b"o" + struct.pack(">I", len(keys)) + b"".join(_str(k) + value(v[k]) for k in keys)
    raise TypeError("not a JSON value")


def canonical(change):
    device = change["hlc"].split("-", 1)[1]
    out = CANONICAL_MAGIC
    for part in (device, change["id"], change["form"], "%d" % change["form_version"],
                 change["op"], change["hlc"], change["prev"]):
        out += _str(part)
    out += value(change.get("fields"))
    out += value(change.get("base", {}))
    return out


def link(change):
    return hashlib.blake2b(canonical(change), digest_size=32).digest()


def sign(change, seed):
    """Sets change["sig"] with the key of the 32-byte seed; returns the link (hex)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    change.pop("sig", None)
    lk = link(change)
    change["sig"] = Ed25519PrivateKey.from_private_bytes(seed).sign(LINK_MAGIC + lk).hex()
    return lk.hex()


def public_key(seed):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def verify(change, pk_hex):
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(pk_hex)).verify(
            bytes.fromhex(change["sig"]), LINK_MAGIC + link(change))
        return True
    except (InvalidSignature, ValueError, KeyError):
        return False


def check(path):
    vec = json.load(open(path))
    seed = bytes.fromhex(vec["seed"])
    assert public_key(seed) == vec["public_key"], "public key"
    for i, case in enumerate(vec["cases"]):
        ch = json.loads(case["change"])
        assert canonical(ch).hex() == case["canonical"], "case %d: canonical bytes" % i
        assert link(ch).hex() == case["link"], "case %d: link" % i
        assert verify(ch, vec["public_key"]), "case %d: signature" % i
        sig = ch["sig"]
        sign(ch, seed)
        assert ch["sig"] == sig, "case %d: Ed25519 is deterministic" % i
    print("custody.py: %d vectors agree" % len(vec["cases"]))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    else:
        sys.exit("usage: custody.py --check VECTORS")
