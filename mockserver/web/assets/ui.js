// The page at /_mock/ui: it reads the admin API (/_mock/...) and writes through it, and polls for changes.
// Everything shown is set as text (textContent, never innerHTML): job ids, owners and journal bodies come from
// clients of the mock, and must never become markup.
"use strict";

(() => {
  // How often the page asks for changes: once a second, or ?poll=MS (100 to 60000) in the page's address.
  const POLL_MS = Math.min(60000, Math.max(100, Number(new URLSearchParams(location.search).get("poll")) || 1000));
  const JOBS_PER_PAGE = 50;
  const TRAFFIC_PER_PAGE = 25;
  const view = {
    selected: null, jobsOffset: 0, state: "", owner: "",
    trafficBefore: null, trafficOperation: "", trafficStatus: "",
  };
  const latest = {};           // the data each section was last drawn from, as JSON text
  const data = {};             // the data each section was last drawn from
  const openTraffic = new Set();
  let refreshing = null;
  let again = false;
  let refreshes = 0;

  // ------------------------------------------------------------------ helpers
  const $ = (id) => document.getElementById(id);

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "on") for (const [type, handler] of Object.entries(value)) node.addEventListener(type, handler);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) node.append(child);
    }
    return node;
  }

  function utc(ms) {
    if (ms === null || ms === undefined) return "—";
    const date = new Date(ms);
    return isNaN(date) ? String(ms) : date.toISOString().replace("T", " ").replace("Z", " UTC");
  }

  function duration(ms) {
    if (ms < 1000) return `${ms} ms`;
    const parts = [];
    let rest = Math.floor(ms / 1000);
    for (const [unit, size] of [["d", 86400], ["h", 3600], ["min", 60], ["s", 1]]) {
      if (rest >= size) { parts.push(`${Math.floor(rest / size)} ${unit}`); rest %= size; }
    }
    return parts.join(" ");
  }

  const count = (n) => Number(n).toLocaleString("en");
  const plural = (n, noun) => `${count(n)} ${noun}${n === 1 ? "" : "s"}`;
  const time = (ms) => el("span", { class: "time" }, utc(ms), el("span", { class: "ms" }, ms === null ? "" : String(ms)));
  // A narrow time for the traffic table: the time of day, then the day and the epoch ms, smaller.
  const moment = (ms) => el("span", { class: "time" }, utc(ms).slice(11),
    el("span", { class: "ms" }, `${utc(ms).slice(0, 10)} · ${ms}`));
  const state = (name) => el("span", { class: `state state-${String(name).toLowerCase()}` }, String(name));

  function say(text) { $("message").textContent = ""; $("live").textContent = text; }
  function fail(error) { $("message").textContent = error.message; }

  async function call(method, path, body) {
    const options = { method, cache: "no-store", headers: { Accept: "application/json" } };
    if (method !== "GET") {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body === undefined ? {} : body);
    }
    const response = await fetch(path, options);
    const answer = await response.json().catch(() => null);
    if (!response.ok) {
      const why = answer && typeof answer.why === "string" ? answer.why : response.statusText;
      const error = new Error(`${method} ${path.split("?")[0]}: ${response.status} ${why}`);
      error.status = response.status;
      throw error;
    }
    return answer;
  }

  // Redraw a section only when its data changed, keeping the focus where it was.
  function draw(name, value, render) {
    const text = JSON.stringify(value);
    if (latest[name] === text) return;
    latest[name] = text;
    data[name] = value;
    const focused = document.activeElement && document.activeElement.dataset
      ? document.activeElement.dataset.key : undefined;
    render(value);
    if (focused) {
      const target = document.querySelector(`[data-key="${CSS.escape(focused)}"]`);
      if (target) target.focus();
    }
  }

  // ------------------------------------------------------------------ polling
  function query(base, params) {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) if (value !== "" && value !== null) search.set(key, value);
    const text = search.toString();
    return text ? `${base}?${text}` : base;
  }

  const jobsUrl = () => query("/_mock/jobs", {
    state: view.state, owner: view.owner, offset: view.jobsOffset, limit: JOBS_PER_PAGE });
  const trafficUrl = () => query("/_mock/journal", {
    limit: TRAFFIC_PER_PAGE, verdicts: "true", operation: view.trafficOperation, status: view.trafficStatus,
    before: view.trafficBefore });

  async function load() {
    const [scenario, timeline, faults, jobs, traffic] = await Promise.all([
      call("GET", "/_mock/scenario"), call("GET", "/_mock/timeline?limit=5"), call("GET", "/_mock/faults"),
      call("GET", jobsUrl()), call("GET", trafficUrl())]);
    if (view.selected === null && jobs.items.length) view.selected = jobs.items[0].id;
    let job = null;
    if (view.selected !== null) {
      job = await call("GET", query("/_mock/job", { id: view.selected })).catch((error) => {
        if (error.status === 404) return { missing: view.selected };
        throw error;
      });
    }
    draw("scenario", scenario, renderScenario);
    draw("clock", timeline, renderClock);
    draw("faults", faults, renderFaults);
    draw("jobs", { jobs, selected: view.selected }, renderJobs);
    draw("job", job, renderJob);
    draw("traffic", traffic, renderTraffic);
  }

  async function refresh() {
    if (refreshing) { again = true; return refreshing; }
    refreshing = (async () => {
      do {
        again = false;
        try {
          await load();
          refreshes += 1;
          document.body.dataset.refreshes = String(refreshes);
          $("live").textContent = `Live: updated ${new Date().toLocaleTimeString("en-GB")}`;
        } catch (error) {
          $("live").textContent = `Cannot read the mock: ${error.message}`;
        }
      } while (again);
      refreshing = null;
    })();
    return refreshing;
  }

  function poll() {
    const next = () => setTimeout(poll, POLL_MS);
    if (document.hidden) { $("live").textContent = "Paused while the page is hidden"; next(); return; }
    refresh().then(next);
  }

  async function act(method, path, body, done) {
    try {
      const answer = await call(method, path, body);
      say(done(answer));
    } catch (error) {
      fail(error);
    }
    await refresh();
  }

  // ------------------------------------------------------------------ the scenario and the clock
  function renderScenario(state) {
    const script = state.script;
    const facts = [
      ["Scenario", state.scenario], ["Profile", `${state.profile}, era ${state.era}`],
      ["Script", script.steps ? `step ${script.played} of ${script.steps} played` : "no script"],
      ["Waiting for", script.next || "nothing: the script is done"],
      ["Served", `${plural(state.requests, "request")}, ${plural(state.jobs, "job")}`],
    ];
    $("scenario-facts").replaceChildren(...facts.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
    $("summary").textContent = `Playing ${state.scenario} (profile ${state.profile}, era ${state.era}); ` +
      `step ${script.played} of ${script.steps}; ${plural(state.jobs, "job")}`;
    const names = JSON.stringify([state.available, state.profiles]);
    const picker = $("scenario-name");
    if (picker.dataset.names !== names) {
      picker.dataset.names = names;
      picker.replaceChildren(...state.available.map((name) => el("option", { value: name }, name)));
      $("scenario-profile").replaceChildren(el("option", { value: "" }, "its own"),
        ...state.profiles.map((name) => el("option", { value: name }, name)));
    }
    if (picker.dataset.loaded !== state.scenario) {
      picker.dataset.loaded = state.scenario;
      picker.value = state.scenario;
    }
  }

  function describe(event) {
    if (event.kind === "queue") return "leaves the queue: RUNNING";
    if (event.kind === "expiry") return "runs out of time: EXPIRED";
    if (event.kind === "log") {
      const log = event.log;
      return `writes to its log (rank ${log.rank}): ${[log.stdout, log.stderr].filter(Boolean).join(" ").trim()}`;
    }
    const parts = ["provider update"];
    if (event.state) parts.push(`state ${event.state}`);
    if (event.status) parts.push(`“${event.status}”`);
    if (event.outputFolder) parts.push(`output in ${event.outputFolder}`);
    return parts.join(", ");
  }

  function renderClock(timeline) {
    $("clock-utc").textContent = utc(timeline.nowMs);
    $("clock-ms").textContent = `${timeline.nowMs} ms`;
    const next = timeline.upcoming[0];
    const step = timeline.nextStep;
    const lines = [];
    if (next) lines.push(`Next event in ${duration(next.atMs - timeline.nowMs)}: job ${next.jobId} ${describe(next)}.`);
    else lines.push("No event is scheduled.");
    if (step) lines.push(`Step ${step.step} (${step.call}) is served at ${utc(step.atMs)}.`);
    $("clock-next").textContent = lines.join(" ");
    const button = $("advance-next");
    button.disabled = !next;
    button.textContent = next ? `To the next event (+${duration(next.atMs - timeline.nowMs)})` : "To the next event";
  }

  // ------------------------------------------------------------------ faults
  function renderFaults(answer) {
    const faults = answer.faults;
    $("faults-empty").hidden = faults.length > 0;
    $("faults-table").hidden = faults.length === 0;
    $("faults-table").tBodies[0].replaceChildren(...faults.map((fault, index) => el("tr", {},
      el("td", {}, fault.operation),
      el("td", {}, fault.status === null ? "—" : `${fault.status}${fault.why ? ` “${fault.why}”` : ""}`),
      el("td", {}, `${fault.latencyMs} ms`),
      el("td", {}, fault.times === null ? "until removed" : String(fault.times)),
      el("td", {}, el("button", {
        type: "button", "data-key": `fault:${index}`, "aria-label": `Remove the fault on ${fault.operation}`,
        on: { click: () => removeFault(index) } }, "Remove")))));
  }

  function removeFault(index) {
    const rest = data.faults.faults.filter((_, position) => position !== index);
    act("POST", "/_mock/faults", { faults: rest }, () => "Fault removed");
  }

  function addFault(event) {
    event.preventDefault();
    const number = (id) => ($(id).value === "" ? null : Number($(id).value));
    const fault = { operation: $("fault-operation").value, latencyMs: number("fault-latency") || 0 };
    if (number("fault-status") !== null) fault.status = number("fault-status");
    if (number("fault-times") !== null) fault.times = number("fault-times");
    if ($("fault-why").value) fault.why = $("fault-why").value;
    const faults = [...(data.faults ? data.faults.faults : []), fault];
    act("POST", "/_mock/faults", { faults }, () => `Fault added on ${fault.operation}`);
  }

  // ------------------------------------------------------------------ jobs
  function renderJobs({ jobs, selected }) {
    const rows = jobs.items.map((job) => el("tr", { "data-job": job.id, class: job.id === selected ? "selected" : null },
      el("td", {}, el("button", {
        type: "button", class: "link", "data-key": `job:${job.id}`, "aria-pressed": job.id === selected ? "true" : "false",
        "aria-label": `Show the timeline of job ${job.id}`, on: { click: () => select(job.id) } }, job.id),
        job.name ? el("div", { class: "quiet" }, job.name) : null),
      el("td", { class: "owner" }, job.owner),
      el("td", {}, job.project === null ? "—" : job.project),
      el("td", {}, `${job.application.name} ${job.application.version}`),
      el("td", {}, `${job.product.id} / ${job.product.category} @ ${job.product.provider}`),
      el("td", { class: "job-state" }, state(job.state)),
      el("td", {}, time(job.createdAt)),
      el("td", {}, time(job.expiresAt))));
    $("jobs-table").tBodies[0].replaceChildren(...rows);
    const first = jobs.matched ? jobs.offset + 1 : 0;
    const last = Math.min(jobs.offset + jobs.items.length, jobs.matched);
    const filtered = jobs.matched === jobs.total ? "" : ` matching (${count(jobs.total)} in all)`;
    $("jobs-range").textContent = `${count(first)}–${count(last)} of ${count(jobs.matched)}${filtered}`;
    $("jobs-prev").disabled = jobs.offset === 0;
    $("jobs-next").disabled = jobs.offset + jobs.items.length >= jobs.matched;
    $("owners").replaceChildren(...jobs.owners.map((owner) => el("option", { value: owner })));
    const counts = Object.entries(jobs.states).map(([name, n]) => `${count(n)} ${name}`).join(", ");
    $("jobs-title").textContent = counts ? `Jobs: ${counts}` : "Jobs";
  }

  function select(id) {
    view.selected = id;
    history.replaceState(null, "", `#job=${encodeURIComponent(id)}`);
    refresh();
  }

  // ------------------------------------------------------------------ a job's timeline
  function section(title, ...content) {
    return el("section", { class: "part" }, el("h3", {}, title), ...content);
  }

  function renderJob(detail) {
    const body = $("timeline-body");
    $("timeline-title").textContent = "Timeline";
    if (detail === null) { body.replaceChildren(el("p", { class: "quiet" }, "Choose a job in the table.")); return; }
    if (detail.missing !== undefined) {
      body.replaceChildren(el("p", {}, `Job ${detail.missing} does not exist (any more).`));
      view.selected = null;
      return;
    }
    const job = detail.job;
    $("timeline-title").textContent = `Timeline of job ${job.id}`;
    const facts = [
      ["State", state(job.state)], ["Owner", job.owner], ["Project", job.project || "personal workspace"],
      ["Created", time(job.createdAt)], ["Started", time(detail.startedAt)], ["Expires", time(job.expiresAt)],
      ["Allocation", detail.allocationMs === null ? "none" : duration(detail.allocationMs)],
    ];
    const updates = detail.updates.map((update) => el("li", {},
      time(update.timestamp), " ", update.state ? state(update.state) : el("span", { class: "quiet" }, "no state change"),
      update.status ? ` ${update.status}` : "",
      update.newTimeAllocationMs !== null ? ` (allocation now ${duration(update.newTimeAllocationMs)})` : "",
      update.outputFolder ? ` output in ${update.outputFolder}` : ""));
    const upcoming = detail.upcoming.map((event) => el("li", {}, time(event.atMs), " ",
      el("span", { class: "what" }, describe(event))));
    body.replaceChildren(
      el("dl", { class: "facts wide" }, facts.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)])),
      section("History", el("ol", { id: "timeline-updates", class: "events" }, updates)),
      section("Next on the clock", upcoming.length
        ? el("ol", { id: "timeline-upcoming", class: "events" }, upcoming)
        : el("p", { id: "timeline-upcoming", class: "quiet" },
          job.state === "IN_QUEUE" || job.state === "RUNNING" || job.state === "SUSPENDED"
            ? "Nothing scheduled." : "Nothing: the job has ended.")),
      section("Permissions", permissions(detail)),
      section("Log", log(detail.log, detail.logFollowed)));
  }

  function permissions(detail) {
    const rows = detail.permissions.map((person) => el("tr", {},
      el("td", {}, person.user), el("td", {}, [person.creator ? "creator" : "", person.role || ""].filter(Boolean).join(", ") || "—"),
      el("td", {}, person.permissions.length ? person.permissions.join(", ") : "none")));
    const acl = detail.acl.map((entry) => {
      const who = entry.entity.type === "user" ? `user ${entry.entity.username}`
        : `group ${entry.entity.group} of ${entry.entity.projectId}`;
      return el("li", {}, `${who}: ${entry.permissions.join(", ")}`);
    });
    return [el("table", { class: "compact" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "User"), el("th", { scope: "col" }, "Role"),
        el("th", { scope: "col" }, "May"))), el("tbody", {}, rows)),
      acl.length ? el("ul", { class: "acl" }, acl) : el("p", { class: "quiet" }, "The ACL is empty.")];
  }

  function log(chunks, followed) {
    const note = el("p", { id: "timeline-log-note", class: "quiet" }, followed
      ? "What jobs.follow sends its followers, oldest first."
      : "The job's product does not support logs: jobs.follow does not send this to its followers.");
    if (!chunks.length) return [note, el("p", { id: "timeline-log", class: "quiet" }, "No output yet.")];
    return [note, el("pre", { id: "timeline-log", class: "log" }, chunks.map((chunk) =>
      [chunk.stdout, chunk.stderr].filter((text) => text !== null).map((text) =>
        `[${utc(chunk.timestamp)}] rank ${chunk.rank}: ${text}${text.endsWith("\n") ? "" : "\n"}`)).flat().join(""))];
  }

  // ------------------------------------------------------------------ traffic
  function body(label, value, text) {
    const shown = text !== undefined ? text : (value === null ? "(empty)" : JSON.stringify(value, null, 2));
    return [el("div", { class: "quiet" }, label), el("pre", { class: "body" }, shown)];
  }

  function verdict(entry) {
    const found = entry.verdict;
    if (found.valid) {
      const unchecked = [found.request, found.response].filter((side) => !side.checked);
      return el("span", { class: "valid" }, unchecked.length ? `valid (${unchecked.map((s) => s.note).join("; ")})` : "valid");
    }
    const items = [];
    for (const [side, result] of [["request", found.request], ["response", found.response]]) {
      for (const violation of result.violations) {
        items.push(el("li", {}, el("code", {}, `${side} ${violation.pointer || "/"}`), ` ${violation.message}`));
      }
    }
    return el("ul", { class: "violations" }, items);
  }

  function renderTraffic(journal) {
    const entries = [...journal.entries].reverse();
    $("traffic-table").tBodies[0].replaceChildren(...entries.map((entry) => {
      const details = el("details", { "data-seq": entry.seq, open: openTraffic.has(entry.seq) },
        el("summary", { "data-key": `traffic:${entry.seq}` }, `${entry.method} ${entry.path}`,
          entry.query ? el("span", { class: "query" }, `?${entry.query}`) : null),
        body("request", entry.request, entry.requestText), body("response", entry.response, entry.responseText));
      details.addEventListener("toggle", () => {
        if (details.open) openTraffic.add(entry.seq); else openTraffic.delete(entry.seq);
      });
      return el("tr", { "data-seq": entry.seq, class: entry.verdict.valid ? null : "broken" },
        el("td", {}, String(entry.seq)), el("td", { class: "clock" }, moment(entry.clockMs)),
        el("td", { class: "wall" }, entry.wallTime.slice(11).replace("Z", " UTC"),
          el("span", { class: "day" }, entry.wallTime.slice(0, 10))),
        el("td", { class: "user" }, entry.user === null ? "—" : entry.user),
        el("td", { class: "request" }, details),
        el("td", {}, entry.operation === null ? "—" : entry.operation),
        el("td", { class: `status status-${String(entry.status)[0]}xx` }, String(entry.status)),
        el("td", { class: "verdict" }, verdict(entry)));
    }));
    const newest = entries.length ? entries[0].seq : 0;
    const oldest = entries.length ? entries[entries.length - 1].seq : 0;
    $("traffic-range").textContent = entries.length
      ? `#${oldest}–#${newest}: ${count(entries.length)} of ${count(journal.matched)} shown; ` +
        `${count(journal.recorded)} recorded, ${count(journal.dropped)} dropped`
      : "No requests yet.";
    $("traffic-older").disabled = entries.length === 0 || journal.matched <= entries.length;
    $("traffic-newest").disabled = view.trafficBefore === null;
    $("traffic-older").dataset.before = String(oldest);
  }

  // ------------------------------------------------------------------ wiring
  function wire() {
    const move = (body, what) => act("POST", "/_mock/clock", body, (answer) => `${what}: now ${utc(answer.nowMs)}`);
    $("advance-minute").addEventListener("click", () => move({ advanceMs: 60000 }, "Advanced 1 min"));
    $("advance-hour").addEventListener("click", () => move({ advanceMs: 3600000 }, "Advanced 1 h"));
    $("advance-next").addEventListener("click", () => {
      const next = data.clock && data.clock.upcoming[0];
      if (next) move({ setMs: Math.max(next.atMs, data.clock.nowMs) }, "Moved to the next event");
    });
    $("advance-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const ms = Math.round(Number($("advance-amount").value) * Number($("advance-unit").value));
      move({ advanceMs: ms }, `Advanced ${duration(ms)}`);
    });
    $("set-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const text = $("set-time").value.trim();
      const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(/(Z|[+-]\d\d:?\d\d)$/i.test(text) ? text : `${text}Z`);
      if (Number.isNaN(ms)) { fail(new Error(`${text} is neither epoch milliseconds nor a UTC time`)); return; }
      move({ setMs: ms }, "Clock set");
    });
    $("scenario-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const wanted = { name: $("scenario-name").value };
      if ($("scenario-profile").value) wanted.profile = $("scenario-profile").value;
      view.selected = null;
      history.replaceState(null, "", location.pathname);
      act("POST", "/_mock/scenario", wanted, (answer) => `Loaded ${answer.scenario} (profile ${answer.profile})`);
    });
    $("reset").addEventListener("click", () => {
      view.selected = null;
      act("POST", "/_mock/reset", {}, (answer) => `Reset: ${answer.scenario} starts again`);
    });
    $("fault-form").addEventListener("submit", addFault);
    const filter = () => {
      view.state = $("filter-state").value; view.owner = $("filter-owner").value.trim(); view.jobsOffset = 0;
      refresh();
    };
    $("filter-state").addEventListener("change", filter);
    $("filter-owner").addEventListener("input", filter);
    $("jobs-filter").addEventListener("submit", (event) => { event.preventDefault(); filter(); });
    $("jobs-prev").addEventListener("click", () => { view.jobsOffset = Math.max(0, view.jobsOffset - JOBS_PER_PAGE); refresh(); });
    $("jobs-next").addEventListener("click", () => { view.jobsOffset += JOBS_PER_PAGE; refresh(); });
    const traffic = () => {
      const status = $("traffic-status").value.trim();
      const complete = status === "" || /^([1-5]xx|[1-5]\d\d)$/i.test(status);
      $("traffic-status").setAttribute("aria-invalid", complete ? "false" : "true");
      if (!complete) return;  // half typed: keep the filter as it was
      view.trafficOperation = $("traffic-operation").value; view.trafficStatus = status;
      view.trafficBefore = null;
      refresh();
    };
    $("traffic-operation").addEventListener("change", traffic);
    $("traffic-status").addEventListener("input", traffic);
    $("traffic-filter").addEventListener("submit", (event) => { event.preventDefault(); traffic(); });
    $("traffic-older").addEventListener("click", () => { view.trafficBefore = Number($("traffic-older").dataset.before); refresh(); });
    $("traffic-newest").addEventListener("click", () => { view.trafficBefore = null; refresh(); });
    document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
    window.addEventListener("hashchange", fromHash);
  }

  function fromHash() {
    const match = /^#job=(.+)$/.exec(location.hash);
    view.selected = match ? decodeURIComponent(match[1]) : view.selected;
    refresh();
  }

  document.addEventListener("DOMContentLoaded", () => {
    wire();
    const match = /^#job=(.+)$/.exec(location.hash);
    if (match) view.selected = decodeURIComponent(match[1]);
    poll();
  });
})();
