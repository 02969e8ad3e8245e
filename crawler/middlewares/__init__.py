"""Downloader middlewares, one concern per module; their order is set in ``crawler.settings``."""
