"""Interactions with customers: visits (plan → visit → report), receptions and hospitality with
their application through the approval engine, gifts, inbound and outbound calls."""
