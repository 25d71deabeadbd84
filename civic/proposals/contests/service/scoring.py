"""The jury: scores per criterion, the ranking (:mod:`civic.proposals.contests.ranking`) and its publication."""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa

from civic.core import audit
from civic.core.db import as_utc, flush_or, utcnow
from civic.core.errors import Conflict, Forbidden, ValidationFailed
from civic.extensions import db
from civic.property import service as registry
from civic.proposals.contests import ranking
from civic.proposals.contests.models import (
    Contest,
    Idea,
    RankingEntry,
    Score,
)
from civic.proposals.contests.service.contests import (
    SCORE_MAX,
    criteria_of,
    get_contest,
    get_idea,
    is_juror,
    is_organiser,
    require_organiser,
    require_phase,
    visible_idea,
)
from civic.proposals.notify import notify

# --- jury --------------------------------------------------------------------------------------

def score_idea(actor, idea_id: int, scores: dict[int, int]) -> list[Score]:
    """A juror scores every criterion of an approved idea, 0-10; scoring again replaces their scores.

    :raises Forbidden: ``not_a_juror``; ``juror_conflict`` (the juror lives in a unit of the author's:
        same household).
    :raises Conflict: ``phase_forbids_action``; ``idea_not_open``.
    :raises ValidationFailed: ``scores_incomplete`` (every criterion, nothing else), ``score_out_of_range``.
    :raises NotFound: ``idea_not_found`` (also an idea ``actor`` may not see).

    Order (issue #15): the idea seen, then the juror, then the phase and the idea's state, then the scores.
    """
    idea = visible_idea(actor, idea_id)
    contest = get_contest(idea.contest_id)
    if not is_juror(contest, actor):
        raise Forbidden("您不是本次征集的评委", code="not_a_juror")
    require_phase(contest, "score")
    if idea.state != "approved":
        raise Conflict("该金点子当前未公开", code="idea_not_open", details={"state": idea.state})
    mine = {u.id for _l, u in registry.units_of_resident(actor.id)}
    theirs = {u.id for _l, u in registry.units_of_resident(idea.author_id)}
    if actor.id == idea.author_id or mine & theirs:
        audit.record("idea.juror_conflict", "idea", idea.id, actor=actor)
        raise Forbidden("评委不能为本户居民的金点子评分（利益冲突）", code="juror_conflict",
                        details={"idea_id": idea.id, "unit_ids": sorted(mine & theirs)})
    criteria = {c.id: c for c in criteria_of(contest)}
    if set(scores) != set(criteria):
        raise ValidationFailed("须为每一项评审标准打分", code="scores_incomplete",
                               details={"criteria": sorted(criteria), "given": sorted(scores)})
    for cid, v in scores.items():
        if not 0 <= v <= SCORE_MAX:
            raise ValidationFailed("分数须在 0 到 10 之间", code="score_out_of_range", details={"criterion_id": cid})
    existing = {s.criterion_id: s for s in db.session.scalars(sa.select(Score).where(
        Score.idea_id == idea.id, Score.juror_id == actor.id))}
    out = []
    for cid, v in sorted(scores.items()):
        s = existing.get(cid) or Score(idea_id=idea.id, juror_id=actor.id, criterion_id=cid, value=v)
        s.value = v
        db.session.add(s)
        out.append(s)
    audit.record("idea.score", "idea", idea.id, actor=actor, data={str(k): v for k, v in sorted(scores.items())})
    db.session.flush()
    return out


def compute_ranking(contest: Contest) -> list[ranking.Ranked]:
    """The ranking of the contest's approved ideas now (see :mod:`civic.proposals.contests.ranking`)."""
    ideas = list(db.session.scalars(sa.select(Idea).where(Idea.contest_id == contest.id, Idea.state == "approved")))
    scores: dict[int, dict[int, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
    if ideas:
        for s in db.session.scalars(sa.select(Score).where(Score.idea_id.in_([i.id for i in ideas]))):
            scores[s.idea_id][s.juror_id][s.criterion_id] = s.value
    facts = [ranking.IdeaFacts(i.id, i.support_count, as_utc(i.created_at), scores[i.id]) for i in ideas]
    weights = {c.id: c.weight for c in criteria_of(contest)}
    return ranking.rank(facts, weights, support_weight=contest.support_weight, jury_weight=contest.jury_weight)


def publish_ranking(actor, contest_id: int) -> list[RankingEntry]:
    """Freeze and publish the ranking, with each idea's breakdown, in the results phase.  Authors are told.
    Once published, the schedule cannot take the contest back to an earlier phase (:func:`set_schedule`).

    :raises Conflict: ``ranking_already_published`` (also when published, or the contest changed, by
        another request meanwhile); ``phase_forbids_action``.
    """
    contest = get_contest(contest_id)
    require_organiser(actor, contest)
    require_phase(contest, "publish_ranking")
    if contest.ranking_published_at is not None:
        raise Conflict("排名已公布", code="ranking_already_published")
    # Claim the publication first: of two requests publishing at once (or one changing the schedule
    # meanwhile) the later finds the contest's version moved on.
    contest.ranking_published_at = utcnow()
    flush_or(Conflict("排名已公布（或征集刚被他人修改），请刷新后查看", code="ranking_already_published"))
    rows = []
    for r in compute_ranking(contest):
        rows.append(RankingEntry(
            contest_id=contest.id, idea_id=r.idea_id, rank=r.rank, support_count=r.support_count,
            support_score=ranking.as_decimal(r.support_score), jury_mean=ranking.as_decimal(r.jury_mean),
            jury_score=ranking.as_decimal(r.jury_score), final_score=ranking.as_decimal(r.final_score),
            jurors=r.jurors))
    db.session.add_all(rows)
    audit.record("contest.publish_ranking", "contest", contest.id, actor=actor,
                 data={"ranking": [[r.rank, r.idea_id, str(r.final_score)] for r in rows]})
    db.session.flush()
    for r in rows:
        idea = get_idea(r.idea_id)
        notify([idea.author_id], kind="ranking_published", subject_type="idea", subject_id=idea.id,
               title=f"「{contest.theme}」结果公布", body=f"您的金点子「{idea.title}」排名第 {r.rank}。")
    return rows


def published_ranking(actor, contest_id: int, *, preview: bool = False) -> list[dict]:
    """The published ranking (everyone), or for organiser staff with ``preview`` the ranking as it
    stands.  Each row: rank, idea id and title, supports, support/jury/final scores (6 decimals).

    :raises Conflict: ``ranking_not_published``.
    """
    contest = get_contest(contest_id)
    if contest.ranking_published_at is None:
        if not (preview and is_organiser(actor, contest)):
            raise Conflict("排名尚未公布", code="ranking_not_published")
        return [{"rank": r.rank, "idea_id": r.idea_id, "title": get_idea(r.idea_id).title,
                 "support_count": r.support_count, "support_score": ranking.as_decimal(r.support_score),
                 "jury_mean": ranking.as_decimal(r.jury_mean), "jury_score": ranking.as_decimal(r.jury_score),
                 "final_score": ranking.as_decimal(r.final_score), "jurors": r.jurors}
                for r in compute_ranking(contest)]
    rows = db.session.execute(sa.select(RankingEntry, Idea.title).join(Idea, Idea.id == RankingEntry.idea_id)
                              .where(RankingEntry.contest_id == contest.id).order_by(RankingEntry.rank)).all()
    return [{"rank": e.rank, "idea_id": e.idea_id, "title": title, "support_count": e.support_count,
             "support_score": e.support_score, "jury_mean": e.jury_mean, "jury_score": e.jury_score,
             "final_score": e.final_score, "jurors": e.jurors} for e, title in rows]
