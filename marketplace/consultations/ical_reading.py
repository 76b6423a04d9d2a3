"""Reading another calendar (an iCal address): check the address, download it safely, and expand
its events into busy intervals (UTC). No Flask and no database: the services in
``external_calendars.py`` call these with the app's settings.

* Only ``http``/``https`` (``webcal://``, what calendar apps show for a subscription, is read as
  ``https://``). Each connection resolves the host itself and, unless private hosts are allowed
  (development, tests), refuses one resolving to a private, loopback, link-local, reserved or
  otherwise non-public address — checked on the address actually connected to, so a redirect
  or a DNS answer that changed since the address was added cannot reach the internal network.
* Connect and read time out after ``timeout`` seconds; the whole download (redirects included) is
  cut off after ``3 × timeout``; at most ``max_bytes`` are read, streaming.
* Events are expanded with ``recurring-ical-events`` (RRULE, RDATE, EXDATE, RECURRENCE-ID, time
  zones, X-WR-TIMEZONE); transparent (free) and cancelled events do not block; an all-day event
  or a floating time is read in the specialist's zone.

Failures raise ``CalendarReadError`` whose message is a short reason shown to the specialist
("the server did not answer in time"); nothing raised here carries the address.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
from datetime import date, datetime, time, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import recurring_ical_events
from icalendar import Calendar

from marketplace.domain import DomainError

MAX_REDIRECTS = 3
MAX_URL_LENGTH = 2000
MAX_OCCURRENCES = 20_000  # expanded events of one calendar over the horizon
# Rules repeating this often would expand into hundreds of thousands of events: refused.
_TOO_FREQUENT = {"SECONDLY", "MINUTELY"}
_USER_AGENT = "Balance calendar reader (+https://balance.example)"

REASON_TIMEOUT = "the server did not answer in time"
REASON_TOO_BIG = "the calendar is larger than {limit}"
REASON_NOT_CALENDAR = "the address does not return a calendar in iCal format"
REASON_NOT_FOUND = "the server's name could not be found"
REASON_PRIVATE = "the address points to a private network"
REASON_CONNECT = "we could not connect to the server"
REASON_TLS = "the server's secure connection could not be verified"
REASON_BROKEN = "the server's answer was broken"
REASON_REDIRECTS = "the address redirected too many times"
REASON_TOO_MANY = "the calendar has too many events"
REASON_TOO_FREQUENT = "the calendar has events repeating every minute or second"


class CalendarUrlError(DomainError, ValueError):
    """The address cannot be used as a calendar address (the message says why)."""

    code = "calendar_url"


class CalendarReadError(DomainError):
    """Reading a calendar failed; the message is the reason shown to the specialist."""

    code = "calendar_read"


# --- the address --------------------------------------------------------------------------------

def is_public_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether connecting to ``ip`` reaches the public internet (not private, loopback, link-local,
    reserved, multicast, unspecified or shared address space; IPv4-mapped IPv6 as its IPv4)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _is_local_name(host: str) -> bool:
    host = host.rstrip(".").lower()
    return host == "localhost" or host.endswith((".localhost", ".local", ".internal", ".home.arpa"))


def check_calendar_url(raw: str | None, *, allow_private: bool) -> str:
    """The address to store for ``raw``, or ``CalendarUrlError`` with a message for the form.

    Checks what can be told without the network (scheme, host, a literal private address or a
    local name); where a host name leads is checked by every connection (``fetch_calendar``)."""
    url = (raw or "").strip()
    if not url:
        raise CalendarUrlError("Enter your calendar's address.", field="url")
    if len(url) > MAX_URL_LENGTH:
        raise CalendarUrlError(f"This address is too long (at most {MAX_URL_LENGTH} characters).", field="url")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise CalendarUrlError("A calendar address has no spaces or line breaks.", field="url")
    if url.lower().startswith("webcal://"):  # what calendar apps show for "subscribe"
        url = "https://" + url[len("webcal://"):]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise CalendarUrlError("This is not a valid web address.", field="url") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise CalendarUrlError("Use a web address starting with https:// (or http://), as your calendar "
                               "app shows it for sharing in iCal format.", code="calendar_url_scheme", field="url")
    host = parts.hostname
    if not host:
        raise CalendarUrlError("This address has no server name.", field="url")
    if len(host) > 255:
        raise CalendarUrlError("This address's server name is too long.", field="url")
    if parts.username is not None or parts.password is not None:
        raise CalendarUrlError("Use the calendar's address without a user name or password in it.", field="url")
    if port == 0:
        raise CalendarUrlError("This is not a valid web address.", field="url")
    if not allow_private:
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if (literal is not None and not is_public_address(literal)) or _is_local_name(host):
            raise CalendarUrlError("This address points to a private network. Use your calendar's public "
                                   "address in iCal format.", code="calendar_url_private", field="url")
    return url


def url_host(url: str) -> str:
    """The server name of a checked address (what pages show instead of the secret address)."""
    return (urlsplit(url).hostname or "")[:255]


# --- the download ------------------------------------------------------------------------------

def _open_socket(host: str, port: int, timeout: float, allow_private: bool) -> socket.socket:
    """A connected socket to ``host``, refusing non-public addresses unless allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError):
        raise CalendarReadError(REASON_NOT_FOUND) from None
    if not infos:
        raise CalendarReadError(REASON_NOT_FOUND)
    if not allow_private:
        for *_, sockaddr in infos:
            if not is_public_address(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])):
                raise CalendarReadError(REASON_PRIVATE)
    for family, kind, proto, _name, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
        except TimeoutError:
            sock.close()
            raise CalendarReadError(REASON_TIMEOUT) from None
        except OSError:
            sock.close()
            continue
        return sock
    raise CalendarReadError(REASON_CONNECT)


def _connection(url: str, timeout: float, allow_private: bool) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    host = parts.hostname or ""
    connection: http.client.HTTPConnection
    if parts.scheme.lower() == "https":
        connection = http.client.HTTPSConnection(host, parts.port, timeout=timeout,
                                                 context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(host, parts.port, timeout=timeout)
    port = connection.port
    # http.client connects through this attribute (and HTTPS wraps the socket it returns in TLS).
    connection._create_connection = (  # type: ignore[attr-defined]
        lambda _address, _timeout=None, _source=None: _open_socket(host, port, timeout, allow_private))
    return connection


class _Deadline:
    """Cuts the current connection when the whole download takes too long (a server dripping
    one byte at a time never hits the per-read timeout)."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self.connection: http.client.HTTPConnection | None = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def _expire(self) -> None:
        self.expired = True
        sock = self.connection.sock if self.connection is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self._timer.cancel()


def _path(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _size(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"


def _read_body(response: http.client.HTTPResponse, max_bytes: int, deadline: _Deadline) -> bytes:
    length = response.getheader("Content-Length")
    if length and length.strip().isdigit() and int(length) > max_bytes:
        raise CalendarReadError(REASON_TOO_BIG.format(limit=_size(max_bytes)))
    body = bytearray()
    while True:
        chunk = response.read1(65536)
        if deadline.expired:
            raise CalendarReadError(REASON_TIMEOUT)
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > max_bytes:
            raise CalendarReadError(REASON_TOO_BIG.format(limit=_size(max_bytes)))


def fetch_calendar(url: str, *, timeout: float, max_bytes: int, allow_private: bool) -> bytes:
    """The body of the calendar at ``url`` (following up to ``MAX_REDIRECTS`` redirects, each
    target checked like an added address), or ``CalendarReadError`` with the reason."""
    with _Deadline(timeout * 3) as deadline:
        for _ in range(MAX_REDIRECTS + 1):
            connection = _connection(url, timeout, allow_private)
            deadline.connection = connection
            try:
                connection.request("GET", _path(url), headers={
                    "User-Agent": _USER_AGENT, "Accept": "text/calendar, */*;q=0.5", "Accept-Encoding": "identity"})
                response = connection.getresponse()
                if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
                    try:
                        url = check_calendar_url(urljoin(url, response.getheader("Location", "")),
                                                 allow_private=allow_private)
                    except CalendarUrlError as exc:
                        raise CalendarReadError(f"the address redirected to one we cannot use ({exc.message})") from None
                    continue
                if response.status != 200:
                    raise CalendarReadError(f"the server answered with HTTP status {response.status}")
                return _read_body(response, max_bytes, deadline)
            except CalendarReadError:
                raise
            except TimeoutError:
                raise CalendarReadError(REASON_TIMEOUT) from None
            except ssl.SSLError:
                raise CalendarReadError(REASON_TLS) from None
            except (http.client.HTTPException, OSError, ValueError):
                raise CalendarReadError(REASON_TIMEOUT if deadline.expired else REASON_BROKEN) from None
            finally:
                connection.close()
    raise CalendarReadError(REASON_REDIRECTS)


# --- the events ------------------------------------------------------------------------------------

def _instant(value: date | datetime, zone: ZoneInfo) -> datetime:
    """A DTSTART/DTEND value as UTC: a date is midnight in ``zone``, a floating time is read in it."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(), zone)
    elif value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(timezone.utc)


def _blocks(event: Any, skip_uid_suffix: str | None) -> bool:
    if skip_uid_suffix and str(event.get("UID", "")).lower().endswith(skip_uid_suffix.lower()):
        return False
    if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return False
    return str(event.get("STATUS", "")).upper() != "CANCELLED"


def parse_calendar(data: bytes) -> Calendar:
    """The calendar in ``data``, or ``CalendarReadError`` when it is not one."""
    text = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text[:15].upper().startswith(b"BEGIN:VCALENDAR"):
        raise CalendarReadError(REASON_NOT_CALENDAR)
    try:
        calendar = Calendar.from_ical(text)
    except Exception:  # noqa: BLE001 - any parser failure means "not a calendar we can read"
        raise CalendarReadError(REASON_NOT_CALENDAR) from None
    if isinstance(calendar, list) or calendar.name != "VCALENDAR":
        raise CalendarReadError(REASON_NOT_CALENDAR)
    for event in calendar.walk("VEVENT"):
        rules = event.get("RRULE")
        for rule in rules if isinstance(rules, list) else [rules] if rules is not None else []:
            if any(str(freq).upper() in _TOO_FREQUENT for freq in rule.get("FREQ", [])):
                raise CalendarReadError(REASON_TOO_FREQUENT)
    return calendar


def busy_intervals(data: bytes, zone_name: str, start: datetime, end: datetime, *,
                   skip_uid_suffix: str | None = None) -> list[tuple[datetime, datetime]]:
    """The busy intervals (UTC, merged where they overlap or touch, sorted) of the events in the
    iCal ``data`` that happen between ``start`` and ``end``; ``zone_name`` is the specialist's
    zone (for all-day events and floating times). Events whose UID ends with ``skip_uid_suffix``
    are left out (this app's own consultations, when the other calendar subscribes to our feed:
    they are busy anyway, and a booking being rescheduled must not block itself)."""
    calendar = parse_calendar(data)
    zone = ZoneInfo(zone_name)
    try:
        occurrences = recurring_ical_events.of(calendar, skip_bad_series=True).between(start, end)
    except Exception:  # noqa: BLE001 - a malformed rule or date the library cannot expand
        raise CalendarReadError(REASON_NOT_CALENDAR) from None
    if len(occurrences) > MAX_OCCURRENCES:
        raise CalendarReadError(REASON_TOO_MANY)
    spans: list[tuple[datetime, datetime]] = []
    for event in occurrences:
        if not _blocks(event, skip_uid_suffix):
            continue
        try:
            begin, finish = _instant(event.start, zone), _instant(event.end, zone)
        except Exception:  # noqa: BLE001, S112 - an event without a usable start or end blocks nothing
            continue
        # Not clipped to the window: the same event gives the same interval on every read.
        if finish > begin and begin < end and start < finish:
            spans.append((begin, finish))
    return merge_intervals(spans)


def merge_intervals(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Sorted, with overlapping or touching intervals joined."""
    merged: list[tuple[datetime, datetime]] = []
    for begin, finish in sorted(spans):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
        else:
            merged.append((begin, finish))
    return merged


__all__ = [
    "CalendarReadError", "CalendarUrlError", "busy_intervals", "check_calendar_url", "fetch_calendar",
    "is_public_address", "merge_intervals", "parse_calendar", "url_host",
]
