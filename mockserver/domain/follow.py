"""What a follower of a job is told (``jobs.follow``), rendered from the job's versions by the profile.

The first message is the job's status as it stands (and, where the profile says so, the whole job); each later
version of the job gives one message with what it added: the updates not told before, the log chunks not told
before (when the job's product supports logs), and the job's status then. A version that adds nothing a
follower sees (a change of its ACL) gives none. These are payloads (``JobsFollowResponse``); the frames around
them are the web layer's.
"""

from __future__ import annotations

from mockserver.domain.jobs import Job, Update
from mockserver.domain.products import Catalogue
from mockserver.domain.profiles import Profile
from mockserver.domain.render import JsonObject, Viewer, log_chunk

__all__ = ["first_message", "new_updates", "next_message"]


def new_updates(before: Job, after: Job) -> tuple[Update, ...]:
    """The updates of ``after`` that ``before`` did not have (each version appends at most one; the oldest may
    have dropped out of the kept window)."""
    if not before.updates:
        return after.updates
    last = before.updates[-1]
    for index in range(len(after.updates) - 1, -1, -1):
        if after.updates[index] is last:
            return after.updates[index + 1:]
    return after.updates


def first_message(job: Job, profile: Profile, viewer: Viewer) -> JsonObject:
    """The first message of a stream: no updates, no log, the current status (and the job, in the service)."""
    message: JsonObject = {"updates": [], "log": [], "newStatus": profile.render_status(job, viewer)}
    if profile.follows_with_job:
        message["initialJob"] = profile.render(job, {}, viewer)
    return message


def next_message(before: Job, after: Job, profile: Profile, catalogue: Catalogue) -> JsonObject | None:
    """The message ``after`` gives a follower who was told ``before``; None when it adds nothing to tell."""
    viewer = Viewer((), catalogue)  # the status and the updates do not depend on who looks
    updates = [profile.render_update(update) for update in new_updates(before, after)]
    logs = after.log[len(before.log):] if catalogue.supports(after.product, "logs") else ()
    status = profile.render_status(after, viewer)
    if not updates and not logs and status == profile.render_status(before, viewer):
        return None
    return {"updates": updates, "log": [log_chunk(chunk) for chunk in logs], "newStatus": status}
