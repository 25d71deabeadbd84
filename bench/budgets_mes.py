"""Speed of the Method of Equal Shares with its completion: 50,000 ballots over 100 projects.

Run from the repository root:  python -m bench.budgets_mes  [--reference] [--pabutools-full]
Prints seconds and ratios measured in the same run; not a test (docs/bench-budgets.md has results).

The instance (seeded, made here): 100 projects of 5万–80万元 (in 分) in 10 areas, the budget 30 %
of their total; each of 50,000 voters approves 1–8 projects drawn by popularity (log-normal) and six
times more likely in the voter's own area.  The completion adds 100 分 per voter per step.

* civic: ``rules.compute("equal_shares", …)`` with the completion (the figure issue #20 asks for:
  under 2 s), and plain MES (no completion);
* pabutools: ``method_of_equal_shares`` with ``Cost_Sat`` on the same instance (ballots as a
  multiprofile), plain MES only by default: with the completion it runs MES once per step (each
  step as long as the plain run: the estimate printed is steps × that); ``--pabutools-full`` runs it;
* ``--reference``: the plain exact civic MES it replaced (tests/budgets/reference_mes.py).

Every variant's winners are checked equal to civic's.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from civic.budgets import equal_shares as es  # noqa: E402
from civic.budgets.rules import Project, compute  # noqa: E402

VOTERS, PROJECTS, AREAS, INCREMENT = 50_000, 100, 10, 100


def make_instance(seed: int = 20) -> tuple[list[Project], list[frozenset[str]], int]:
    rng = random.Random(seed)
    projects = [Project(f"p{i:03d}", rng.randint(50, 800) * 100_000) for i in range(PROJECTS)]
    pop = [rng.lognormvariate(0, 1) for _ in range(PROJECTS)]
    budget = sum(p.cost for p in projects) * 3 // 10
    weights = [[pop[i] * (6 if i % AREAS == home else 1) for i in range(PROJECTS)] for home in range(AREAS)]
    ballots = []
    for _ in range(VOTERS):
        w = weights[rng.randrange(AREAS)]
        k = rng.randint(1, 8)
        chosen: set[int] = set()
        while len(chosen) < k:
            chosen.add(rng.choices(range(PROJECTS), weights=w)[0])
        ballots.append(frozenset(projects[i].id for i in chosen))
    return projects, ballots, budget


CPU: dict[str, float] = {}


def timed(fn, label: str = ""):
    """Wall-clock seconds (and, in CPU, this process's CPU seconds: less sensitive to the load of
    other processes on a shared machine) of ``fn()``."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    t = time.perf_counter() - t0
    if label:
        CPU[label] = min(CPU.get(label, float("inf")), time.process_time() - c0)
    return t, out


def pabutools_mes(projects, ballots, budget, increment):
    from pabutools.election import ApprovalBallot, ApprovalMultiProfile, ApprovalProfile, Cost_Sat, Instance
    from pabutools.election import Project as PabuProject
    from pabutools.rules import method_of_equal_shares
    from pabutools.tiebreaking import TieBreakingRule

    instance = Instance(budget_limit=budget)
    pp = {p.id: PabuProject(p.id, p.cost) for p in projects}
    instance.update(pp.values())
    profile = ApprovalProfile([ApprovalBallot([pp[i] for i in b]) for b in ballots])
    ties = TieBreakingRule(lambda _i, _p, project: (project.cost, project.name))

    def run():
        multi = ApprovalMultiProfile(profile=profile)  # grouping identical ballots: part of its time
        return [p.name for p in method_of_equal_shares(instance, multi, sat_class=Cost_Sat, tie_breaking=ties,
                                                       voter_budget_increment=increment)]
    return run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference", action="store_true", help="also time the plain exact MES it replaced")
    ap.add_argument("--pabutools-full", action="store_true", help="run pabutools with the completion (long)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    projects, ballots, budget = make_instance()
    print(f"instance: {VOTERS} ballots ({len(set(ballots))} distinct), {PROJECTS} projects, budget {budget} 分, "
          f"{budget / VOTERS:.0f} 分 per voter, completion +{INCREMENT} 分 per step")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    steps = [0]
    plain_mes = es.mes

    def counting(*a, **k):
        steps[0] += 1
        return plain_mes(*a, **k)
    es.mes = counting
    full, plain = [], []
    for _ in range(args.repeat):
        steps[0] = 0
        t, out = timed(lambda: compute("equal_shares", projects, ballots, budget, increment=INCREMENT), "full")
        full.append(t)
        n_steps = steps[0]
        t, mes_only = timed(lambda: compute("equal_shares", projects, ballots, budget, increment=None), "plain")
        plain.append(t)
    es.mes = plain_mes
    print(f"civic MES + completion: best {min(full):.2f} s, median {sorted(full)[len(full) // 2]:.2f} s "
          f"(CPU {CPU['full']:.2f} s; {n_steps} MES runs; {len(out.winners)} funded, {out.spent / budget:.1%} of the budget)")
    print(f"civic plain MES: best {min(plain):.3f} s (CPU {CPU['plain']:.3f} s)")

    t_pabu, pabu_winners = timed(pabutools_mes(projects, ballots, budget, None), "pabutools")
    assert pabu_winners == mes_only.winners, "pabutools' plain MES differs"
    print(f"pabutools plain MES: {t_pabu:.2f} s (CPU {CPU['pabutools']:.2f} s) → ratio pabutools/civic "
          f"(plain MES) {t_pabu / min(plain):.0f} (CPU {CPU['pabutools'] / CPU['plain']:.0f})")
    print(f"pabutools MES + completion, estimated ({n_steps} runs × its plain run): {n_steps * t_pabu:.0f} s "
          f"→ ratio to civic's {n_steps * t_pabu / min(full):.0f}")
    if args.pabutools_full:
        t, pabu = timed(pabutools_mes(projects, ballots, budget, INCREMENT))
        mes_part = [w for w in out.winners if w in set(pabu)]
        assert pabu == mes_part[:len(pabu)], "pabutools' MES with completion differs"
        print(f"pabutools MES + completion (measured): {t:.0f} s → ratio {t / min(full):.0f}")
    if args.reference:
        from tests.budgets import reference_mes

        t, ref = timed(lambda: reference_mes.equal_shares(projects, ballots, budget, increment=INCREMENT), "ref")
        assert ref == out.winners, "the reference differs"
        print(f"plain exact civic MES it replaced, + completion: {t:.1f} s (CPU {CPU['ref']:.1f} s) → ratio "
              f"{t / min(full):.0f} (CPU {CPU['ref'] / CPU['full']:.0f})")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
