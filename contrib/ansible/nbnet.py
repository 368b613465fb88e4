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
        - Files are copied as the stdin of C(cat > DEST) and fetched as the output of C(cat SRC),
          streamed in both directions, so their size is not limited by memory or the command length.
        - The plugin speaks the protocol itself over a socket; the nbnet client need not be installed.
    author: nbnet authors
    version_added: "2.14"
    extends_documentation_fragment:
        - connection_pipelining
    notes:
        - Commands run as the user the nbnet server runs as; C(remote_user) and passwords are ignored.
          Nothing is encrypted or authenticated by the connection itself; use it on loopback, a
          trusted network, or with the server's address allow-list.
        - The command's stdout and stderr are one stream (the socket), so everything is returned as
          stdout and stderr is always empty.
        - Privilege escalation (become) works when it needs no password (the server runs as root,
          C(become_method=su) from root, or sudo with NOPASSWD). A become password is refused with
          an error, as there is no terminal and the connection's stdin carries the module.
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

import os
import re
import shlex
import socket
import struct
import tempfile
import threading
import time

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.module_utils._text import to_bytes, to_native, to_text
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

display = Display()

TRAILER_LEN = 18
TRAILER_RE = re.compile(rb"\x1eNBNET-STATUS (\d{3})\n\Z")
CHUNK = 1 << 20


class _Output:
    """Where a response's bytes go, less the last 18 (the trailer, checked at EOF)."""

    def __init__(self, sink=None):
        self.sink = sink
        self.data = bytearray() if sink is None else None
        self.tail = b""

    def feed(self, chunk):
        buf = self.tail + chunk
        if len(buf) <= TRAILER_LEN:
            self.tail = buf
            return
        cut = len(buf) - TRAILER_LEN
        if self.sink is None:
            self.data += buf[:cut]
        else:
            self.sink.write(buf[:cut])
        self.tail = buf[cut:]

    def status(self):
        """The trailer's status, or None when the stream did not end with one."""
        m = TRAILER_RE.match(self.tail)
        return int(m.group(1)) if m else None


class Connection(ConnectionBase):
    """NBNET/1: one TCP connection per command, its stdin and its output."""

    transport = "nbnet"
    has_pipelining = True
    # No terminal: become plugins that need one are refused by Ansible itself.
    has_tty = False

    def __init__(self, *args, **kwargs):
        super(Connection, self).__init__(*args, **kwargs)
        self.host = None
        self.port = None

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

    def _open(self):
        timeout = self.get_option("timeout")
        try:
            sock = socket.create_connection((self.host, self.port), timeout=timeout or None)
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

    def _frame(self, cmd):
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
        return b"+<" + b"%010d" % len(b_cmd) + b_cmd

    def _run(self, cmd, stdin=None, sink=None):
        """Sends CMD with STDIN (bytes, a file object or None) as its input and reads the
        response into SINK (a file object) or memory. Returns (status, output bytes or None)."""
        frame = self._frame(cmd)
        limit = int(self.get_option("command_timeout") or 0)
        deadline = time.monotonic() + limit if limit > 0 else None
        sock = self._open()
        out = _Output(sink)
        send_error = []

        # Input goes from a thread while this one reads: a command that writes while it
        # reads (cat of a large file with output, a chatty module) would otherwise stall both.
        def send():
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
        try:
            sock.settimeout(None)
            sock.sendall(frame)
            sender = threading.Thread(target=send, name="nbnet-stdin", daemon=True)
            sender.start()
            while True:
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise socket.timeout()
                    sock.settimeout(left)
                chunk = sock.recv(CHUNK)
                if not chunk:
                    break
                out.feed(chunk)
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
        finally:
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
        data = bytes(out.data) if out.data is not None else None
        if status in (125, 126) and data is not None and _refusal(data):
            raise AnsibleConnectionFailure(
                "{0} (status {1} from {2})".format(to_native(data.strip()), status, self._where())
            )
        return status, data

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super(Connection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)
        if sudoable and self.become and self.become.expect_prompt():
            raise AnsibleError(
                "nbnet: become with a password is not supported: the connection has no terminal and "
                "its stdin carries the module. Use a become method that needs no password (sudo with "
                "NOPASSWD, su from root), or run the nbnet server as the user you need."
            )
        display.vvv(u"EXEC {0}".format(to_text(cmd)), host=self.host)
        status, data = self._run(cmd, stdin=in_data)
        return status, data, b""

    def put_file(self, in_path, out_path):
        super(Connection, self).put_file(in_path, out_path)
        display.vvv(u"PUT {0} TO {1}".format(in_path, out_path), host=self.host)
        b_in = to_bytes(in_path, errors="surrogate_or_strict")
        if not os.path.exists(b_in):
            raise AnsibleFileNotFound("file or module does not exist: {0}".format(to_native(in_path)))
        cmd = "cat > " + shlex.quote(to_text(out_path))
        with open(b_in, "rb") as f:
            status, data = self._run(cmd, stdin=f)
        if status != 0:
            raise AnsibleError(
                "nbnet: failed to transfer {0} to {1} (status {2}): {3}".format(
                    to_native(in_path), to_native(out_path), status, to_native(data.strip())
                )
            )

    def fetch_file(self, in_path, out_path):
        super(Connection, self).fetch_file(in_path, out_path)
        display.vvv(u"FETCH {0} TO {1}".format(in_path, out_path), host=self.host)
        b_out = to_bytes(out_path, errors="surrogate_or_strict")
        cmd = "cat " + shlex.quote(to_text(in_path))
        # Into a file beside the destination, renamed once the trailer says cat succeeded:
        # a failed fetch leaves no half file, and its output (cat's message) is kept for the error.
        fd, tmp = tempfile.mkstemp(prefix=b".nbnet-fetch.", dir=os.path.dirname(b_out) or b".")
        try:
            with os.fdopen(fd, "wb") as f:
                status, _ = self._run(cmd, sink=f)
            if status != 0:
                with open(tmp, "rb") as f:
                    msg = f.read(4096)
                raise AnsibleError(
                    "nbnet: failed to fetch {0} (status {1}): {2}".format(
                        to_native(in_path), status, to_native(msg.strip())
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
    return data.startswith(b"nbnet: ") and data.endswith(b"\n") and data.count(b"\n") == 1
