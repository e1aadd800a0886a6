"""The permissions of the certificates domain, registered once for every module of it."""

from __future__ import annotations

from app.domains.access.authz import register_permissions

CERT_READ, CERT_WRITE = "certificates.read", "certificates.write"
GUARANTEE_READ, GUARANTEE_WRITE = "guarantees.read", "guarantees.write"
COLLECTION_READ, COLLECTION_WRITE = "collections.read", "collections.write"

register_permissions({
    CERT_READ: "See certificate agencies, agreements and certificate cases, and their statistics.",
    CERT_WRITE: "Register agencies and agreements, open certificate cases and move them on.",
    GUARANTEE_READ: "See mortgage guarantees, the releasable list and the contingent liability.",
    GUARANTEE_WRITE: "Record guarantees and mortgage registrations, request and record releases.",
    COLLECTION_READ: "See overdue collection cases and their reminders.",
    COLLECTION_WRITE: "Import the overdue feed, log reminders, refer cases and record litigation outcomes.",
})
