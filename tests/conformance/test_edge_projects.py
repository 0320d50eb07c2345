"""Nobody gets into a project by naming it (issue 10 §3), over a real socket.

With ``--user`` tokens for alice (the PI of the project research) and carol (no member of it), carol sends the
project's id in the ``Project`` header: she can neither list its jobs nor terminate them, and the job stays as
it was. (Project membership itself comes from the scenario.)
"""

from __future__ import annotations

from contracts.scenario import Project
from tests.conformance.support import job_spec, live_server
from tests.mockserver.support import world

RESEARCH = {"research": Project(id="research", pi="alice", members=(), groups={})}


def test_naming_a_project_one_is_not_a_member_of_gets_403_and_changes_nothing() -> None:
    with live_server(scenario=world(projects=RESEARCH), users={"alice-token": "alice", "carol-token": "carol"}) as live:
        alice = {"Project": "research"}
        created = live.request("POST", "/api/jobs", {"items": [job_spec()]}, token="alice-token", headers=alice)
        assert created.status == 200, created.body
        job_id = created.json["responses"][0]["id"]
        refused = {"why": "You are not a member of the project 'research'", "errorCode": None}
        for method, target, body in [("GET", "/api/jobs/browse", None),
                                     ("GET", f"/api/jobs/retrieve?id={job_id}", None),
                                     ("POST", "/api/jobs/terminate", {"items": [{"id": job_id}]})]:
            answer = live.request(method, target, body, token="carol-token", headers={"Project": "research"})
            assert (answer.status, answer.json) == (403, refused), (method, target)
        personal = live.request("POST", "/api/jobs/terminate", {"items": [{"id": job_id}]}, token="carol-token")
        assert personal.status == 404  # nor from her own workspace
        job = live.request("GET", f"/api/jobs/retrieve?id={job_id}", token="alice-token", headers=alice)
        assert (job.status, job.json["status"]["state"]) == (200, "IN_QUEUE")
