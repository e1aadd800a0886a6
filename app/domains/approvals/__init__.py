"""One approval engine for every request type: see ``registry`` for how a domain plugs in."""
