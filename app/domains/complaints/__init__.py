"""Complaints and disputes: the registers, the resolution loop, corrective actions, SLA clocks in business
time, statistics."""
