"""Every usage error of ``ucloud-jobs serve`` is one line on stderr and exit status 2 (issue 10 §5).

``--journal-size -1`` and ``--host 999.1.1.1`` used to end in a traceback (exit 1), and a ``--scenario-dir``
that does not exist was taken without a word. Each case runs through ``mockserver.cli.main``, with the server
class replaced so that a usage error that got as far as serving fails at once; one runs as people run it, in a
subprocess.
"""

from __future__ import annotations

import subprocess

import pytest

from mockserver.api import MockServer
from mockserver.cli import main
from tests.serve_process import PYTHON_M, STARTUP_TIMEOUT


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail at once, instead of serving forever, if a usage error were to get as far as serving."""
    def never(server: MockServer) -> None:
        server.stop()
        raise AssertionError("serve went on to serve despite the usage error")
    monkeypatch.setattr(MockServer, "serve_forever", never)


def one_line(err: str) -> str:
    """The single line of a usage error, checked for its form."""
    assert err.startswith("ucloud-jobs serve: error: "), err
    assert err.endswith("\n"), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.usefixtures("no_server")
@pytest.mark.parametrize(("args", "fragment"), [
    (("--journal-size", "-1"), "--journal-size: -1 is negative"),
    (("--journal-size", "ten"), "--journal-size: 'ten' is not a whole number"),
    (("--threads", "0"), "--threads: 0 is not a positive number"),
    (("--threads", "-4"), "--threads: -4 is not a positive number"),
    (("--host", "999.1.1.1"), "cannot listen on 999.1.1.1:0: '999.1.1.1' is not an address or a name of this "
                              "machine"),
    (("--host", ""), "cannot listen on :0: '' is not an address"),
    (("--scenario-dir", "/no/such/folder"), "the scenario folder /no/such/folder does not exist"),
    (("--scenario-dir", "/dev/null"), "the scenario folder /dev/null is not a folder"),
    (("--user", "t=alice", "--user", "t=bob"), "--user: the token of 'bob' is given twice"),
])
def test_a_usage_error_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], args: tuple[str, ...],
                                             fragment: str) -> None:
    assert main(["serve", "--port", "0", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert fragment in one_line(err), err


def test_a_usage_error_of_serve_as_people_run_it() -> None:
    done = subprocess.run([*PYTHON_M, "serve", "--port", "0", "--journal-size", "-1"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=STARTUP_TIMEOUT, check=False)
    assert (done.returncode, done.stdout) == (2, "")
    assert "--journal-size: -1 is negative" in one_line(done.stderr)
