"""A real Dovecot IMAP server on loopback, for the imap connector's tests.

``dovecot_server`` (one per test session) writes a minimal ``dovecot.conf`` into a scratch
directory and runs ``dovecot -F`` with it: IMAP with STARTTLS and IMAPS on two free loopback
ports, a certificate signed by a throw-away CA made with the ``openssl`` command (tests trust it
through ``ca_file``: verification stays on), a passwd-file of users with plain-text passwords,
and Maildir storage. ``dovecot`` (one per test) hands each test a user no other test used, so
every test starts with an empty mailbox, and offers ``append``/``create``/``delete`` to seed it
over IMAP.

Make both fixtures visible in a test module::

    from tests.connectors import dovecot as fixtures

    dovecot_server = fixtures.dovecot_server
    dovecot = fixtures.dovecot

Without ``/usr/sbin/dovecot`` (``apt-get install dovecot-imapd``; ``.ci/run`` installs it) or the
``openssl`` command the tests skip with the reason.
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

DOVECOT = "/usr/sbin/dovecot"
HOST = "127.0.0.1"
START_TIMEOUT = 20.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for localhost/127.0.0.1 signed by it: (ca, cert, key)."""
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(
        "req", "-x509", *curve, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=cxm test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    _openssl(
        "req", *curve, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost",
        cwd=directory,
    )  # fmt: skip
    (directory / "server.ext").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n"
    )
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext",
        cwd=directory,
    )  # fmt: skip
    return directory / "ca.pem", directory / "server.pem", directory / "server.key"


# Dovecot re-reads its passwd-file at most once a second, so users added while it runs may not
# log in yet: every test's user exists from the start.
USERS = 100
#: A user whose password is not ASCII (IMAP LOGIN cannot carry it; SASL PLAIN can).
UNICODE_USER = ("agent-intl", "grüße-Ø-42")


@dataclass
class DovecotServer:
    """A running Dovecot: where it listens, and its users, each with an empty mailbox."""

    imap_port: int
    imaps_port: int
    ca_file: Path
    log_path: Path
    users_file: Path
    host: str = HOST
    _unused: list[tuple[str, str]] = field(default_factory=list)

    def write_users(self) -> None:
        """Write the passwd-file: ``USERS`` users with random passwords, and ``UNICODE_USER``."""
        self._unused = [(f"agent{n}", "pw-" + secrets.token_urlsafe(12)) for n in range(USERS)]
        lines = [f"{name}:{{PLAIN}}{password}::::::\n" for name, password in self._unused]
        lines.append(f"{UNICODE_USER[0]}:{{PLAIN}}{UNICODE_USER[1]}::::::\n")
        self.users_file.write_text("".join(lines), encoding="utf-8")
        self._unused.reverse()

    def add_user(self) -> tuple[str, str]:
        """Return ``(username, password)`` of a user no test has used yet."""
        if not self._unused:
            raise RuntimeError(f"the test server has only {USERS} users; raise USERS")
        return self._unused.pop()

    def log(self) -> str:
        """Dovecot's log so far, and what it wrote to stderr (fatal start-up errors go there)."""
        parts = [
            path.read_text(errors="replace")
            for path in (self.log_path, self.log_path.with_name("stderr.log"))
            if path.exists()
        ]
        return "\n".join(part for part in parts if part)


@dataclass
class DovecotAccount:
    """One user's mailbox on the test server, with helpers to seed it over IMAP."""

    server: DovecotServer
    username: str
    password: str

    def options(self, security: str = "ssl", **more: Any) -> dict[str, Any]:
        """Options for the imap connector reaching this mailbox with ``security``."""
        port = self.server.imaps_port if security == "ssl" else self.server.imap_port
        options: dict[str, Any] = {
            "host": self.server.host,
            "port": port,
            "security": security,
            "username": self.username,
            "password": self.password,
            "timeout": 10,
        }
        if security != "none":
            options["ca_file"] = str(self.server.ca_file)
        options.update(more)
        return options

    @contextlib.contextmanager
    def session(self) -> Iterator[imaplib.IMAP4_SSL]:
        """A logged-in IMAPS connection, logged out afterwards."""
        context = ssl.create_default_context(cafile=str(self.server.ca_file))
        connection = imaplib.IMAP4_SSL(
            self.server.host, self.server.imaps_port, ssl_context=context, timeout=10
        )
        try:
            connection.login(self.username, self.password)
            yield connection
        finally:
            connection.logout()

    def append(
        self, raw: bytes, folder: str = "INBOX", *, internaldate: datetime | None = None
    ) -> None:
        """Store one message in ``folder`` (APPEND), with ``internaldate`` if given."""
        with self.session() as connection:
            typ, data = connection.append(_quote(folder), "", internaldate, raw)
            assert typ == "OK", data

    def create(self, folder: str) -> None:
        """Create ``folder`` (given in IMAP's modified UTF-7 if it is not ASCII)."""
        with self.session() as connection:
            typ, data = connection.create(_quote(folder))
            assert typ == "OK", data

    def delete(self, folder: str) -> None:
        """Delete ``folder`` and its messages."""
        with self.session() as connection:
            typ, data = connection.delete(_quote(folder))
            assert typ == "OK", data

    def uidvalidity(self, folder: str = "INBOX") -> int:
        """The folder's UIDVALIDITY as the server reports it."""
        with self.session() as connection:
            typ, data = connection.status(_quote(folder), "(UIDVALIDITY)")
            assert typ == "OK", data
            return int(data[0].split(b"UIDVALIDITY ")[1].rstrip(b")"))

    def flags(self, folder: str = "INBOX") -> list[bytes]:
        """The flags of every message in ``folder``, in UID order."""
        with self.session() as connection:
            connection.select(_quote(folder), readonly=True)
            typ, data = connection.uid("FETCH", "1:*", "(FLAGS)")
            assert typ == "OK", data
            return [item for item in data if isinstance(item, bytes)]


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _users() -> dict[str, str | int]:
    """Who Dovecot's processes and mail files run as."""
    if os.geteuid() != 0:
        # Unprivileged: every process runs as the current user, as in a rootless install.
        me = pwd.getpwuid(os.geteuid())
        return {
            "internal_user": me.pw_name,
            "internal_group": grp.getgrgid(me.pw_gid).gr_name,
            "login_user": me.pw_name,
            "mail_uid": me.pw_uid,
            "mail_gid": me.pw_gid,
        }
    # As root (CI): Dovecot refuses to serve mail as uid 0, so mail belongs to nobody.
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("running as root and there is no 'nobody' user for Dovecot's mail files")
    return {
        "internal_user": "root",
        "internal_group": "root",
        "login_user": "nobody",
        "mail_uid": nobody.pw_uid,
        "mail_gid": nobody.pw_gid,
    }


_CONFIG = """\
base_dir = {scratch}/run
state_dir = {scratch}/state
log_path = {scratch}/dovecot.log
info_log_path = {scratch}/dovecot.log
protocols = imap
listen = {host}
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = {mail_uid}
first_valid_gid = {mail_gid}
auth_mechanisms = plain login
# Failed logins are answered at once: the tests try wrong passwords on purpose.
auth_failure_delay = 0
mail_location = maildir:{mail}/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {users}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {users}
  default_fields = uid={mail_uid} gid={mail_gid} home={mail}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {host}
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


def _wait_for(ports: list[int], process: subprocess.Popen[bytes], server: DovecotServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    waiting = list(ports)
    while waiting:
        if process.poll() is not None:
            pytest.fail(f"dovecot exited with {process.returncode}:\n{server.log()}")
        try:
            with socket.create_connection((HOST, waiting[0]), timeout=1):
                waiting.pop(0)
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"dovecot did not listen on {waiting} in time:\n{server.log()}")
            time.sleep(0.05)


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[DovecotServer]:
    """A Dovecot IMAP server on 127.0.0.1 for the whole test session."""
    if not os.access(DOVECOT, os.X_OK):
        pytest.skip(f"{DOVECOT} is not installed (apt-get install dovecot-imapd)")
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed; it makes the test certificates")
    users = _users()
    # Not under pytest's tmp_path: its parents are private to the current user, and as root the
    # mail processes (nobody) must reach the mail directory; unix socket paths must be short too.
    scratch = Path(tempfile.mkdtemp(prefix="cxm-dovecot-"))
    process: subprocess.Popen[bytes] | None = None
    output = None
    try:
        scratch.chmod(0o755)
        mail = scratch / "mail"
        mail.mkdir()
        os.chown(mail, int(users["mail_uid"]), int(users["mail_gid"]))
        ca_file, cert, key = _certificates(scratch)
        server = DovecotServer(
            imap_port=_free_port(),
            imaps_port=_free_port(),
            ca_file=ca_file,
            log_path=scratch / "dovecot.log",
            users_file=scratch / "users",
        )
        server.write_users()
        config = scratch / "dovecot.conf"
        config.write_text(
            _CONFIG.format(
                scratch=scratch,
                host=HOST,
                cert=cert,
                key=key,
                mail=mail,
                users=server.users_file,
                imap_port=server.imap_port,
                imaps_port=server.imaps_port,
                **users,
            )
        )
        output = (scratch / "stderr.log").open("wb")
        process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(config)], stdout=output, stderr=subprocess.STDOUT
        )
        _wait_for([server.imap_port, server.imaps_port], process, server)
        yield server
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if output is not None:
            output.close()
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture
def dovecot(dovecot_server: DovecotServer) -> Iterator[DovecotAccount]:
    """A fresh, empty mailbox on the session's Dovecot server."""
    username, password = dovecot_server.add_user()
    yield DovecotAccount(dovecot_server, username, password)
    # pytest shows a test's captured output only when it failed: the server's side of it.
    print(f"dovecot log ({dovecot_server.log_path}):\n{dovecot_server.log()[-5000:]}")
