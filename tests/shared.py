"""Where the workplace's shared material (photos, resident messages, rules) is found.

``CIVIC_SHARED_DIR`` if set; otherwise the first ``shared/`` with ``photos/`` beside the checkout or
above it (a clone sits beside it, a git worktree one level deeper)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _find() -> Path:
    if os.environ.get("CIVIC_SHARED_DIR"):
        return Path(os.environ["CIVIC_SHARED_DIR"])
    for parent in REPO.parents:
        if (parent / "shared" / "photos").is_dir():
            return parent / "shared"
    return REPO.parent / "shared"


SHARED = _find()
PHOTOS = SHARED / "photos"
DATA = SHARED / "data"
