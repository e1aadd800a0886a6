"""The surveys domain's tables."""
