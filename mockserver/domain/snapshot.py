"""A workspace's jobs at one moment, read without the engine's lock (browse and search).

Jobs are immutable, so the references copied under the lock stay as they were: filtering, sorting
(``queries.page_of``) and rendering them after the lock is let go sees the workspace as it stood, and no other
request waits for that work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from contracts.vocabulary import Vocabulary
from mockserver.domain import queries
from mockserver.domain.access import READ, Access, Caller
from mockserver.domain.jobs import Job
from mockserver.domain.products import Catalogue
from mockserver.domain.profiles import Profile
from mockserver.domain.render import Flags, JsonObject, Viewer

__all__ = ["Snapshot"]


@dataclass(frozen=True)
class Snapshot:
    """A workspace's jobs at one moment and the rules of that moment."""

    jobs: list[Job]
    caller: Caller
    access: Access
    profile: Profile
    catalogue: Catalogue
    vocabulary: Vocabulary

    def page(self, flags: Flags, page: queries.Page, keep: Callable[[Job], bool]) -> JsonObject:
        """The page of the jobs the caller may read and ``keep`` keeps, rendered (a PageV2 of Job)."""
        access, caller = self.access, self.caller
        selected, size, following = queries.page_of(
            self.jobs, lambda job: access.may(job, caller, READ) and keep(job), page, self.vocabulary)
        items = [self.profile.render(job, flags, Viewer(access.permissions(job, caller), self.catalogue))
                 for job in selected]
        return {"itemsPerPage": size, "items": items, "next": following}
