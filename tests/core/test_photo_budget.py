"""The pixels a process decodes at once are bounded (civic.core.photos.PixelBudget): a tester's four
requests of three one-colour 6300×6300 PNGs (1.5 MB uploaded in all) took a server to 1.2 GB."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor

from civic.core import photos


def test_a_take_waits_while_the_budget_has_too_few_pixels_free():
    budget = photos.PixelBudget(100)
    first_in, second_in, release = threading.Event(), threading.Event(), threading.Event()

    def first():
        with budget.take(60):
            first_in.set()
            release.wait(5)

    def second():
        first_in.wait(5)
        with budget.take(60):
            second_in.set()

    a, b = threading.Thread(target=first), threading.Thread(target=second)
    a.start()
    b.start()
    assert first_in.wait(5)
    assert not second_in.wait(0.3)  # 40 free, 60 wanted: it waits
    assert budget.free == 40
    release.set()
    a.join(5)
    b.join(5)
    assert second_in.is_set() and budget.free == 100 and budget.peak == 60
    with budget.take(1000):  # larger than the whole budget: takes all of it, not more
        assert budget.free == 0
    assert budget.free == 100


def _flat_png(side: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (side, side), (90, 140, 60)).save(buf, "PNG")
    return buf.getvalue()


def test_photos_decoded_at_once_stay_within_the_process_budget(monkeypatch):
    """Six 39.7 MP PNGs processed by six threads: every one is encoded, and never more than the
    budget's pixels were decoded at once (two of them)."""
    budget = photos.PixelBudget(80_000_000)
    monkeypatch.setattr(photos, "DECODE_BUDGET", budget)
    data = _flat_png(6300)
    with ThreadPoolExecutor(6) as pool:
        sizes = list(pool.map(lambda _: photos.check_photo(data), range(6)))
    assert sizes == [(2048, 2048)] * 6
    assert 6300 * 6300 <= budget.peak <= 80_000_000
    assert budget.free == budget.total
