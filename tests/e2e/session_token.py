"""An independent Python implementation of the gateway session token (common/src/session.rs),
so the end-to-end tests can present valid, expired, foreign and subject-bound sessions to the
filter without the broker:

    token  = base64url_nopad( 0x04 || nonce[24] || XChaCha20-Poly1305(key, nonce, claims, aad) )
    aad    = b"mcpgw-session" || 0x04
    claims = postcard(SessionClaims { id, issued_at, expires_at, subject, protocol_version,
                                      accepts_server_requests, virtual_server, elicitation })

Version 3: the token carries no backend session ids (they are opened on first use).
Version 4: it carries the virtual server the session belongs to and whether the client can
answer an elicitation.

XChaCha20-Poly1305 is HChaCha20 (below) + the IETF ChaCha20-Poly1305 of `cryptography`.
"""

from __future__ import annotations

import base64
import os
import struct

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

VERSION = b"\x04"
AAD = b"mcpgw-session" + VERSION


def _rotl(v: int, n: int) -> int:
    return ((v << n) & 0xFFFFFFFF) | (v >> (32 - n))


def _qr(s: list[int], a: int, b: int, c: int, d: int) -> None:
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl(s[d] ^ s[a], 16)  # noqa: E702
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl(s[b] ^ s[c], 12)  # noqa: E702
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl(s[d] ^ s[a], 8)  # noqa: E702
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl(s[b] ^ s[c], 7)  # noqa: E702


def hchacha20(key: bytes, nonce16: bytes) -> bytes:
    s = list(struct.unpack("<4I", b"expand 32-byte k") + struct.unpack("<8I", key) + struct.unpack("<4I", nonce16))
    for _ in range(10):
        _qr(s, 0, 4, 8, 12); _qr(s, 1, 5, 9, 13); _qr(s, 2, 6, 10, 14); _qr(s, 3, 7, 11, 15)  # noqa: E702
        _qr(s, 0, 5, 10, 15); _qr(s, 1, 6, 11, 12); _qr(s, 2, 7, 8, 13); _qr(s, 3, 4, 9, 14)  # noqa: E702
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(s: str) -> bytes:
    b = s.encode()
    return _varint(len(b)) + b


def claims_bytes(
    *,
    id: str,
    issued_at: int,
    expires_at: int,
    subject: str | None,
    protocol_version: str,
    accepts_server_requests: bool,
    virtual_server: str | None = None,
    elicitation: bool = False,
) -> bytes:
    out = _str(id) + _varint(issued_at) + _varint(expires_at)
    out += b"\x00" if subject is None else b"\x01" + _str(subject)
    out += _str(protocol_version)
    out += b"\x01" if accepts_server_requests else b"\x00"
    out += b"\x00" if virtual_server is None else b"\x01" + _str(virtual_server)
    return out + (b"\x01" if elicitation else b"\x00")


def mint(
    key_b64: str,
    *,
    id: str = "sess-e2e",
    issued_at: int,
    expires_at: int,
    subject: str | None = None,
    protocol_version: str = "2025-11-25",
    accepts_server_requests: bool = True,
    virtual_server: str | None = None,
    elicitation: bool = False,
) -> str:
    key = base64.b64decode(key_b64)
    nonce = os.urandom(24)
    subkey = hchacha20(key, nonce[:16])
    plain = claims_bytes(
        id=id, issued_at=issued_at, expires_at=expires_at, subject=subject, protocol_version=protocol_version,
        accepts_server_requests=accepts_server_requests, virtual_server=virtual_server, elicitation=elicitation,
    )
    sealed = ChaCha20Poly1305(subkey).encrypt(b"\x00\x00\x00\x00" + nonce[16:], plain, AAD)
    return base64.urlsafe_b64encode(VERSION + nonce + sealed).rstrip(b"=").decode()


def _self_test() -> None:
    # RFC draft-irtf-cfrg-xchacha-03 §2.2.1 HChaCha20 test vector.
    key = bytes(range(32))
    nonce = bytes.fromhex("000000090000004a0000000031415927")
    want = "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc"
    assert hchacha20(key, nonce).hex() == want


_self_test()
