"""What a portal sends, or a user types, never raises in the crawler's small parsers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from crawler.middlewares.backoff import retry_after_seconds
from crawler.registry import Portal, RegistryError

URLISH = st.one_of(st.text(), st.from_regex(r"(https?|ftp|file)://[^/]{0,12}/.{0,8}",
                                            fullmatch=True))


@given(st.one_of(st.text(), st.integers(min_value=0).map(str)))
def test_any_retry_after_is_seconds_to_wait_or_nothing(value):
    seconds = retry_after_seconds(value)  # "²" and "Wed, 99 Foo" included
    assert seconds is None or seconds >= 0


@given(URLISH)
def test_an_ad_hoc_portal_is_an_http_url_or_one_clear_error(url):
    try:
        portal = Portal.from_url(url)
    except RegistryError:
        return
    assert portal.base_url.lower().startswith(("http://", "https://")) and portal.id
