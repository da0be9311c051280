"""Leader election: campaigns (with PreVote), granting votes, and counting them.

It decides who may become leader: Raft §5.2 (one vote per term) and §5.4.1 (the election
restriction), plus the PreVote phase (Raft thesis §9.6) that never bumps anyone's term.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from utils.raft.core.quorum import VoteResult, vote_result
from utils.raft.core.types import CAMPAIGN_TRANSFER_CONTEXT, CampaignReason, Message, MessageType, Role

if TYPE_CHECKING:
    from utils.raft.core.raft import Raft


def hup(r: Raft, transfer: bool) -> None:
    """The election timer fired (or TIMEOUT_NOW arrived): start a (pre-)campaign."""
    if r.role is Role.LEADER:
        return
    r.campaign_reason = (
        CampaignReason.TRANSFER
        if transfer
        else CampaignReason.PRE_VOTE
        if r.config.pre_vote
        else CampaignReason.TIMEOUT
    )
    if r.config.pre_vote and not transfer:
        campaign(r, pre_vote=True, transfer=False)
    else:
        campaign(r, pre_vote=False, transfer=transfer)


def campaign(r: Raft, pre_vote: bool, transfer: bool) -> None:
    if pre_vote:
        r.become_pre_candidate()
        request_type = MessageType.PRE_VOTE
        request_term = r.term + 1  # the term we would campaign in; ours stays unchanged
    else:
        r.become_candidate()
        request_type = MessageType.VOTE
        request_term = r.term
    r.votes[r.id] = True
    if _tally(r):
        return
    context = CAMPAIGN_TRANSFER_CONTEXT if transfer else b""
    last_index, last_term = r.log.last_index, r.log.last_term
    for peer in r.others:
        r.send(request_type, peer, term=request_term, index=last_index, log_term=last_term, context=context)


def handle_vote_request(r: Raft, m: Message) -> None:
    is_pre_vote = m.type is MessageType.PRE_VOTE
    response_type = MessageType.PRE_VOTE_RESPONSE if is_pre_vote else MessageType.VOTE_RESPONSE
    # Raft §5.2: one vote per term (repeat it to the same candidate); a pre-vote for a future
    # term promises nothing.
    can_vote = r.vote == m.sender or (r.vote is None and r.leader is None) or (is_pre_vote and m.term > r.term)
    # Raft §5.4.1: only a candidate whose log is at least as up to date as ours.
    if can_vote and r.log.is_up_to_date(m.index, m.log_term):
        if not is_pre_vote:
            r.election_elapsed = 0
            r.vote = m.sender
        r.send(response_type, m.sender, term=m.term)
    else:
        r.send(response_type, m.sender, term=r.term, reject=True)


def handle_vote_response(r: Raft, m: Message) -> None:
    r.votes.setdefault(m.sender, not m.reject)
    _tally(r)


def _tally(r: Raft) -> bool:
    """Acts on the votes so far; True when the campaign ended."""
    result = vote_result(r.votes, len(r.voters))
    if result is VoteResult.WON:
        if r.role is Role.PRE_CANDIDATE:
            campaign(r, pre_vote=False, transfer=False)
        else:
            r.become_leader()
        return True
    if result is VoteResult.LOST:
        r.become_follower(r.term, None)
        return True
    return False
