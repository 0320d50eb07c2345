"""Regenerate docs/ui.png, the README's screenshot of the page at /_mock/ui, and docs/ui.json, what it shows.

    python scripts/ui_screenshot.py

The stage: the bundled seed scenario (``extend-and-terminate``) with the first four steps of its documented
flow played (create, retrieve, extend by an hour, retrieve), and one malformed extension a client might send
(refused, so it plays no step), on a mock on 127.0.0.1. Debian's Chromium takes the picture through its
chromedriver (``apt-get install chromium chromium-driver``). docs/ui.json records the rows of the jobs table,
the states of the selected job's timeline and the traffic, read from the same page; the test
tests/browser/test_ui_screenshot.py builds the same stage and compares the live page with it.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PICTURE = ROOT / "docs" / "ui.png"
SHOWN = ROOT / "docs" / "ui.json"
SCENARIO = "extend-and-terminate"
STEPS = 4
WINDOW = (1440, 1480)
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
#: A client's mistake, shown in the traffic view with the contract's verdict.
MISTAKE = {"items": [{"jobId": "{job}", "requestedTime": {"hours": -1, "minutes": 0, "seconds": 0}}]}


def browser_paths() -> tuple[str, str] | None:
    """Chromium and its chromedriver, if both are installed."""
    browser = next((found for name in CHROMIUM if (found := shutil.which(name))), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def chrome(paths: tuple[str, str], size: tuple[int, int] = WINDOW) -> Any:
    """Headless Chromium driven by its chromedriver (the system's: Selenium downloads nothing)."""
    from selenium import webdriver  # noqa: PLC0415 - a test dependency, needed only here
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-extensions", "--no-first-run", "--hide-scrollbars", "--force-device-scale-factor=1",
                     f"--window-size={size[0]},{size[1]}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(paths[1]), options=options)


def stage(mock: Any) -> str:
    """Play the seed's first steps and one client mistake on ``mock`` (a ``MockServer``); the job's id."""
    from contracts.testing.transport import HttpTransport  # noqa: PLC0415

    mock.load_scenario(SCENARIO)
    transport = HttpTransport(mock.url, {"user": mock.token})
    created: list[str] = []
    try:
        for step in mock.control.engine.scenario.steps[:STEPS]:
            reply = transport.call(step.call, step.bind(created), user=step.user)
            assert reply.status == step.expect_status, reply.raw
            if step.call == "jobs.create":
                created += [item["id"] for item in reply.body["responses"]]
        mistake = json.loads(json.dumps(MISTAKE).replace("{job}", created[0]))
        assert transport.call("jobs.extend", mistake).status == 400
    finally:
        transport.close()
    return created[0]


def observe(driver: Any) -> dict[str, Any]:
    """What the page shows: the jobs table's rows, the timeline's states, the traffic's rows."""
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    def cells(row: Any, selector: str) -> str:
        return str(row.find_element(By.CSS_SELECTOR, selector).text)

    rows = [{"id": row.get_attribute("data-job"), "owner": cells(row, ".owner"), "state": cells(row, ".job-state"),
             "createdAt": cells(row, "td:nth-child(7) .ms"), "expiresAt": cells(row, "td:nth-child(8) .ms")}
            for row in driver.find_elements(By.CSS_SELECTOR, "#jobs-table tbody tr")]
    history = [item.find_element(By.CSS_SELECTOR, ".state").text
               for item in driver.find_elements(By.CSS_SELECTOR, "#timeline-updates li")]
    upcoming = [item.text for item in driver.find_elements(By.CSS_SELECTOR, "#timeline-upcoming .what")]
    traffic = [{"seq": int(row.get_attribute("data-seq")), "operation": cells(row, "td:nth-child(6)"),
                "status": int(cells(row, ".status")), "valid": "broken" not in (row.get_attribute("class") or "")}
               for row in driver.find_elements(By.CSS_SELECTOR, "#traffic-table tbody tr")]
    clock = driver.find_element(By.ID, "clock-ms").text
    return {"scenario": SCENARIO, "steps": STEPS, "clock": clock, "jobs": rows,
            "timeline": {"history": history, "upcoming": upcoming}, "traffic": traffic}


def rendered(driver: Any, job_id: str) -> Any:
    """Wait until the page shows the staged job's timeline and the whole traffic; the driver."""
    from selenium.webdriver.common.by import By  # noqa: PLC0415
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

    def ready(driver: Any) -> bool:
        title = driver.find_element(By.ID, "timeline-title").text
        return title == f"Timeline of job {job_id}" and len(
            driver.find_elements(By.CSS_SELECTOR, "#traffic-table tbody tr")) == STEPS + 1

    WebDriverWait(driver, 10, poll_frequency=0.05).until(ready)
    return driver


def main() -> int:
    """Stage the seed, take the picture, write what it shows."""
    from mockserver import MockServer  # noqa: PLC0415

    paths = browser_paths()
    if paths is None:
        print("needs Chromium and chromedriver: apt-get install -y chromium chromium-driver", file=sys.stderr)
        return 2
    with MockServer(scenario=SCENARIO) as mock:
        job_id = stage(mock)
        driver = chrome(paths)
        try:
            driver.get(f"{mock.url}/_mock/ui#job={job_id}")
            rendered(driver, job_id)
            PICTURE.parent.mkdir(exist_ok=True)
            driver.save_screenshot(str(PICTURE))
            shown = observe(driver)
        finally:
            driver.quit()
    SHOWN.write_text(json.dumps(shown, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {PICTURE.relative_to(ROOT)} and {SHOWN.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
