"""The surveys domain's background work."""
