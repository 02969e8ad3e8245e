"""URL canonicalisation: one name per page, whatever link led to it."""

from urllib.parse import urljoin

import pytest
from scrapy import Request

from crawler.urls import ExactUrlFingerprinter, ParameterOrder, clean_url, join_url


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
