"""Scrapy commands of the project (``COMMANDS_MODULE``), one per module as Scrapy keeps its own."""
