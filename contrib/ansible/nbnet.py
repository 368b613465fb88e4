# An Ansible connection plugin that runs tasks over NBNET/1 (nbnetd on TCP 9079).
# Copyright: the nbnet authors; same licence as nbnet (see LICENSE).
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
    name: nbnet
    short_description: run tasks over nbnet (NBNET/1, TCP port 9079)
    description:
        - Runs each command Ansible needs on a host as one NBNET/1 request to the host's nbnet
          server (nbnetd or nbnet-handler), with a status trailer and the connection as the
          command's stdin (the C(+<) flags of the protocol). The exit status comes from the trailer.
        - The command's stderr comes back apart from its stdout, on a second connection (the
          protocol's stderr channel, the C(&) flag). A server too old for it answers the request
          as a bad header; the plugin then says so once and sends its requests without it, and
          stderr is part of stdout for that server.
        - Files are copied as the stdin of C(cat > DEST) and fetched as the output of C(cat SRC),
          streamed in both directions, so their size is not limited by memory or the command length.
        - The plugin speaks the protocol itself over a socket; the nbnet client need not be installed.
    author: nbnet authors
    version_added: "2.14"
    extends_documentation_fragment:
        - connection_pipelining
    notes:
        - Commands run as the user the nbnet server runs them as. A C(remote_user) (C(ansible_user))
          that is set is sent to the server (the protocol's C(~) flag), which runs the command only
          if that is its user (its C(--run-as) user, or the requester with C(--run-as-requester))
          and otherwise refuses it; the task then fails saying so. Unset, no user is named.
          C(send_user=false) never names one. Passwords are ignored.
        - Nothing is encrypted or authenticated by the connection itself; use it on loopback, a
          trusted network, or with the server's address allow-list.
        - With become and no C(remote_user), the plugin asks the server once per task whom it runs
          commands as (C(id -un)) and reports that as the remote user, so that Ansible skips
          become when that already is the C(become_user), as it does over ssh (become to root on
          a server that runs commands as root needs no sudo).
        - Privilege escalation (become) works when it needs no password (the server runs as the
          become user, C(become_method=su) from root, or sudo with NOPASSWD). A become password is
          refused with an error, as there is no terminal and the connection's stdin carries the
          module.
    options:
      host:
        description: Host name or address of the nbnet server.
        default: inventory_hostname
        vars:
          - name: inventory_hostname
          - name: ansible_host
          - name: delegated_vars['ansible_host']
      port:
        description: TCP port of the nbnet server.
        type: int
        default: 9079
        ini:
          - section: defaults
            key: remote_port
          - section: nbnet_connection
            key: port
        env:
          - name: ANSIBLE_REMOTE_PORT
          - name: ANSIBLE_NBNET_PORT
        vars:
          - name: ansible_port
          - name: ansible_nbnet_port
        keyword:
          - name: port
      timeout:
        description: Seconds to wait for the TCP connection to be established.
        type: int
        default: 10
        ini:
          - section: defaults
            key: timeout
          - section: nbnet_connection
            key: timeout
        env:
          - name: ANSIBLE_TIMEOUT
          - name: ANSIBLE_NBNET_TIMEOUT
        vars:
          - name: ansible_timeout
          - name: ansible_nbnet_timeout
        cli:
          - name: timeout
      command_timeout:
        description:
          - Seconds one command (a module run, a file transfer) may take, from the request to the
            end of its output; 0 for no limit. At the limit the connection is reset, which makes
            the server kill the command, and the task fails.
        type: int
        default: 0
        ini:
          - section: nbnet_connection
            key: command_timeout
        env:
          - name: ANSIBLE_NBNET_COMMAND_TIMEOUT
        vars:
          - name: ansible_nbnet_command_timeout
      remote_user:
        description:
          - The user the commands must run as. Sent to the server, which runs a command only as
            its own command user (or the MUNGE requester) and refuses any other name; unset, the
            server's user is taken as it is.
        ini:
          - section: defaults
            key: remote_user
        env:
          - name: ANSIBLE_REMOTE_USER
        vars:
          - name: ansible_user
        cli:
          - name: user
        keyword:
          - name: remote_user
      send_user:
        description:
          - Whether to send a C(remote_user) that is set to the server (the C(~) flag). False
            ignores C(remote_user), as the plugin did before servers checked it.
        type: bool
        default: true
        ini:
          - section: nbnet_connection
            key: send_user
        env:
          - name: ANSIBLE_NBNET_SEND_USER
        vars:
          - name: ansible_nbnet_send_user
      max_command:
        description:
          - The server's command length limit in bytes (nbnetd's C(--max-command), 65536 by default,
            at most 131071). A longer command fails before anything is sent, with advice.
        type: int
        default: 65536
        ini:
          - section: nbnet_connection
            key: max_command
        env:
          - name: ANSIBLE_NBNET_MAX_COMMAND
        vars:
          - name: ansible_nbnet_max_command
"""

import errno
import os
import re
import selectors
import shlex
import socket
import struct
import tempfile
import threading
import time

from ansible import constants as C
from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.module_utils._text import to_bytes, to_native, to_text
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

display = Display()

TRAILER_LEN = 18
TRAILER_RE = re.compile(rb"\x1eNBNET-STATUS (\d{3})\n\Z")
CHUNK = 1 << 20
# A user name the '~' flag can carry (doc/protocol.md): 1-32 portable bytes.
USER_RE = re.compile(r"\A[A-Za-z0-9_.-]{1,32}\Z")
# How much of the start of a response is kept for messages when it goes to a file.
HEAD_LEN = 4096


class _Output:
    """Where a response's bytes go, less the last 18 (the trailer, checked at EOF)."""

    def __init__(self, sink=None):
        self.sink = sink
        self.data = bytearray() if sink is None else None
        self.head = b""
        self.total = 0
        self.tail = b""

    def feed(self, chunk):
        buf = self.tail + chunk
        if len(buf) <= TRAILER_LEN:
            self.tail = buf
            return
        cut = len(buf) - TRAILER_LEN
        self.total += cut
        if len(self.head) < HEAD_LEN:
            self.head += buf[: min(cut, HEAD_LEN - len(self.head))]
        if self.sink is None:
            self.data += buf[:cut]
        else:
            self.sink.write(buf[:cut])
        self.tail = buf[cut:]

    def status(self):
        """The trailer's status, or None when the stream did not end with one."""
        m = TRAILER_RE.match(self.tail)
        return int(m.group(1)) if m else None


class _Response:
    """What came back for one request: the status (None when cut), stdout, stderr."""

    def __init__(self, status, out, err):
        self.status = status
        self.out = out
        self.err = err

    def data(self):
        return bytes(self.out.data) if self.out.data is not None else None

    def said(self):
        """The server's own one-line answer ("nbnet: <reason>"), wherever it came, or None."""
        whole = self.out.head if self.out.total == len(self.out.head) else None
        for text in (self.err, whole):
            if _refusal(text):
                return text
        return None


class Connection(ConnectionBase):
    """NBNET/1: one TCP connection per command, its stdin and its output; stderr on a second."""

    transport = "nbnet"
    has_pipelining = True
    # No terminal: become plugins that need one are refused by Ansible itself.
    has_tty = False

    def __init__(self, *args, **kwargs):
        super(Connection, self).__init__(*args, **kwargs)
        self.host = None
        self.port = None
        self._server_user = None
        self._no_channel = False

    def _connect(self):
        self.host = self.get_option("host") or self._play_context.remote_addr
        self.port = int(self.get_option("port") or 9079)
        if not self._connected:
            display.vvv(
                u"ESTABLISH NBNET CONNECTION TO {0}:{1}".format(self.host, self.port), host=self.host
            )
            self._connected = True
        return self

    def _where(self):
        return "{0}:{1}".format(self.host, self.port)

    def get_option(self, option, hostvars=None):
        # Ansible asks for remote_user (ActionBase._get_remote_user) to decide whether become
        # is needed: it skips it when remote_user is the become_user. Over nbnet the remote
        # user is the one the server runs commands as, so that is what is answered.
        if option == "remote_user":
            return self._remote_user()
        return super(Connection, self).get_option(option, hostvars=hostvars)

    def _asked_user(self):
        """The user to name with '~': remote_user when set and send_user, else None."""
        if not super(Connection, self).get_option("send_user"):
            return None
        user = super(Connection, self).get_option("remote_user")
        if not user:
            return None
        user = to_text(user)
        if not USER_RE.match(user):
            raise AnsibleError(
                "nbnet: remote_user (ansible_user) '{0}' cannot be sent: NBNET/1 names a user with "
                "1 to 32 letters, digits, '_', '-' or '.'. Fix the name, or set "
                "ansible_nbnet_send_user: false to not name one.".format(to_native(user))
            )
        return user

    def _remote_user(self):
        """Whom commands run as, as far as Ansible needs to know: the user named to the server
        (it refuses any other), or, with become, the one it says it runs them as."""
        user = self._asked_user()
        if user or self.become is None:
            return user
        if self._server_user is None:
            self._server_user = self._ask_server_user()
        return self._server_user or None

    def _ask_server_user(self):
        """The server's command user ("id -un"), or "" when it cannot be learnt."""
        self._connect()
        try:
            status, out, err = self._run("id -un 2>/dev/null || id -u")
        except AnsibleError as e:
            display.vvv(u"nbnet: cannot learn the server's command user: {0}".format(to_text(e)))
            return ""
        user = to_text(out).strip()
        if status != 0 or not user:
            display.vvv(
                u"nbnet: cannot learn the server's command user (status {0}): {1}".format(
                    status, to_text(err or out).strip()
                ),
                host=self.host,
            )
            return ""
        display.vvv(u"nbnet: the server runs commands as {0}".format(user), host=self.host)
        return user

    def _open(self, address=None, source=None):
        """A connection to the server, or with ADDRESS (and SOURCE), to that exact address."""
        timeout = self.get_option("timeout")
        try:
            if address is None:
                sock = socket.create_connection((self.host, self.port), timeout=timeout or None)
            else:
                sock = socket.create_connection(address, timeout=timeout or None, source_address=source)
        except socket.timeout:
            raise AnsibleConnectionFailure(
                "nbnet: {0}: no connection within {1} s".format(self._where(), timeout)
            )
        except OSError as e:
            raise AnsibleConnectionFailure(
                "nbnet: {0}: {1}".format(self._where(), to_native(e.strerror or e))
            )
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _frame(self, cmd, token=None, user=None):
        b_cmd = to_bytes(cmd, errors="surrogate_or_strict")
        limit = int(self.get_option("max_command"))
        if not b_cmd:
            raise AnsibleError("nbnet: empty command")
        if b"\0" in b_cmd:
            raise AnsibleError("nbnet: the command contains a NUL byte, which NBNET/1 cannot carry")
        if len(b_cmd) > limit:
            hint = ""
            if not self.get_option("pipelining"):
                hint = (
                    " With pipelining off, what Ansible runs may carry a module's data on its "
                    "command line: turn pipelining on (ANSIBLE_PIPELINING=True, or ansible_pipelining: "
                    "true) and it goes as the command's stdin instead."
                )
            raise AnsibleError(
                "nbnet: the command is {0} bytes, over the server's limit of {1}: nothing was sent. "
                "Raise the server's --max-command (at most 131071) and ansible_nbnet_max_command "
                "with it, or shorten the command.{2}".format(len(b_cmd), limit, hint)
            )
        flags = b"+<"
        if token:
            flags += b"&" + to_bytes(token)
        if user:
            b_user = to_bytes(user)
            flags += b"~%02d" % len(b_user) + b_user
        return flags + b"%010d" % len(b_cmd) + b_cmd

    def _no_channel_mark(self):
        """A file that says, for the whole run (every worker), that this server predates '&'."""
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", self._where())
        return os.path.join(C.DEFAULT_LOCAL_TMP, "nbnet-no-channel-" + safe)

    def _channel_known_missing(self):
        if not self._no_channel:
            try:
                self._no_channel = os.path.exists(self._no_channel_mark())
            except (OSError, TypeError):
                pass
        return self._no_channel

    def _note_no_channel(self):
        """Remembers that the server predates '&', and says so once for the run."""
        self._no_channel = True
        first = True
        try:
            fd = os.open(self._no_channel_mark(), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            os.close(fd)
        except OSError as e:
            first = e.errno != errno.EEXIST
        except TypeError:
            pass
        if first:
            display.warning(
                u"nbnet: the server at {0} predates the stderr channel (it answered the '&' flag "
                u"as a bad header): its commands' stderr is returned within stdout. Upgrade nbnet "
                u"there to have them apart.".format(self._where())
            )

    def _run(self, cmd, stdin=None, sink=None):
        """Sends CMD with STDIN (bytes, a file object or None) as its input and reads the
        response into SINK (a file object) or memory. Returns (status, stdout bytes or None,
        stderr bytes)."""
        user = self._asked_user()
        channel = not self._channel_known_missing()
        resp = self._request(cmd, stdin, sink, channel, user)
        said = resp.said()
        if channel and resp.status == 125 and said and said.startswith(b"nbnet: bad header"):
            # A server that predates '&' (and '~', of the same revision): once more without.
            self._note_no_channel()
            if stdin is not None and not isinstance(stdin, (bytes, bytearray)):
                stdin.seek(0)
            if sink is not None:
                sink.seek(0)
                sink.truncate()
            resp = self._request(cmd, stdin, sink, False, user)
            said = resp.said()
            if user and resp.status == 125 and said and said.startswith(b"nbnet: bad header"):
                raise AnsibleError(
                    "nbnet: the server at {0} predates the '~' flag, so it cannot check that "
                    "commands run as remote_user '{1}': nothing was run. Upgrade nbnet there, or "
                    "set ansible_nbnet_send_user: false (or leave ansible_user unset) to run "
                    "commands as the server's user.".format(self._where(), user)
                )
        if resp.status == 126 and said and said.startswith(b"nbnet: cannot run as "):
            raise AnsibleError(
                "nbnet: the server at {0} does not run commands as remote_user '{1}' (it said: {2}, status "
                "126): nothing was run. Leave ansible_user unset (or set ansible_nbnet_send_user: "
                "false) to run them as the user the server runs them as; or run the server as "
                "that user (nbnetd or nbnet-handler --run-as {1}), or let it run each command as "
                "the user a MUNGE credential vouches for (--munge --run-as-requester) with a "
                "client that sends one.".format(self._where(), user, to_native(said.strip()[len(b"nbnet: ") :]))
            )
        if resp.status in (125, 126) and said:
            raise AnsibleConnectionFailure(
                "{0} (status {1} from {2})".format(to_native(said.strip()), resp.status, self._where())
            )
        return resp.status, resp.data(), resp.err

    def _request(self, cmd, stdin, sink, channel, user):
        """One request, with its stderr channel when CHANNEL: a _Response."""
        token = os.urandom(16).hex() if channel else None
        frame = self._frame(cmd, token, user)
        limit = int(self.get_option("command_timeout") or 0)
        deadline = time.monotonic() + limit if limit > 0 else None
        socks = [self._open()]
        out, err = _Output(sink), bytearray()
        send_error = []

        # Input goes from a thread while this one reads: a command that writes while it
        # reads (cat of a large file with output, a chatty module) would otherwise stall both.
        def send():
            sock = socks[0]
            try:
                if isinstance(stdin, (bytes, bytearray)):
                    view = memoryview(stdin)
                    for off in range(0, len(view), CHUNK):
                        sock.sendall(view[off : off + CHUNK])
                elif stdin is not None:
                    while True:
                        chunk = stdin.read(CHUNK)
                        if not chunk:
                            break
                        sock.sendall(chunk)
                sock.shutdown(socket.SHUT_WR)
            except OSError as e:
                # The command may end without reading all its input: its output tells why.
                send_error.append(e)

        reset = False
        sender = None
        sel = selectors.DefaultSelector()
        try:
            main = socks[0]
            main.settimeout(None)
            main.sendall(frame)
            if channel:
                # From the main connection's own address: the server pairs only a channel
                # that comes from the same peer address as its request.
                chan = self._open(main.getpeername()[:2], (main.getsockname()[0], 0))
                socks.append(chan)
                chan.settimeout(None)
                chan.sendall(b"=" + to_bytes(token))
                sel.register(chan, selectors.EVENT_READ, "err")
            sel.register(main, selectors.EVENT_READ, "out")
            sender = threading.Thread(target=send, name="nbnet-stdin", daemon=True)
            sender.start()
            while sel.get_map():
                left = None
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise socket.timeout()
                for key, _ in sel.select(left):
                    try:
                        chunk = key.fileobj.recv(CHUNK)
                    except OSError as e:
                        if key.data == "out":
                            raise
                        # Stderr cut short is no reason to lose the output and the status.
                        display.vvv(u"nbnet: the stderr channel: {0}".format(to_text(e)), host=self.host)
                        chunk = b""
                    if not chunk:
                        sel.unregister(key.fileobj)
                    elif key.data == "out":
                        out.feed(chunk)
                    else:
                        err += chunk
            sender.join()
        except socket.timeout:
            reset = True
            raise AnsibleError(
                "nbnet: {0}: the command ran over the command timeout of {1} s and was killed "
                "(ansible_nbnet_command_timeout)".format(self._where(), limit)
            )
        except OSError as e:
            reset = True
            raise AnsibleConnectionFailure(
                "nbnet: {0}: the stream was cut: {1}".format(self._where(), to_native(e.strerror or e))
            )
        except BaseException:
            reset = True
            raise
        finally:
            sel.close()
            for sock in socks:
                if reset:
                    # A reset, not a FIN: the server kills the command's process group on it.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()

        status = out.status()
        if status is None:
            raise AnsibleConnectionFailure(
                "nbnet: {0}: the stream was cut: the response ended without a status trailer "
                "(the server went away, or it is too old for the '+' flag)".format(self._where())
            )
        if send_error:
            display.vvv(
                u"nbnet: the command did not read all of its input: {0}".format(to_text(send_error[0])),
                host=self.host,
            )
        return _Response(status, out, bytes(err))

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super(Connection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)
        if sudoable and self.become and self.become.expect_prompt():
            raise AnsibleError(
                "nbnet: become with a password is not supported: the connection has no terminal and "
                "its stdin carries the module. Use a become method that needs no password (sudo with "
                "NOPASSWD, su from root), or run the nbnet server as the user you need."
            )
        display.vvv(u"EXEC {0}".format(to_text(cmd)), host=self.host)
        status, out, err = self._run(cmd, stdin=in_data)
        return status, out, err

    def put_file(self, in_path, out_path):
        super(Connection, self).put_file(in_path, out_path)
        display.vvv(u"PUT {0} TO {1}".format(in_path, out_path), host=self.host)
        b_in = to_bytes(in_path, errors="surrogate_or_strict")
        if not os.path.exists(b_in):
            raise AnsibleFileNotFound("file or module does not exist: {0}".format(to_native(in_path)))
        cmd = "cat > " + shlex.quote(to_text(out_path))
        with open(b_in, "rb") as f:
            status, out, err = self._run(cmd, stdin=f)
        if status != 0:
            raise AnsibleError(
                "nbnet: failed to transfer {0} to {1} (status {2}): {3}".format(
                    to_native(in_path), to_native(out_path), status, to_native((err + out).strip())
                )
            )

    def fetch_file(self, in_path, out_path):
        super(Connection, self).fetch_file(in_path, out_path)
        display.vvv(u"FETCH {0} TO {1}".format(in_path, out_path), host=self.host)
        b_out = to_bytes(out_path, errors="surrogate_or_strict")
        cmd = "cat " + shlex.quote(to_text(in_path))
        # Into a file beside the destination, renamed once the trailer says cat succeeded:
        # a failed fetch leaves no half file. cat's message comes on stderr (or, from a server
        # without the stderr channel, as the output: the start of the file is kept for it).
        fd, tmp = tempfile.mkstemp(prefix=b".nbnet-fetch.", dir=os.path.dirname(b_out) or b".")
        try:
            with os.fdopen(fd, "wb") as f:
                status, _, err = self._run(cmd, sink=f)
            if status != 0:
                if not err:
                    with open(tmp, "rb") as f:
                        err = f.read(HEAD_LEN)
                raise AnsibleError(
                    "nbnet: failed to fetch {0} (status {1}): {2}".format(
                        to_native(in_path), status, to_native(err.strip())
                    )
                )
            os.rename(tmp, b_out)
            tmp = None
        finally:
            if tmp is not None:
                os.unlink(tmp)

    def reset(self):
        # Nothing persists between commands: each is a connection of its own.
        pass

    def close(self):
        self._connected = False


def _refusal(data):
    """Whether DATA is the server's one-line refusal ("nbnet: <reason>\\n")."""
    return (
        data is not None
        and data.startswith(b"nbnet: ")
        and data.endswith(b"\n")
        and data.count(b"\n") == 1
    )
