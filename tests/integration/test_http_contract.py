"""The HTTP contract of every answer (Interfaces): a 405 names, in ``Allow``, every method its path takes."""

from __future__ import annotations

import pytest

CASES = [("DELETE", "/api/v1/decisions", {"POST"}), ("PATCH", "/api/v1/people", {"POST"}),
         ("POST", "/health", {"GET"}), ("PUT", "/console/requests", {"GET", "POST"}),
         ("DELETE", "/privacy-centre/request", {"GET", "POST"})]


@pytest.mark.parametrize(("method", "path", "allowed"), CASES)
def test_interfaces_405_names_every_allowed_method(client, method, path, allowed):
    answer = client.request(method, path)
    assert answer.status_code == 405
    assert {m.strip() for m in answer.headers["Allow"].split(",")} == allowed
