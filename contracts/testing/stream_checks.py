"""What a jobs.follow stream gave, checked: every frame against the contract (jobs.asyncapi.yaml's schemas),
then the stream against the invariants: the first message is only the status, statuses move forward, no update
comes twice, and a stream that ends well ends at a final state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from contracts.streams import default_streams
from contracts.testing import invariants as inv
from contracts.testing.following import FOLLOW
from contracts.testing.tally import Tally
from contracts.validation import Contract

__all__ = ["check_stream"]


def check_stream(frames: Sequence[Mapping[str, Any]], contract: Contract, tally: Tally) -> None:
    """Every frame against the contract, then the stream against the invariants (the first violation raises)."""
    call = default_streams()[FOLLOW]
    for frame in frames:
        tally(inv.check_frame, contract, call.frame_schema(frame), frame)
    tally(inv.check_follow_first, frames)
    tally(inv.check_follow_forward, frames)
    tally(inv.check_follow_updates_once, frames)
    tally(inv.check_follow_end, frames)
