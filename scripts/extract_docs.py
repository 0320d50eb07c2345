"""Extract the documented Jobs payloads from UCloud's documentation into ``tests/data/docs/``.

The documentation (``../shared/ucloud/docs``) is the source; the data files are derived from it so that
the tests run on a machine without it. ``tests/contracts/test_docs_data.py`` re-runs the extraction in
memory wherever the documentation is present and fails when a data file differs from it by one byte.

    python scripts/extract_docs.py           # rewrite tests/data/docs/
    python scripts/extract_docs.py --check   # exit 1 if the committed files differ from the docs

These files are written:

``seed_flow.json``
    The six curl commands of the seed flow ("Extending a Job and terminating it early"), each as written
    (the whole command, with the docs generator's malformed ``Content-Type`` header) and parsed (method,
    path, query, headers in order, raw body), with the documented response and the comment before it.

``flow_2024.json``
    The same for the flow as UCloud documents it today (``reference/jobs_extendAndCancel.md``, 2024 era).

``flow_history.json``
    The same for each older version of that page in ``reference/history/``, by source: the tests show which
    era each one equals.

``payloads.json``
    Every JSON payload of the Jobs flows that has a type in the Jobs contract, with the schema of
    ``openapi/jobs.yaml`` it must validate against.

How a payload gets its schema (nothing is typed by hand): the call comes from the curl URL or from the
TypeScript ``JobsApi.<call>``; the call's reference page (``reference/<call>.md``) declares its request
and response types (``BulkRequest<JobSpecification>``); that name, spelt as the spec spells generics
(``BulkRequest_JobSpecification``), is the schema. Where the spec has no schema for the whole document,
the document is unwrapped and its parts are typed instead: ``BulkRequest<T>`` gives ``T`` at
``/items/<i>``, ``BulkResponse<T>`` gives ``T`` at ``/responses/<i>``, ``ResourceUpdateAndId<T>`` gives
``T`` at ``/update``. So the provider's create request (``BulkRequest<Job>``) yields one ``Job`` per item,
and ``jobs.control.update`` yields the ``JobUpdate`` of each item.

What is left out on purpose, and why:

- The Kotlin renderings: constructor syntax, not JSON; the TypeScript and curl renderings carry the same
  values as JSON.
- The curl request of a GET call (``jobs.retrieve``, ``jobs.provider.PROVIDERID.retrieveProducts``): a
  query string of text values, not a JSON document (``seed_flow.json`` keeps it, parsed, for the
  mock-server test). The TypeScript rendering shows the ``jobs.retrieve`` request as JSON; that is kept.
- Payloads whose declared type is in ``NOT_IN_CONTRACT`` below: the provider's accounting call
  (``jobs.control.chargeCredits``) and bare ``Unit`` answers (``jobs.control.update``,
  ``jobs.provider.PROVIDERID.verify``). Any other payload that cannot be typed stops the extraction, so
  nothing is dropped by accident.
- Pages outside the Jobs flows: the generic ``example`` resource (``reference/example*.md``), products,
  provider authentication, and ``developer-guide/orchestration/compute/providers/jobs/ingoing.md``, which
  repeats the flows of ``reference/jobs.provider.PROVIDERID_*.md`` word for word.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shlex
import sys
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "DOCS_DIR",
    "NOT_IN_CONTRACT",
    "OUT_DIR",
    "SEED",
    "SPEC_PATH",
    "CurlCall",
    "TypeScriptCall",
    "call_from_typescript",
    "call_from_url",
    "communication_flows",
    "declared_types",
    "extract",
    "load_schema_names",
    "main",
    "parse_curl_block",
    "parse_curl_command",
    "parse_typescript_block",
    "render",
    "schema_name",
    "type_parts",
]

ROOT = Path(__file__).resolve().parent.parent
DOCS_DIR = ROOT.parent / "shared" / "ucloud" / "docs"
OUT_DIR = ROOT / "tests" / "data" / "docs"
SPEC_PATH = ROOT / "openapi" / "jobs.yaml"

SEED = "seed-extend-and-terminate.md"
FLOW_2024 = "reference/jobs_extendAndCancel.md"
HISTORY = "reference/history/*.md"
# The Jobs flows, as globs relative to the docs folder; every match is read, in sorted order.
SOURCES = (
    SEED,
    "reference/jobs_extendAndCancel.md",
    "reference/history/*.md",
    "reference/jobs.provider.PROVIDERID_*.md",
)

# Declared types with no schema in the Jobs contract: their payloads are skipped on purpose.
_ACCOUNTING = "provider accounting (jobs.control.chargeCredits), not part of the Jobs API"
NOT_IN_CONTRACT: Mapping[str, str] = {
    "BulkRequest<ResourceChargeCredits>": _ACCOUNTING,
    "ResourceChargeCreditsResponse": _ACCOUNTING,
    "Unit": "a bare Unit answer ({}) of a provider call carries nothing to check",
}

# Wrappers unwrapped when the spec has no schema for the whole document: wrapper -> pointer of its parts.
_UNWRAP = {
    "BulkRequest": "/items/*",
    "BulkResponse": "/responses/*",
    "ResourceUpdateAndId": "/update",
}

_FLOW_HEADING = re.compile(r"<b>Communication Flow:</b>\s*(\w+)")
_TITLE = re.compile(r"^# Example: (.+)$", re.MULTILINE)
_ACTOR = re.compile(r"^Authenticated as (\w+)$")
_TS_CALL = re.compile(r"^await callAPI\((\w+Api)\.(\w+)\($")
_TS_ACTOR = re.compile(r"^// Authenticated as (\w+)$")
_STATUS_LINE = re.compile(r"^(\d{3}) [A-Za-z].*$")
_GENERIC = re.compile(r"^([\w.]+)<(.+)>$")


# ------------------------------------------------------------------------------------------ markdown
def communication_flows(text: str) -> dict[str, list[str]]:
    """The fenced code block of each "Communication Flow" of a page, by rendering (``curl``, ...)."""
    lines = text.splitlines()
    flows: dict[str, list[str]] = {}
    index = 0
    while index < len(lines):
        heading = _FLOW_HEADING.search(lines[index])
        index += 1
        if heading is None:
            continue
        rendering = heading.group(1).lower()
        while index < len(lines) and not lines[index].startswith("```") and "</details>" not in lines[index]:
            index += 1
        if index >= len(lines) or not lines[index].startswith("```"):
            continue  # a flow without a code block (the "Visual" one)
        start = index + 1
        end = start
        while end < len(lines) and lines[end] != "```":
            end += 1
        if end >= len(lines):
            raise ValueError(f"the {rendering} code block has no closing fence")
        if rendering in flows:
            raise ValueError(f"two {rendering} communication flows on one page")
        flows[rendering] = lines[start:end]
        index = end + 1
    return flows


def _uncomment(line: str) -> str:
    """A line of a shell comment without its ``# `` marker."""
    if line.startswith("# "):
        return line[2:]
    if line.rstrip() == "#":
        return ""
    raise ValueError(f"not a comment line: {line!r}")


def _paragraphs(lines: Sequence[str]) -> list[list[str]]:
    """Runs of consecutive comment lines, separated by lines that are not comments."""
    runs: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if line.startswith("#"):
            current.append(_uncomment(line))
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


# ------------------------------------------------------------------------------------------ curl
@dataclass
class CurlCall:
    """One curl command of a flow, with its documented answer and the prose that introduces it."""

    command: str
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: str | None
    actor: str | None
    comment: str
    status: int | None
    response: Any
    response_documented: bool

    @property
    def path(self) -> str:
        """The path of the URL, without ``$host`` and the query string."""
        return _strip_host(self.url).partition("?")[0]

    @property
    def query(self) -> str:
        """The query string as written (without the ``?``), or an empty string."""
        return _strip_host(self.url).partition("?")[2]


def _strip_host(url: str) -> str:
    if not url.startswith("$host/"):
        raise ValueError(f"a documented URL should start with $host/, not {url!r}")
    return url[len("$host"):]


def parse_curl_command(command: str) -> tuple[str, str, list[tuple[str, str]], str | None]:
    """The method, URL, headers (in order, values verbatim) and raw ``-d`` body of one curl command."""
    words = shlex.split(command)
    if not words or words[0] != "curl":
        raise ValueError(f"not a curl command: {command[:40]!r}")
    method = "GET"
    url: str | None = None
    headers: list[tuple[str, str]] = []
    body: str | None = None
    rest = iter(words[1:])
    for word in rest:
        if word.startswith("-X"):
            method = word[2:] or next(rest)
        elif word == "-H":
            name, colon, value = next(rest).partition(":")
            if not colon:
                raise ValueError(f"a header without a colon in {command[:60]!r}")
            headers.append((name, value.removeprefix(" ")))
        elif word == "-d":
            body = next(rest)
        elif word.startswith("-"):
            raise ValueError(f"unexpected curl option {word!r}")
        elif url is None:
            url = word
        else:
            raise ValueError(f"two URLs in one curl command: {url!r} and {word!r}")
    if url is None:
        raise ValueError(f"a curl command without a URL: {command[:60]!r}")
    return method, url, headers, body


def _complete_command(lines: Sequence[str], start: int) -> int:
    """The index just past the last line of the (possibly multi-line) command that starts at ``start``."""
    for end in range(start + 1, len(lines) + 1):
        try:
            shlex.split("\n".join(lines[start:end]))
        except ValueError:  # an unclosed quote: the -d body goes on
            continue
        return end
    raise ValueError(f"the curl command at line {start + 1} of its block never ends")


def parse_curl_block(lines: Sequence[str]) -> tuple[str, list[CurlCall]]:
    """The preamble (the ``$host``/``$accessToken`` note) and the calls of a curl code block."""
    commands: list[tuple[int, int]] = []
    index = 0
    while index < len(lines):
        if lines[index].startswith("curl "):
            end = _complete_command(lines, index)
            commands.append((index, end))
            index = end
        else:
            index += 1

    gaps = [lines[:commands[0][0]] if commands else list(lines)]
    gaps += [lines[end:(commands[i + 1][0] if i + 1 < len(commands) else len(lines))]
             for i, (_, end) in enumerate(commands)]

    preamble = ""
    leading = _paragraphs(gaps[0])
    if leading and leading[0] and leading[0][0].startswith("-----"):
        preamble = "\n".join(leading.pop(0))

    calls: list[CurlCall] = []
    actor: str | None = None
    before = leading
    for number, (start, end) in enumerate(commands):
        comment: list[str] = []
        for paragraph in before:
            found = _ACTOR.match(paragraph[0]) if len(paragraph) == 1 else None
            if found:
                actor = found.group(1)
            else:
                comment.append("\n".join(paragraph))
        command = "\n".join(lines[start:end])
        method, url, headers, body = parse_curl_command(command)
        after = _paragraphs(gaps[number + 1])
        status, response, documented = _answer(after[0] if after else [])
        before = after[1:] if documented else after
        calls.append(CurlCall(command=command, method=method, url=url, headers=headers, body=body,
                              actor=actor, comment="\n\n".join(comment), status=status,
                              response=response, response_documented=documented))
    return preamble, calls


def _answer(paragraph: Sequence[str]) -> tuple[int | None, Any, bool]:
    """The status and JSON body that a comment paragraph documents, and whether it documents any answer."""
    text = "\n".join(paragraph)
    status = _STATUS_LINE.match(text.strip())
    if status and len(paragraph) == 1:
        return int(status.group(1)), None, True
    try:
        return 200, json.loads(text), True
    except ValueError:
        return None, None, False


# ------------------------------------------------------------------------------------------ TypeScript
@dataclass
class TypeScriptCall:
    """One ``callAPI`` of a TypeScript flow with its JSON request and the JSON answer that follows it."""

    api: str
    operation: str
    request: Any
    actor: str | None
    response: Any = None
    response_documented: bool = False


def parse_typescript_block(lines: Sequence[str]) -> list[TypeScriptCall]:
    """The calls of a TypeScript code block: ``await callAPI(XApi.op({...});`` followed by ``/* {...} */``."""
    calls: list[TypeScriptCall] = []
    actor: str | None = None
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        index += 1
        if not line:
            continue
        if found := _TS_ACTOR.match(line):
            actor = found.group(1)
        elif found := _TS_CALL.match(line):
            start = index
            while index < len(lines) and lines[index].strip() != ");":
                index += 1
            if index >= len(lines):
                raise ValueError(f"the call {found.group(0)!r} is never closed")
            request = json.loads("\n".join(lines[start:index]))
            index += 1
            calls.append(TypeScriptCall(api=found.group(1), operation=found.group(2), request=request,
                                        actor=actor))
        elif line.startswith("/*"):
            start = index - 1
            while "*/" not in lines[index - 1]:
                index += 1
                if index > len(lines):
                    raise ValueError("a comment is never closed")
            text = "\n".join(lines[start:index]).strip()
            inner = text.removeprefix("/*").removesuffix("*/").strip()
            try:
                answer = json.loads(inner)
            except ValueError:
                continue  # prose
            if not calls or calls[-1].response_documented:
                raise ValueError("a JSON answer that follows no call")
            calls[-1].response = answer
            calls[-1].response_documented = True
        else:
            raise ValueError(f"unexpected TypeScript line: {line!r}")
    return calls


# ------------------------------------------------------------------------------------------ calls and types
def call_from_url(method: str, path: str) -> str:
    """The UCloud call name of a request: ``POST /api/jobs`` is ``jobs.create``, ``POST /api/jobs/extend`` is
    ``jobs.extend``, ``POST /ucloud/PROVIDERID/jobs/verify`` is ``jobs.provider.PROVIDERID.verify``."""
    segments = path.strip("/").split("/")
    if segments[0] == "api" and len(segments) >= 2:
        namespace, operations = [segments[1]], segments[2:]
    elif segments[0] == "ucloud" and len(segments) >= 3:
        namespace, operations = [segments[2], "provider", segments[1]], segments[3:]
    else:
        raise ValueError(f"{method} {path} is not a UCloud call")
    if not operations:
        if method != "POST":
            raise ValueError(f"{method} on a base context ({path}) is no Jobs call")
        operations = ["create"]  # POST on the base context is the create call
    return ".".join(namespace + operations)


def call_from_typescript(api: str, operation: str) -> str:
    """The call name of ``JobsApi.extend``: ``jobs.extend``."""
    namespace = api.removesuffix("Api")
    return f"{namespace[:1].lower()}{namespace[1:]}.{operation}"


def declared_types(docs_dir: Path, call: str) -> tuple[str, str]:
    """The request and response types that the call's reference page declares, e.g. ``BulkRequest<Job>``."""
    page = docs_dir / "reference" / f"{call}.md"
    try:
        lines = page.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ValueError(f"no reference page for {call} ({page}): {error.strerror}") from error
    for index, line in enumerate(lines):
        if [cell.strip() for cell in line.strip().strip("|").split("|")] == ["Request", "Response", "Error"]:
            cells = lines[index + 2].strip().strip("|").split("|")
            request, response = (html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells[:2])
            return request, response
    raise ValueError(f"{page} has no Request | Response | Error table")


def schema_name(declared: str) -> str:
    """A declared type as the spec names schemas: ``BulkRequest<JobSpecification>`` is
    ``BulkRequest_JobSpecification``."""
    return re.sub(r"\s*[<,]\s*", "_", declared).replace(">", "").strip()


def type_parts(declared: str, document: Any, schemas: Collection[str],
               pointer: str = "") -> Iterator[tuple[str, str, Any]]:
    """``(schema, pointer, value)`` for the parts of ``document`` that the contract types.

    The whole document when the spec has a schema for its declared type; otherwise the parts of a known
    wrapper, recursively. Yields nothing for a type the contract does not know.
    """
    declared = declared.strip()
    if declared.endswith("?"):
        declared = declared[:-1]
    name = schema_name(declared)
    if name in schemas:
        yield name, pointer, document
        return
    generic = _GENERIC.match(declared)
    if generic is None or generic.group(1) not in _UNWRAP or not isinstance(document, dict):
        return
    inner = generic.group(2)
    first, _, rest = _UNWRAP[generic.group(1)].removeprefix("/").partition("/")
    value = document.get(first)
    if rest == "*":
        if not isinstance(value, list):
            return
        for position, item in enumerate(value):
            if item is not None:
                yield from type_parts(inner, item, schemas, f"{pointer}/{first}/{position}")
    elif value is not None:
        yield from type_parts(inner, value, schemas, f"{pointer}/{first}")


def _typed(docs_dir: Path, schemas: Collection[str], *, where: str, call: str, role: str,
           document: Any) -> list[dict[str, Any]]:
    request_type, response_type = declared_types(docs_dir, call)
    declared = request_type if role == "request" else response_type
    if declared in NOT_IN_CONTRACT:
        return []
    parts = list(type_parts(declared, document, schemas))
    if not parts:
        raise ValueError(f"{where}: the {role} of {call} ({declared}) has no schema in the contract; "
                         "type it or list it in NOT_IN_CONTRACT")
    return [{"call": call, "role": role, "declaredType": declared, "schema": schema, "pointer": pointer,
             "payload": value} for schema, pointer, value in parts]


def load_schema_names(spec_path: Path = SPEC_PATH) -> list[str]:
    """The schema names of ``components/schemas`` in the OpenAPI document."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document = yaml.load(spec_path.read_text(encoding="utf-8"), Loader=loader)
    schemas = document.get("components", {}).get("schemas") if isinstance(document, dict) else None
    if not isinstance(schemas, dict):
        raise ValueError(f"{spec_path} has no components/schemas; is it the OpenAPI document?")
    return sorted(schemas)


# ------------------------------------------------------------------------------------------ extraction
def _sources(docs_dir: Path) -> list[str]:
    found: set[str] = set()
    for pattern in SOURCES:
        matches = sorted(p.relative_to(docs_dir).as_posix() for p in docs_dir.glob(pattern) if p.is_file())
        if not matches:
            raise ValueError(f"nothing in {docs_dir} matches {pattern}")
        found.update(matches)
    return sorted(found)


def _payloads_of(docs_dir: Path, schemas: Collection[str], source: str) -> list[dict[str, Any]]:
    flows = communication_flows((docs_dir / source).read_text(encoding="utf-8"))
    entries: list[dict[str, Any]] = []
    if "curl" in flows:
        _, calls = parse_curl_block(flows["curl"])
        for step, curl in enumerate(calls, start=1):
            call = call_from_url(curl.method, curl.path)
            where = f"{source} curl step {step}"
            found = []
            if curl.body is not None:
                found += _typed(docs_dir, schemas, where=where, call=call, role="request",
                                document=json.loads(curl.body))
            if curl.response_documented and curl.status == 200:
                found += _typed(docs_dir, schemas, where=where, call=call, role="response",
                                document=curl.response)
            entries += [{"rendering": "curl", "step": step, **entry} for entry in found]
    if "typescript" in flows:
        for step, ts in enumerate(parse_typescript_block(flows["typescript"]), start=1):
            call = call_from_typescript(ts.api, ts.operation)
            where = f"{source} TypeScript step {step}"
            found = _typed(docs_dir, schemas, where=where, call=call, role="request",
                           document=ts.request)
            if ts.response_documented:
                found += _typed(docs_dir, schemas, where=where, call=call, role="response",
                                document=ts.response)
            entries += [{"rendering": "typescript", "step": step, **entry} for entry in found]
    result = []
    for entry in entries:
        ordered = {"id": f"{source}:{entry['rendering']}:{entry['step']}:{entry['call']}:{entry['role']}"
                         f"{entry['pointer']}", "source": source}
        ordered.update(entry)
        result.append(ordered)
    return result


def _flow(docs_dir: Path, source: str) -> dict[str, Any]:
    text = (docs_dir / source).read_text(encoding="utf-8")
    title = _TITLE.search(text)
    flows = communication_flows(text)
    preamble, calls = parse_curl_block(flows["curl"])
    steps = []
    for step, curl in enumerate(calls, start=1):
        steps.append({
            "step": step,
            "call": call_from_url(curl.method, curl.path),
            "actor": curl.actor,
            "comment": curl.comment,
            "command": curl.command,
            "method": curl.method,
            "url": curl.url,
            "path": curl.path,
            "query": curl.query,
            "headers": [{"name": name, "value": value} for name, value in curl.headers],
            "body": curl.body,
            "request": None if curl.body is None else json.loads(curl.body),
            "status": curl.status,
            "response": curl.response,
        })
    return {
        "source": source,
        "title": title.group(1).strip() if title else None,
        "preamble": preamble,
        "steps": steps,
    }


def extract(docs_dir: Path = DOCS_DIR, schema_names: Collection[str] | None = None) -> dict[str, Any]:
    """The data of every file, as ``{file name: JSON value}``."""
    schemas = set(load_schema_names() if schema_names is None else schema_names)
    sources = _sources(docs_dir)
    payloads: list[dict[str, Any]] = []
    for source in sources:
        payloads += _payloads_of(docs_dir, schemas, source)
    seen: set[str] = set()
    for entry in payloads:
        if entry["id"] in seen:
            raise ValueError(f"two payloads share the id {entry['id']}")
        seen.add(entry["id"])
    return {
        "seed_flow.json": _flow(docs_dir, SEED),
        "flow_2024.json": _flow(docs_dir, FLOW_2024),
        "flow_history.json": {path.relative_to(docs_dir).as_posix(): _flow(docs_dir,
                                                                          path.relative_to(docs_dir).as_posix())
                              for path in sorted(docs_dir.glob(HISTORY))},
        "payloads.json": {
            "generatedBy": "scripts/extract_docs.py",
            "sources": sources,
            "payloads": payloads,
        },
    }


def _dump(value: Any) -> str:
    # Key order inside payloads is the documentation's (UCloud's serialisation order); entries follow the
    # sorted sources and, within one source, the order of its flow.
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def render(docs_dir: Path = DOCS_DIR, spec_path: Path = SPEC_PATH) -> dict[str, str]:
    """Every data file as ``{file name: text}``, extracted from the documentation in ``docs_dir``."""
    return {name: _dump(value) for name, value in extract(docs_dir, load_schema_names(spec_path)).items()}


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the data files; the exit code says whether they matched."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--docs", type=Path, default=DOCS_DIR,
                        help="the UCloud docs folder (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=OUT_DIR,
                        help="the output folder (default: %(default)s)")
    parser.add_argument("--spec", type=Path, default=SPEC_PATH,
                        help="the OpenAPI document (default: %(default)s)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if any file would change")
    args = parser.parse_args(argv)
    if not args.docs.is_dir():
        parser.error(f"no documentation folder at {args.docs}")

    try:
        files = render(args.docs, args.spec)
    except (OSError, ValueError) as error:
        print(f"extract_docs: {error}", file=sys.stderr)
        return 2
    changed = [name for name, text in files.items()
               if not (args.out / name).is_file() or (args.out / name).read_text(encoding="utf-8") != text]
    if args.check:
        for name in changed:
            print(f"{args.out / name}: differs from the docs; run python scripts/extract_docs.py")
        return 1 if changed else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name in changed:
        (args.out / name).write_text(files[name], encoding="utf-8")
        print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
