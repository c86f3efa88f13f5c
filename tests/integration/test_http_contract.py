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


def test_interfaces_openapi_declares_the_problem_answers_of_every_operation(client):
    spec = client.get("/openapi.json").json()
    assert "Problem" in spec["components"]["schemas"] and "HTTPValidationError" not in spec["components"]["schemas"]
    operations = [op for item in spec["paths"].values() for op in item.values()]
    assert len(operations) > 50
    for operation in operations:
        for status in ("401", "403", "404", "409", "413", "422", "429", "500"):
            content = operation["responses"][status]["content"]
            # a text answer (a page, the Markdown statement) also declares the HTML error page it gives
            text = any(kind.startswith("text/") for kind in operation["responses"].get("200", {}).get("content", {}))
            assert list(content)[0] == "application/problem+json", (operation["operationId"], status)
            assert all(kind.startswith("text/") for kind in list(content)[1:]) and (text or len(content) == 1)
            assert content["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert "HTTPValidationError" not in str(spec)
