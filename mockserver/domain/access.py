"""Who is acting, in which workspace, and what they may do to a job (REFERENCE.md §7).

In a personal workspace only the creator has access (ADMIN, READ and EDIT). In a project, its PI and admins
have all three; other members have what the job's ACL grants them, as a user or through a group of the project.
Acting in a project needs membership: nobody gets into a project by naming it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from contracts.scenario import Project
from mockserver.domain.errors import InvalidRequest, NotAMember
from mockserver.domain.jobs import AclEntry, Job
from mockserver.domain.store import Workspace

__all__ = ["ADMIN", "ALL", "EDIT", "GRANTABLE", "READ", "Access", "Caller", "acl_entries", "acl_json", "changed_acl",
           "creator_acl"]

ADMIN, READ, EDIT = "ADMIN", "READ", "EDIT"
#: Every permission of an administrator, in the order UCloud lists them.
ALL = (ADMIN, READ, EDIT)
#: What an ACL entry may grant.
GRANTABLE = (READ, EDIT)


@dataclass(frozen=True, slots=True)
class Caller:
    """A username and the workspace (project) the caller acts in; ``project`` None is the personal workspace."""

    username: str
    project: str | None = None

    @property
    def workspace(self) -> Workspace:
        """The key of the workspace the caller acts in."""
        return (None, self.project) if self.project is not None else (self.username, None)


class Access:
    """The permission rules over a scenario's projects."""

    def __init__(self, projects: Mapping[str, Project]) -> None:
        self._projects = dict(projects)

    def enter(self, caller: Caller) -> None:
        """Let ``caller`` act in their workspace; ``NotAMember`` when they name a project that is not theirs."""
        if caller.project is not None and self.role(caller.project, caller.username) is None:
            raise NotAMember(caller.project)

    def role(self, project: str, username: str) -> str | None:
        """``PI``, ``ADMIN`` or ``USER`` in ``project``, or None for a stranger."""
        found = self._projects.get(project)
        if found is None:
            return None
        if username == found.pi:
            return "PI"
        if username in found.admins:
            return "ADMIN"
        in_group = any(username in people for people in found.groups.values())
        return "USER" if username in found.members or in_group else None

    def permissions(self, job: Job, caller: Caller) -> tuple[str, ...]:
        """What ``caller``, in their workspace, may do to ``job`` (nothing outside the job's workspace)."""
        if caller.project != job.project:
            return ()
        if job.project is None:
            return ALL if job.created_by == caller.username else ()
        if self.role(job.project, caller.username) in ("PI", "ADMIN"):
            return ALL
        granted = {permission for entry in job.acl if self._covers(entry, job.project, caller.username)
                   for permission in entry.permissions}
        return tuple(permission for permission in ALL if permission in granted)

    def _covers(self, entry: AclEntry, project: str, username: str) -> bool:
        if entry.username is not None:
            return entry.username == username
        found = self._projects.get(entry.project or "")
        return entry.project == project and found is not None and username in found.groups.get(entry.group or "", ())

    def may(self, job: Job, caller: Caller, permission: str) -> bool:
        """Whether ``caller`` holds ``permission`` on ``job``."""
        return permission in self.permissions(job, caller)


def _entry(entity: Mapping[str, Any], permissions: tuple[str, ...]) -> AclEntry:
    if entity.get("type") == "user":
        return AclEntry(permissions, username=str(entity["username"]))
    return AclEntry(permissions, project=str(entity["projectId"]), group=str(entity["group"]))


def acl_entries(raw: Sequence[Mapping[str, Any]]) -> tuple[AclEntry, ...]:
    """ACL entries from their ResourceAclEntry form; ``InvalidRequest`` for a permission no ACL can grant."""
    entries: dict[tuple[str | None, str | None, str | None], AclEntry] = {}
    for item in raw:
        wanted = tuple(item["permissions"])
        if any(permission not in GRANTABLE for permission in wanted):
            raise InvalidRequest(f"An ACL entry can grant only {' and '.join(GRANTABLE)}, not "
                                 f"{', '.join(sorted(set(wanted) - set(GRANTABLE)))}")
        entry = _entry(item["entity"], wanted)
        held = entries.get(entry.entity)
        merged = set(wanted) | set(held.permissions if held else ())
        entries[entry.entity] = replace(entry, permissions=tuple(p for p in GRANTABLE if p in merged))
    return tuple(entries.values())


def creator_acl(username: str, project: str | None) -> tuple[AclEntry, ...]:
    """A new job's ACL: in a project, UCloud adds the creator with READ and EDIT; a personal job has none."""
    return () if project is None else (AclEntry((READ, EDIT), username=username),)


def changed_acl(job: Job, added: Sequence[Mapping[str, Any]], deleted: Sequence[Mapping[str, Any]]) -> Job:
    """The job after ``jobs.updateAcl``: ``deleted`` entities lose everything, ``added`` entries gain theirs.

    ``InvalidRequest`` for a permission an ACL cannot grant (only READ and EDIT can be).
    """
    entries = {entry.entity: entry for entry in job.acl}
    for entity in deleted:
        entries.pop(_entry(entity, ()).entity, None)
    for entry in acl_entries(added):
        held = entries.get(entry.entity)
        merged = set(entry.permissions) | set(held.permissions if held else ())
        entries[entry.entity] = replace(entry, permissions=tuple(p for p in GRANTABLE if p in merged))
    return replace(job, acl=tuple(entries.values()))


def acl_json(job: Job) -> list[dict[str, Any]]:
    """The job's ACL as ResourceAclEntry objects."""
    rendered = []
    for entry in job.acl:
        entity: dict[str, Any] = ({"type": "user", "username": entry.username} if entry.username is not None
                                  else {"type": "project_group", "projectId": entry.project, "group": entry.group})
        rendered.append({"entity": entity, "permissions": list(entry.permissions)})
    return rendered
