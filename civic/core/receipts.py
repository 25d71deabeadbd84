"""Receipt codes for ballots (owners' votes, budget rounds): a random code shown once to the voter
(80 bits, ``XXXX-XXXX-XXXX-XXXX``, base32 so it reads aloud without ambiguity) and only its SHA-256
kept, so holding the code is the proof and the stored hash does not name the voter."""

from __future__ import annotations

import base64
import hashlib
import secrets


def new_receipt() -> tuple[str, str]:
    """``(code, sha256 hex of the normalised code)``."""
    raw = base64.b32encode(secrets.token_bytes(10)).decode()
    code = "-".join(raw[i : i + 4] for i in range(0, 16, 4))
    return code, receipt_hash(code)


def receipt_hash(code: str) -> str:
    """The SHA-256 (hex) of a receipt code, ignoring dashes, spaces and case."""
    norm = (code or "").replace("-", "").replace(" ", "").upper()
    return hashlib.sha256(norm.encode()).hexdigest()
