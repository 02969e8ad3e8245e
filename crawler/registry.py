"""Portals as data: the shipped registry (``portals.toml``) and fixture directories.

A portal needs only an id and a base URL; everything else helps but is optional.
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import json
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

REGISTRY_FILE = Path(__file__).with_name("portals.toml")
# A portal id names files and folders (DATA/jobs/<id>/, WARC file names): letters, digits and
# `.`, `_`, `:`, `-`, beginning and ending with a letter or digit, so never `.`, `..` or a path.
PORTAL_ID = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._:-]{0,62}[A-Za-z0-9])?")
MAX_ID_LENGTH = 64
HOST_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


STATUSES = ("live", "dead")


class RegistryError(ValueError):
    """Raised for an unknown portal id or a registry entry that cannot be used."""


@dataclass(slots=True)
class Portal:
    id: str
    base_url: str
    name: str | None = None
    province: str | None = None
    district: str | None = None  # None for provincial sites
    family: str | None = None
    start_urls: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    # Other hosts the portal's documents (PDF, DOC...) may be fetched from: some provinces
    # serve every unit's documents from one shared host. Nothing else is fetched from them.
    document_hosts: list[str] = field(default_factory=list)
    enabled: bool = True
    checked: bool = False  # verified against the live site
    status: str = "live"  # "dead": gone from the web, recoverable from web archives only

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not PORTAL_ID.fullmatch(self.id):
            raise RegistryError(
                f"portal id {str(self.id)[:80]!r} is not a safe name: 1 to {MAX_ID_LENGTH} "
                "letters, digits, '.', '_', ':' or '-', beginning and ending with a letter or "
                "digit")
        if self.status not in STATUSES:
            raise RegistryError(f"portal {self.id!r}: status {self.status!r} is not one of "
                                f"{', '.join(STATUSES)}")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RegistryError(
                f"portal {self.id!r}: base_url {self.base_url!r} is not an http(s) URL"
            )
        self.start_urls = [urljoin(self.base_url, u) for u in self.start_urls] or [self.base_url]
        self.document_hosts = [h.strip().lower() for h in self.document_hosts if h.strip()]

    @classmethod
    def from_url(cls, url: str, *, province: str | None = None,
                 district: str | None = None) -> Portal:
        """An ad-hoc portal from its base URL; its id is the URL's host (and port, if named),
        shortened with a hash of the whole when longer than a portal id may be."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as e:
            raise RegistryError(f"{url!r} is not an http(s) URL: {e}") from e
        host = parts.hostname or ""
        if parts.scheme not in ("http", "https") or not host:
            raise RegistryError(f"{url!r} is not an http(s) URL")
        if not valid_host(host):
            raise RegistryError(f"{url!r}: {host!r} is not a host name")
        name = f"{host}:{port}" if port else host
        if len(name) > MAX_ID_LENGTH:
            digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:10]
            name = f"{name[:MAX_ID_LENGTH - 11].rstrip('.-_:')}-{digest}"
        return cls(id=name, base_url=url.strip(), province=province, district=district)

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    @property
    def named_hosts(self) -> set[str]:
        """The hosts of the base URL and the start URLs."""
        return {urlsplit(u).hostname or "" for u in (self.base_url, *self.start_urls)} - {""}

    @property
    def hosts(self) -> set[str]:
        """The hosts the portal's own pages are served from: the named ones, each with and
        without ``www.`` (a home page often redirects between the two)."""
        names = self.named_hosts
        return names | {f"www.{h}" for h in names if not h.startswith("www.") and
                        not is_ip(h)} | {h.removeprefix("www.") for h in names}

    @property
    def scope(self) -> str:
        """URL prefix the crawl stays within: the host, and the base URL's folder if it has one
        (Quảng Ninh's unit sites share one host under /donvi/<unit>/)."""
        parts = urlsplit(self.base_url)
        path = parts.path if parts.path.endswith("/") else parts.path.rsplit("/", 1)[0] + "/"
        return f"{parts.hostname}{path}"

    def in_scope(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
        except ValueError:  # a malformed URL is nobody's
            return False
        return parts.scheme in ("http", "https") and f"{parts.hostname}{parts.path}".startswith(
            self.scope
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def valid_host(host: str) -> bool:
    """A host name of dot-separated labels (at most 253 characters), or an IP address."""
    if is_ip(host):
        return True
    labels = host.rstrip(".").split(".")
    return len(host) <= 253 and all(HOST_LABEL.fullmatch(label) for label in labels)


def load_registry(path: Path | None = None) -> dict[str, Portal]:
    """Read the registry file: one ``[[portal]]`` table per portal."""
    path = path or REGISTRY_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise RegistryError(f"no portal registry at {path}") from e
    except tomllib.TOMLDecodeError as e:
        raise RegistryError(f"{path}: {e}") from e
    portals: dict[str, Portal] = {}
    for entry in data.get("portal", []):
        try:
            portal = Portal(**entry)
        except TypeError as e:
            raise RegistryError(f"{path}: entry {entry.get('id')!r}: {e}") from e
        if portal.id in portals:
            raise RegistryError(f"{path}: portal id {portal.id!r} appears twice")
        portals[portal.id] = portal
    return portals


def load_fixture_portals(root: Path) -> dict[str, Portal]:
    """Portals of a fixture directory (``index.json`` + ``sites/*/manifest.json``)."""
    index_file = Path(root) / "index.json"
    try:
        index = json.loads(index_file.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise RegistryError(f"{root} is not a fixture directory: it has no index.json") from e
    except json.JSONDecodeError as e:
        raise RegistryError(f"{index_file}: {e}") from e
    portals: dict[str, Portal] = {}
    for item in index.get("portals", []):
        manifest = json.loads((Path(root) / item["manifest"]).read_text(encoding="utf-8"))
        if not manifest.get("crawlable", True):
            continue
        portals[item["portal_id"]] = Portal(
            id=item["portal_id"],
            base_url=manifest["base_url"] + "/",
            name=manifest.get("name"),
            province=manifest.get("province"),
            district=manifest.get("district"),
            family=manifest.get("family_name"),
            start_urls=manifest.get("start_urls") or [],
            document_hosts=manifest.get("document_hosts") or [],
            checked=True,
        )
    return portals


def named_portal(portal: str | None = None, url: str | None = None, *,
                 province: str | None = None, district: str | None = None) -> Portal:
    """The portal a crawl names: an id of the registry, or an ad-hoc base URL."""
    if portal:
        try:
            return load_registry()[portal]
        except KeyError as e:
            raise RegistryError(f"unknown portal id {portal!r}") from e
    if url:
        return Portal.from_url(url, province=province, district=district)
    raise RegistryError("give a portal: -a portal=ID or -a url=https://...")


def select(portals: dict[str, Portal], ids: list[str] | tuple[str, ...]) -> list[Portal]:
    """The portals named by ``ids`` (all enabled live ones when ``ids`` is empty) to crawl."""
    if not ids:
        return [p for p in portals.values() if p.enabled and p.status == "live"]
    unknown = [i for i in ids if i not in portals]
    if unknown:
        close = sorted({c for i in unknown for c in difflib.get_close_matches(i, portals, n=3)})
        hint = (f"did you mean {', '.join(close)}?" if close else
                "'portal-archive portals' lists them")
        raise RegistryError(f"unknown portal id: {', '.join(unknown)} ({hint})")
    dead = [i for i in ids if portals[i].status == "dead"]
    if dead:
        raise RegistryError(f"{', '.join(dead)}: dead (status = \"dead\" in the registry): "
                            f"recover it from web archives with 'portal-archive recover "
                            f"--portal {dead[0]} --source ia --source cc'")
    return [portals[i] for i in ids]
