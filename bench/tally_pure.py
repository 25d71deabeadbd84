"""Pure-python timing of civic.voting.tally: 10,000 units, 8,000 ballots, 5 matters.

Run from the repository root:  python -m bench.tally_pure   (or  python bench/tally_pure.py)
Prints seconds; not a test.  The comparison with the DB layer comes later.
"""

from __future__ import annotations

import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from civic.voting.tally import BallotEntry, Matter, RosterUnit, build_heads, tally  # noqa: E402

N_UNITS = 10_000
N_BALLOTS = 8_000
CHOICES = ("agree", "agree", "agree", "oppose", "abstain", "blank")


def make_inputs(seed: int = 278):
    rnd = random.Random(seed)
    units = []
    for uid in range(1, N_UNITS + 1):
        # about 5% developer-held, about 10% of owners hold a second unit
        developer = uid % 20 == 0
        owner = uid - 1 if uid % 10 == 0 else uid
        owners = frozenset({owner, 100_000 + uid}) if uid % 7 == 0 else frozenset({owner})
        area = Decimal(rnd.randint(3_000, 20_000)).scaleb(-2)
        units.append(RosterUnit(unit_id=uid, area=area, area_source="registry", owner_ids=owners,
                                developer_held=developer))
    matters = [Matter(number=n, key=f"m{n}") for n in (1, 3, 4, 6, 8)]
    # one set of choices per head, so the entries of a head agree (conflicts raise, by design)
    head_choices = {}
    for head in build_heads(units):
        choices = {m.key: rnd.choice(CHOICES) for m in matters}
        for uid in head.unit_ids:
            head_choices[uid] = choices
    voters = rnd.sample([u.unit_id for u in units], N_BALLOTS)
    ballots = [
        BallotEntry(unit_id=uid, choices=head_choices[uid], kind=rnd.choice(("online", "paper", "proxy")))
        for uid in voters
    ]
    return units, matters, ballots


def main() -> None:
    units, matters, ballots = make_inputs()
    heads = build_heads(units)
    best = None
    for _ in range(5):
        t0 = time.perf_counter()
        result = tally(units, matters, ballots)
        elapsed = time.perf_counter() - t0
        best = elapsed if best is None else min(best, elapsed)
    print(f"units={len(units)} heads={len(heads)} ballots={len(ballots)} matters={len(matters)}")
    print(f"tally: best of 5 = {best:.3f} s")
    m = result.matters[0]
    print(f"{m.matter_key}: participation {m.participation_area_percent} / {m.participation_heads_percent}, "
          f"passed={m.passed}")


if __name__ == "__main__":
    main()
