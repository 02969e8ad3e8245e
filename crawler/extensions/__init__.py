"""Scrapy extensions, one concern per module; enabled and ordered in ``crawler.settings``."""

from __future__ import annotations

from typing import TypeVar

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

Extension = TypeVar("Extension")


def required_extension(crawler: Crawler, cls: type[Extension]) -> Extension:
    """The crawl's ``cls`` extension, for a component that cannot work without it: a
    component whose extension is off (a setting, a test) is off too (``NotConfigured``)."""
    extension = crawler.get_extension(cls)
    if extension is None:
        raise NotConfigured(f"the {cls.__name__} extension is off")
    return extension
