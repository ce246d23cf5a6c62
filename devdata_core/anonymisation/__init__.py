"""Anonymisation: keyed fakes, finding personal fields, and auditing an export for leaks.

Modules, lowest first: ``keyed`` (the secret key and the keyed hash every fake derives
from), ``generators`` (values built from that hash, fitted to their column),
``credentials`` (password hashes and login sessions: secrets, never data),
``detection`` (fields that look personal), ``apply`` (anonymisers applied to rows as
they are written) and ``audit`` (originals that survive elsewhere in the export). The
public anonymisers live in :mod:`devdata_core.anonymisers`, where 1.x had them.
"""
