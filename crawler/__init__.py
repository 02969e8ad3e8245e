"""The Scrapy project: the portal spider, its middlewares and pipelines, and the portal registry."""
