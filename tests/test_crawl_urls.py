"""URL canonicalisation: one name per page, whatever link led to it."""

import string
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scrapy import Request

from crawler.discovery import Limits, LinkPolicy
from crawler.incremental import KnownArticles
from crawler.registry import Portal
from crawler.spiders.portal import PortalSpider
from crawler.urls import (
    ExactUrlFingerprinter,
    ParameterOrder,
    clean_url,
    dropped_parameter,
    join_url,
)


def test_tracking_session_and_print_parameters_are_dropped_order_kept():
    url = ("http://a.test/x.html?b=2&utm_source=fb&a=1&fbclid=Iw&PHPSESSID=9&print=1#top")
    assert clean_url(url) == "http://a.test/x.html?b=2&a=1"


def test_session_ids_in_the_path_are_dropped():
    assert clean_url("http://a.test/(S(abc12))/tin.aspx?id=3") == "http://a.test/tin.aspx?id=3"
    assert clean_url("http://a.test/tin.jsp;jsessionid=AB12?id=3") == "http://a.test/tin.jsp?id=3"


def test_the_portals_usual_parameter_order_names_the_page():
    order = ParameterOrder()
    for n in range(5):
        order.see(f"http://a.test/?gd=34&cn=28&tc={n}")
    order.see("http://a.test/?cn=28&gd=34&tc=2012")
    assert order.canonical("http://a.test/?cn=28&gd=34&tc=2012") == (
        "http://a.test/?gd=34&cn=28&tc=2012")


def test_fingerprints_tell_parameter_orders_apart():
    fp = ExactUrlFingerprinter().fingerprint
    assert fp(Request("http://a.test/?a=1&b=2")) != fp(Request("http://a.test/?b=2&a=1"))
    assert fp(Request("http://a.test/?a=1#x")) == fp(Request("http://a.test/?a=1"))


@pytest.mark.parametrize("base, href", [
    ("http://a.test/x/y.aspx?q=1#top", "/tin-tuc/b-12.html"),
    ("http://a.test", "/b"),
    ("https://a.test:8443/x?y=1", "/p?q=1&r=2"),
    ("http://a.test/x/", "c.html"),
    ("http://a.test/x/", "?p=2"),
    ("http://a.test/x/", "//b.test/c"),
    ("http://a.test/x/", "http://b.test/../c"),
    ("http://a.test/x/", "/a/./b/../c"),
    ("http://a.test/x", "https://B.test/Z"),
])
def test_links_are_resolved_as_urljoin_resolves_them(base, href):
    assert join_url(base, href) == urljoin(base, href)


def test_parameters_that_select_content_are_kept():
    # `sid` is a section id and `in` a content switch on many portals: never a session or print.
    assert clean_url("http://a.test/tin.aspx?sid=12&id=5") == "http://a.test/tin.aspx?sid=12&id=5"
    assert clean_url("http://a.test/?in=3&id=5&utm_medium=zalo") == "http://a.test/?in=3&id=5"


def test_a_link_with_a_section_id_is_requested_as_written():
    spider = PortalSpider(url="http://a.test/")
    spider.links = LinkPolicy(spider.portal, Limits(max_pages=10, date_url_limit=5,
                                                    shape_limit=10, max_url_length=500,
                                                    max_parameters=8))
    spider.known = KnownArticles(None, {})  # type: ignore[arg-type]  # nothing stored yet
    request = spider.follow("http://a.test/tin.aspx?sid=12&id=5#top")
    assert request is not None and request.url == "http://a.test/tin.aspx?sid=12&id=5"


def test_a_malformed_link_is_refused_not_raised():
    policy = LinkPolicy(Portal.from_url("http://a.test/"), Limits(10, 5, 10, 500, 8))
    assert policy.admit("http://[domain]/tin-tuc/a.html") == (None, "malformed_url")
    assert policy.admit(join_url("http://a.test/", "//[domain]/a.pdf"), attachment=True) == (
        None, "malformed_url")


# -- properties ---------------------------------------------------------------------------------

NAME = st.one_of(
    st.sampled_from(["id", "sid", "in", "cat", "p", "page", "utm_source", "UTM_Campaign",
                     "fbclid", "gclid", "PHPSESSID", "jsessionid", "print", "zarsrc", "mc_cid"]),
    st.text(alphabet=string.ascii_letters + string.digits + "_-.%", min_size=1, max_size=8))
VALUE = st.text(alphabet=string.ascii_letters + string.digits + "-_.%~+/:", max_size=8)
PARAMETERS = st.lists(st.tuples(NAME, VALUE), max_size=8)
HOST = st.from_regex(r"[a-z][a-z0-9-]{0,8}(\.[a-z]{2,4}){1,2}(:[1-9][0-9]{1,3})?",
                     fullmatch=True)
PATH = st.lists(st.text(alphabet=string.ascii_letters + string.digits + "-_.()~", max_size=8),
                max_size=4).map(lambda segments: "/" + "/".join(segments))


@st.composite
def urls(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]]]:
    parameters = draw(PARAMETERS)
    query = "&".join(f"{name}={value}" for name, value in parameters)
    fragment = draw(st.sampled_from(["", "#top", "#a?b=1"]))
    url = (f"{draw(st.sampled_from(['http', 'https', 'HTTP']))}://{draw(HOST)}{draw(PATH)}"
           f"{'?' + query if query else ''}{fragment}")
    return url, parameters


@given(urls())
def test_cleaning_keeps_every_parameter_but_trackers_as_written_and_in_order(case):
    url, parameters = case
    kept = [f"{name}={value}" for name, value in parameters if not dropped_parameter(name)]
    assert urlsplit(clean_url(url)).query == "&".join(kept)


@given(st.one_of(urls().map(lambda case: case[0]), st.text()))
def test_cleaning_is_idempotent(url):
    once = clean_url(url)
    assert clean_url(once) == once


@given(st.text())
def test_cleaning_never_raises(text):
    assert isinstance(clean_url(text), str)
    assert isinstance(join_url("http://a.test/x/", text), str)
