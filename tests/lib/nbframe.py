"""The NBNET/1 wire format for the tests' Python clients and stand-in servers,
in one place (doc/protocol.md): a request frame built, the status trailer
made, found and split off. tests/helpers.bash's frame() is its bash twin.

    import nbframe
    nbframe.build("ls", trailer=True)      # b"+0000000002ls"
    nbframe.split(response)                # (output, status or None)
    nbframe.read_request(sock.recv)        # a request or channel, parsed
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


TOKEN_LEN = 32
FLAG_ORDER = b"+<&~@"


class BadHeader(Exception):
    """A request a server must refuse: the line it says (without newline);
    its trailer attribute says whether the request asked for one ('+')."""
    trailer = False


def read_request(recv, flags_known=FLAG_ORDER):
    """Reads one request or stderr channel with recv(1)-style calls, never a
    byte past it. Returns a dict: channel (the token of a "=" connection, or
    None), status, stdin, token, user, munge, command (bytes); None for a
    connection closed early. flags_known: the flags the server knows (b"+<"
    for one that predates '&' and '~'), the rest being a bad header as such a
    server says it. Raises BadHeader."""
    req = dict(channel=None, status=False, stdin=False, token=None, user=None,
               munge=False, command=b"")
    pos = 0

    def take(n):
        nonlocal pos
        data = b""
        while len(data) < n:
            b = recv(n - len(data))
            if not b:
                raise EOFError
            data += b
        pos += n
        return data

    def bad(byte, what="not a digit"):
        shown = "'%c'" % byte if 0x20 < byte < 0x7f else "0x%02x" % byte
        raise BadHeader("nbnet: bad header: byte %d is %s, %s (a request is [+][<][@], "
                        "10 digits of length, then the command)" % (pos, shown, what))

    try:
        b = take(1)
        if b == b"=" and b"&" in flags_known:
            token = take(TOKEN_LEN)
            if not re.fullmatch(rb"[0-9a-f]{%d}" % TOKEN_LEN, token):
                raise BadHeader("nbnet: bad request: a channel's token is 32 lower-case hex digits")
            req["channel"] = token.decode()
            return req
        seen = 0
        while not b.isdigit():
            at = FLAG_ORDER.find(b, seen)
            if at < 0 or b not in flags_known:
                bad(b[0])
            seen = at + 1
            if b == b"+":
                req["status"] = True
            elif b == b"<":
                req["stdin"] = True
            elif b == b"@":
                req["munge"] = True
            elif b == b"&":
                token = take(TOKEN_LEN)
                if not re.fullmatch(rb"[0-9a-f]{%d}" % TOKEN_LEN, token):
                    raise BadHeader("nbnet: bad header: the token after '&' is not 32 "
                                    "lower-case hex digits")
                req["token"] = token.decode()
            elif b == b"~":
                ulen = take(2)
                if not ulen.isdigit() or not 1 <= int(ulen) <= 32:
                    raise BadHeader("nbnet: bad header: the user name's length after '~' is "
                                    "not 01-32")
                user = take(int(ulen))
                if not re.fullmatch(rb"[A-Za-z0-9_.-]+", user):
                    raise BadHeader("nbnet: bad header: not a portable user name after '~'")
                req["user"] = user.decode()
            b = take(1)
        digits = b + take(9)
        if not digits.isdigit():
            bad(digits[-1])
        if int(digits) == 0:
            raise BadHeader("nbnet: empty command")
        req["command"] = take(int(digits))
        return req
    except EOFError:
        return None
    except BadHeader as e:
        e.trailer = req["status"]
        raise
