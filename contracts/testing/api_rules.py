"""The state machine's rules for the rest of the API: interactive sessions, products, utilization, and sharing
jobs of a project through their ACL, each checked against its invariant."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, multiple, precondition, rule

from contracts.testing import invariants as inv
from contracts.testing.machine_base import PRODUCT, JobRef, Plumbing, lifecycle_specifications

__all__ = ["WholeApiRules"]

GRANTS = ((), ("READ",), ("READ", "EDIT"))


class WholeApiRules(Plumbing):
    """Rules beyond the lifecycle: sessions, products, utilization, sharing."""

    jobs = Bundle("jobs")
    project_jobs = Bundle("project_jobs")

    @rule(job=jobs, kind=st.sampled_from(["WEB", "VNC", "SHELL"]), wait=st.sampled_from([0, 0, 60_000]))
    def open_session(self, job: JobRef, kind: str, wait: int) -> None:
        """A session on rank 0; on a mock, sometimes a minute later, when a new job has left the queue."""
        control = self.transport.control
        if wait and control is not None:
            control.advance(wait)
            for ref in list(self.refs.values()):
                self.fetch(ref)
        before = self.current(job)
        reply = self.call("jobs.openInteractiveSession", {"items": [{"id": job.id, "rank": 0, "sessionType": kind}]},
                          job.owner, job.project)
        if self.target.frozen_clock:  # on a live provider the job may have moved on since it was seen
            self.tally(inv.check_session, before, reply.status, reply.body, 0, kind)

    @rule()
    def retrieve_products(self) -> None:
        body = self.expect(self.call("jobs.retrieveProducts", {}, self.owner), 200)
        self.tally(inv.check_products_offered, body, [PRODUCT])

    @precondition(lambda self: self.transport.control is not None and self.target.frozen_clock)
    @rule(job=jobs)
    def retrieve_utilization(self, job: JobRef) -> None:
        body = self.expect(self.call("jobs.retrieveUtilization", {"jobId": job.id}, job.owner), 200)
        states = [seen["status"]["state"] for seen in self.seen.values()]  # every job of the stage is ours
        self.tally(inv.check_utilization, body, states.count("RUNNING"), states.count("IN_QUEUE"))

    @precondition(lambda self: self.target.project is not None and self.stranger is not None)
    @rule(target=project_jobs, spec=lifecycle_specifications(12))
    def create_in_project(self, spec: dict[str, Any]) -> Any:
        reply = self.call("jobs.create", {"items": [spec]}, self.owner, self.target.project)
        refs = [JobRef(ref.id, ref.owner, self.target.project) for ref in self.created(self.expect(reply, 200))]
        for ref in refs:
            self.fetch(ref)
            self.granted[ref.id] = set()
        return multiple(*refs)

    @rule(job=project_jobs, grant=st.sampled_from(GRANTS))
    def share(self, job: JobRef, grant: tuple[str, ...]) -> None:
        """The owner grants the member ``grant`` (or, with nothing, revokes all); the member's view follows at once."""
        entity = {"type": "user", "username": self.target.member}
        item = {"id": job.id, "added": [{"entity": entity, "permissions": list(grant)}] if grant else [],
                "deleted": [] if grant else [entity]}
        self.expect(self.call("jobs.updateAcl", {"items": [item]}, self.owner, job.project), 200)
        self.granted[job.id] = self.granted.get(job.id, set()) | set(grant) if grant else set()
        self.members_view(job)

    def members_view(self, job: JobRef) -> None:
        granted = self.granted.get(job.id, set())
        reply = self.call("jobs.retrieve", {"id": job.id}, self.stranger, job.project)
        if "READ" not in granted:
            page = self.expect(self.call("jobs.browse", {"itemsPerPage": 250}, self.stranger, job.project), 200)
            self.tally(inv.check_invisible, job.id, reply.status, page["items"])
        elif "EDIT" not in granted:
            self.expect(reply, 200)
            before = self.current(job)
            self.expect(self.call("jobs.terminate", {"items": [{"id": job.id}]}, self.stranger, job.project), 404)
            self.tally(inv.check_read_only, before, self.fetch(job))
        else:
            self.expect(reply, 200)
