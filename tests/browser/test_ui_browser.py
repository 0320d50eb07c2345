"""The page at /_mock/ui in a real browser (issue 13): it follows the mock as clients use it, its buttons and
forms move the clock, set faults and load scenarios, it works from the keyboard, and markup sent by a client is
shown as text."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from contracts.testing.transport import HttpTransport, Reply, mock_token
from mockserver import MockServer
from tests.browser.support import ROOT

pytestmark = pytest.mark.xdist_group("browser")

Until = Callable[..., Any]
HOUR_MS = 3_600_000
SPEC = {"application": {"name": "acme-batch", "version": "1.0.0"},
        "product": {"id": "example-compute", "category": "example-compute", "provider": "example"},
        "timeAllocation": {"hours": 1, "minutes": 0, "seconds": 0}}


def _call(mock: MockServer, operation: str, request: Any, user: str = "user") -> Reply:
    """One call of the Jobs API over the socket, as ``user``."""
    transport = HttpTransport(mock.url, {user: mock_token(user)})
    try:
        return transport.call(operation, request)
    finally:
        transport.close()


def _create(mock: MockServer, user: str = "user", **changes: Any) -> str:
    reply = _call(mock, "jobs.create", {"items": [{**SPEC, **changes}]}, user)
    assert reply.status == 200, reply.raw
    return str(reply.body["responses"][0]["id"])


def _send(mock: MockServer, method: str, path: str, body: bytes = b"", token: str | None = None) -> int:
    """A request as a careless or hostile client sends it; the status."""
    connection = http.client.HTTPConnection(mock.host, mock.port, timeout=10)
    try:
        connection.request(method, path, body=body or None,
                           headers={"Authorization": f"Bearer {token}"} if token else {})
        return connection.getresponse().status
    finally:
        connection.close()


def _texts(driver: Any, selector: str) -> list[str]:
    """The text of every element ``selector`` finds, read in one go (the page redraws between two reads)."""
    found: list[str] = driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map((element) => element.innerText)", selector)
    return found


def _text(driver: Any, selector: str) -> str:
    found = _texts(driver, selector)
    return found[0] if found else ""


def _state_in_table(job_id: str) -> Callable[[Any], str]:
    return lambda driver: _text(driver, f'#jobs-table tr[data-job="{job_id}"] .job-state')


def test_the_page_loads_with_every_part_and_no_errors(page: Any) -> None:
    assert page.title == "ucloud-jobs mock"
    headings = _texts(page, "h2")
    assert headings[:3] == ["Clock", "Scenario", "Faults"]
    assert headings[3].startswith("Jobs")
    assert headings[4:] == ["Timeline", "Traffic"]
    assert "blank" in page.find_element(By.ID, "summary").text
    assert page.find_element(By.ID, "clock-ms").text == "1633329776235 ms"
    # a Content-Security-Policy violation or a script error would be logged as SEVERE
    assert [entry for entry in page.get_log("browser") if entry["level"] == "SEVERE"] == []


def test_a_job_created_through_the_api_appears(page: Any, mock: MockServer, until: Until) -> None:
    job_id = _create(mock, name="first run")
    assert until(_state_in_table(job_id)) == "IN_QUEUE"
    row = _text(page, f'#jobs-table tr[data-job="{job_id}"]')
    assert "first run" in row
    assert "acme-batch 1.0.0" in row
    assert "2021-10-04 06:42:56.235 UTC" in row  # createdAt
    assert "1633329776235" in row
    assert "2021-10-04 07:42:56.235 UTC" in row  # expiresAt: an hour's allocation
    assert "1633333376235" in row
    until(lambda driver: _text(driver, "#timeline-title") == f"Timeline of job {job_id}")  # the newest is shown


def test_the_clock_button_moves_the_job_on(page: Any, mock: MockServer, until: Until) -> None:
    job_id = _create(mock)
    until(lambda driver: _text(driver, "#timeline-upcoming") != "")
    assert "leaves the queue" in _text(page, "#timeline-upcoming")
    page.find_element(By.ID, "advance-minute").click()
    until(lambda driver: _state_in_table(job_id)(driver) == "RUNNING")
    until(lambda driver: _texts(driver, "#timeline-updates .state") == ["IN_QUEUE", "RUNNING"])
    assert "runs out of time: EXPIRED" in _text(page, "#timeline-upcoming")
    assert mock.clock.now_ms == 1633329776235 + 60_000
    page.find_element(By.ID, "advance-next").click()  # to the expiry
    until(lambda driver: _state_in_table(job_id)(driver) == "EXPIRED")


def test_the_clock_moves_by_an_hour_by_a_chosen_amount_and_to_a_set_time(page: Any, mock: MockServer,
                                                                          until: Until) -> None:
    start = mock.clock.now_ms
    page.find_element(By.ID, "advance-hour").click()
    until(lambda driver: _text(driver, "#clock-ms") == f"{start + HOUR_MS} ms")
    amount = page.find_element(By.ID, "advance-amount")
    amount.clear()
    amount.send_keys("90")
    Select(page.find_element(By.ID, "advance-unit")).select_by_visible_text("seconds")
    page.find_element(By.CSS_SELECTOR, "#advance-form button[type=submit]").click()
    until(lambda driver: _text(driver, "#clock-ms") == f"{start + HOUR_MS + 90_000} ms")
    for typed, expected, shown in (("2021-10-05T00:00:00Z", 1633392000000, "2021-10-05 00:00:00.000 UTC"),
                                   ("1633395600000", 1633395600000, "2021-10-05 01:00:00.000 UTC")):
        field = page.find_element(By.ID, "set-time")
        field.clear()
        field.send_keys(typed, Keys.ENTER)
        until(lambda driver, expected=expected: _text(driver, "#clock-ms") == f"{expected} ms")
        assert _text(page, "#clock-utc") == shown
    assert mock.clock.now_ms == 1633395600000
    field = page.find_element(By.ID, "set-time")
    field.clear()
    field.send_keys(str(start), Keys.ENTER)  # back in time: refused, and the page says why
    assert "setMs" in until(lambda driver: _text(driver, "#message"))
    assert mock.clock.now_ms == 1633395600000


def test_the_jobs_filter_by_state_and_owner_and_come_in_pages(page: Any, mock: MockServer, until: Until) -> None:
    running = _create(mock)
    mock.clock.advance(minutes=1)  # the first job runs; the others wait in the queue
    for _ in range(2):
        assert _call(mock, "jobs.create", {"items": [SPEC] * 25}).status == 200
    alices = _create(mock, user="alice")
    until(lambda driver: _text(driver, "#jobs-range") == "1\N{EN DASH}50 of 52")
    assert _texts(page, "#jobs-table tbody tr .job-state").count("RUNNING") == 0  # the oldest is on page two
    page.find_element(By.ID, "jobs-next").click()
    until(lambda driver: _text(driver, "#jobs-range") == "51\N{EN DASH}52 of 52")
    assert [row.split()[0] for row in _texts(page, "#jobs-table tbody tr")][-1] == running
    Select(page.find_element(By.ID, "filter-state")).select_by_value("RUNNING")
    until(lambda driver: _text(driver, "#jobs-range") == "1\N{EN DASH}1 of 1 matching (52 in all)")
    assert _text(page, "#jobs-table tbody tr").split()[0] == running
    Select(page.find_element(By.ID, "filter-state")).select_by_value("")
    page.find_element(By.ID, "filter-owner").send_keys("alice")
    until(lambda driver: _text(driver, "#jobs-range") == "1\N{EN DASH}1 of 1 matching (52 in all)")
    assert _text(page, "#jobs-table tbody tr .owner") == "alice"
    assert _text(page, "#jobs-table tbody tr").split()[0] == alices


def test_the_timeline_shows_what_a_follower_of_the_job_is_told(page: Any, mock: MockServer, until: Until) -> None:
    mock.load_scenario(str(ROOT / "examples" / "scenarios" / "follow-a-job.yaml"))
    stream = mock.follow("123")  # plays the scenario's one step
    until(lambda driver: _text(driver, "#timeline-title") == "Timeline of job 123")
    assert _text(page, "#timeline-log") == "No output yet."
    page.find_element(By.ID, "advance-next").click()  # the documented second: the job runs, writes, ends
    until(lambda driver: _state_in_table("123")(driver) == "SUCCESS")
    followed = [chunk for frame in stream if frame["type"] == "message" for chunk in frame["payload"]["log"]]
    assert [chunk["rank"] for chunk in followed] == [0]
    until(lambda driver: _text(driver, "#timeline-log").startswith("[2021-10-08 08:02:32.778 UTC] rank 0: GNU bash"))
    assert _text(page, "#timeline-log").split(": ", 1)[1].strip() == followed[0]["stdout"].strip()
    assert _text(page, "#timeline-log-note") == "What jobs.follow sends its followers, oldest first."


def test_a_bad_request_shows_its_violation(page: Any, mock: MockServer, until: Until) -> None:
    job_id = _create(mock)
    bad = {"items": [{"jobId": job_id, "requestedTime": {"hours": -1, "minutes": 0, "seconds": 0}}]}
    assert _call(mock, "jobs.extend", bad).status == 400
    verdict = until(lambda driver: _text(driver, "#traffic-table tr.broken .verdict"))
    assert verdict == "request /items/0/requestedTime/hours -1 is less than the minimum of 0"
    row = _text(page, "#traffic-table tr.broken")
    assert "jobs.extend" in row
    assert "400" in row
    Select(page.find_element(By.ID, "traffic-operation")).select_by_value("jobs.create")
    until(lambda driver: not driver.find_elements(By.CSS_SELECTOR, "#traffic-table tr.broken"))
    assert _text(page, "#traffic-table tbody tr .valid") == "valid"


def test_the_traffic_is_newest_first_with_who_when_and_a_status_filter(page: Any, mock: MockServer,
                                                                       until: Until) -> None:
    _create(mock, user="alice")
    mock.clock.advance(seconds=5)
    assert _call(mock, "jobs.retrieve", {"id": "424242"}, user="bob").status == 404
    until(lambda driver: len(_texts(driver, "#traffic-table tbody tr")) == 2)
    rows = page.execute_script("""return [...document.querySelectorAll("#traffic-table tbody tr")].map((row) =>
        [...row.cells].map((cell) => cell.innerText.replace(/\\s+/g, " ").trim()))""")
    assert [(row[3], row[5], row[6]) for row in rows] == [("bob", "jobs.retrieve", "404"),
                                                           ("alice", "jobs.create", "200")]
    assert [row[1] for row in rows] == ["06:43:01.235 UTC 2021-10-04 · 1633329781235",
                                        "06:42:56.235 UTC 2021-10-04 · 1633329776235"]  # the virtual clock
    journal = mock.journal
    assert [row[2] for row in rows] == [f"{entry['wallTime'][11:].replace('Z', ' UTC')} {entry['wallTime'][:10]}"
                                        for entry in reversed(journal)]  # the wall clock's, as journaled
    page.find_element(By.ID, "traffic-status").send_keys("4xx")
    until(lambda driver: len(_texts(driver, "#traffic-table tbody tr")) == 1)
    assert _text(page, "#traffic-table tbody tr .user") == "bob"


def test_a_fault_set_on_the_page_fails_the_next_call(page: Any, mock: MockServer, until: Until) -> None:
    job_id = _create(mock)
    Select(page.find_element(By.ID, "fault-operation")).select_by_value("jobs.retrieve")
    page.find_element(By.ID, "fault-status").send_keys("503")
    page.find_element(By.ID, "fault-times").send_keys("1")
    page.find_element(By.CSS_SELECTOR, "#fault-form button[type=submit]").click()
    until(lambda driver: "jobs.retrieve" in _text(driver, "#faults-table tbody"))
    assert _call(mock, "jobs.retrieve", {"id": job_id}).status == 503
    assert _call(mock, "jobs.retrieve", {"id": job_id}).status == 200
    until(lambda driver: driver.find_element(By.ID, "faults-empty").is_displayed())


def test_a_fault_can_be_removed_from_the_page(page: Any, mock: MockServer, until: Until) -> None:
    mock.faults.set({"operation": "jobs.browse", "status": 500}, {"operation": "jobs.create", "latencyMs": 5})
    until(lambda driver: len(_texts(driver, "#faults-table tbody tr")) == 2)
    page.find_element(By.CSS_SELECTOR, '[aria-label="Remove the fault on jobs.browse"]').click()
    until(lambda driver: len(_texts(driver, "#faults-table tbody tr")) == 1)
    assert [fault["operation"] for fault in mock.faults.active] == ["jobs.create"]


def test_another_scenario_loads(page: Any, mock: MockServer, until: Until) -> None:
    _create(mock)
    until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "#jobs-table tbody tr"))
    Select(page.find_element(By.ID, "scenario-name")).select_by_value("extend-and-terminate")
    Select(page.find_element(By.ID, "scenario-profile")).select_by_value("ucloud")
    page.find_element(By.CSS_SELECTOR, "#scenario-form button[type=submit]").click()
    until(lambda driver: "extend-and-terminate" in _text(driver, "#summary"))
    assert "ucloud" in _text(page, "#scenario-facts")
    assert "step 0 of 6 played" in _text(page, "#scenario-facts")
    until(lambda driver: not driver.find_elements(By.CSS_SELECTOR, "#jobs-table tbody tr"))
    assert mock.control.stage().scenario == "extend-and-terminate"
    assert mock.control.stage().profile == "ucloud"


def test_reset_forgets_the_jobs_and_restarts_the_scenario(page: Any, mock: MockServer, until: Until) -> None:
    mock.load_scenario("extend-and-terminate")
    _call(mock, "jobs.create", {"items": [SPEC]})  # plays the script's first step
    until(lambda driver: "step 1 of 6 played" in _text(driver, "#scenario-facts"))
    until(lambda driver: len(_texts(driver, "#jobs-table tbody tr")) == 1)
    page.find_element(By.ID, "reset").click()
    until(lambda driver: "step 0 of 6 played" in _text(driver, "#scenario-facts"))
    until(lambda driver: not _texts(driver, "#jobs-table tbody tr"))
    assert (mock.control.stage().scenario, mock.journal) == ("extend-and-terminate", [])


def test_the_page_works_from_the_keyboard(page: Any, mock: MockServer, until: Until) -> None:
    unnamed = page.execute_script("""
        return [...document.querySelectorAll("input, select, button, summary")].filter((control) =>
            !(control.labels && control.labels.length) && !control.getAttribute("aria-label")
            && !control.textContent.trim()).map((control) => control.outerHTML);""")
    assert unnamed == []
    page.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    assert page.switch_to.active_element.text == "Skip to the jobs"
    page.switch_to.active_element.send_keys(Keys.TAB)
    assert page.switch_to.active_element.get_attribute("id") == "advance-minute"  # the clock comes first
    page.switch_to.active_element.send_keys(Keys.ENTER)
    until(lambda driver: driver.find_element(By.ID, "clock-ms").text == "1633329836235 ms")
    first, second = _create(mock), _create(mock)
    until(lambda driver: len(_texts(driver, "#jobs-table tbody tr")) == 2)
    button = page.find_element(By.CSS_SELECTOR, f'[data-key="job:{first}"]')
    page.execute_script("arguments[0].focus()", button)
    button.send_keys(Keys.ENTER)
    until(lambda driver: _text(driver, "#timeline-title") == f"Timeline of job {first}")
    assert page.find_element(By.CSS_SELECTOR, f'[data-key="job:{second}"]').get_attribute("aria-pressed") == "false"
    assert page.switch_to.active_element.get_attribute("data-key") == f"job:{first}"  # focus survives a redraw


PROBE = '"><img src=x onerror="document.body.dataset.xss=1"><script>document.body.dataset.xss=2</script>'


def test_markup_from_clients_is_shown_as_text(page: Any, mock: MockServer, until: Until) -> None:
    job_id = _create(mock, user=PROBE)  # a JWT's sub names the owner
    body = json.dumps({"items": [{"jobId": PROBE, "requestedTime": PROBE}]}).encode()
    assert _send(mock, "POST", "/api/jobs/extend", body, mock_token(PROBE)) == 400
    assert _send(mock, "GET", "/api/%3Cimg%20src=x%20onerror=alert(1)%3E") == 404
    until(lambda driver: len(_texts(driver, "#traffic-table tbody tr")) == 3)
    for summary in page.find_elements(By.CSS_SELECTOR, "#traffic-table summary"):
        summary.click()  # open every body
    until(lambda driver: PROBE in _text(driver, "#traffic-table"))
    assert _text(page, f'#jobs-table tr[data-job="{job_id}"] .owner') == PROBE
    until(lambda driver: PROBE in _text(driver, "#timeline-body"))
    assert page.execute_script("return document.body.dataset.xss") is None
    assert page.find_elements(By.CSS_SELECTOR, "main img, main script") == []
    assert len(page.find_elements(By.TAG_NAME, "script")) == 1
