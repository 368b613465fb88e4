"""The NBNET/1 wire format for the tests' Python clients and stand-in servers,
in one place (doc/protocol.md): a request frame built, the status trailer
made, found and split off. tests/helpers.bash's frame() is its bash twin.

    import nbframe
    nbframe.build("ls", trailer=True)      # b"+0000000002ls"
    nbframe.split(response)                # (output, status or None)
"""
import re

TRAILER_SIZE = 18
TRAILER = re.compile(rb"\x1eNBNET-STATUS (\d{3})\n")


def _bytes(s) -> bytes:
    return s.encode() if isinstance(s, str) else bytes(s)


def build(command, trailer: bool = False, stdin: bool = False, munge: bool = False,
          token=None, user=None, flags=None) -> bytes:
    """A request for command (str or bytes; with munge, a credential in
    munge(1)'s text form): [+][<][&token][~NN user][@], ten digits of length,
    the payload. flags, when given, are the bytes put before the digits
    instead (a test of a bad header: out of order, repeated)."""
    payload = _bytes(command)
    if flags is None:
        flags = b"+" if trailer else b""
        flags += b"<" if stdin else b""
        flags += b"&" + _bytes(token) if token is not None else b""
        flags += b"~%02d" % len(_bytes(user)) + _bytes(user) if user is not None else b""
        flags += b"@" if munge else b""
    return _bytes(flags) + b"%010d" % len(payload) + payload


def trailer(status: int) -> bytes:
    """The 18-byte status trailer a server sends after the output."""
    return b"\x1eNBNET-STATUS %03d\n" % status


def status_of(data: bytes):
    """The status when data is a whole trailer, else None."""
    m = TRAILER.fullmatch(data)
    return int(m.group(1)) if m else None


def split(response: bytes):
    """(output, status): the response without its trailer and the trailer's
    status, or (response, None) when it does not end with one (a cut stream)."""
    status = status_of(response[-TRAILER_SIZE:])
    if status is None:
        return response, None
    return response[:-TRAILER_SIZE], status


def new_token() -> str:
    """A fresh token for '&': lower-case hex of 16 random bytes."""
    import secrets
    return secrets.token_hex(16)


def channel(token) -> bytes:
    """What a stderr channel's client sends: '=' and its request's token."""
    return b"=" + _bytes(token)
