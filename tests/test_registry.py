"""Portals as data: the registry, and ad-hoc portals named by a base URL."""

from __future__ import annotations

import pytest

from crawler.registry import Portal, RegistryError, named_portal


@pytest.mark.parametrize("url, portal_id", [
    ("https://Example.Gov.test/", "example.gov.test"),
    ("http://127.0.0.1:8080/tin-tuc/", "127.0.0.1:8080"),  # two loopback portals stay apart
])
def test_an_ad_hoc_portal_is_named_by_its_host_and_port(url, portal_id):
    portal = Portal.from_url(url, province="Hà Nội")
    assert (portal.id, portal.base_url, portal.province) == (portal_id, url, "Hà Nội")


def test_credentials_never_name_a_portal():
    credentials = "user:secret"
    url = f"http://{credentials}@a.test/"
    portal = Portal.from_url(url)
    assert (portal.id, portal.base_url) == ("a.test", url)


@pytest.mark.parametrize("url", ["ftp://a.test/", "file:///etc/passwd", "http://a.test:99999/",
                                 "tin-tuc/"])
def test_an_ad_hoc_portal_must_be_an_http_url(url):
    with pytest.raises(RegistryError):
        Portal.from_url(url)


def test_a_crawl_names_a_registry_portal_or_a_url():
    assert named_portal("aluoi-tth").id == "aluoi-tth"
    assert named_portal(url="http://a.test/", district="A Lưới").district == "A Lưới"
    with pytest.raises(RegistryError, match="unknown portal id 'nope'"):
        named_portal("nope")
    with pytest.raises(RegistryError, match="give a portal"):
        named_portal()
