"""Scrapy extensions, one concern per module; enabled and ordered in ``crawler.settings``."""
