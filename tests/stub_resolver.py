"""A resolver for tests of unresolvable portals: every name fails, as with no DNS at all, and no
query leaves the machine (set with ``-s TWISTED_DNS_RESOLVER=tests.stub_resolver.NoNames``)."""

from __future__ import annotations

from collections.abc import Sequence

from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer
from twisted.internet.error import DNSLookupError


class NoNames(CachingThreadedResolver):
    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:  # noqa: N802
        return defer.fail(DNSLookupError(f"{name}: no such host (tests.stub_resolver)"))
