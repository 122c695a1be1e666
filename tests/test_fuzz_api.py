"""Fuzz the REST API from its own OpenAPI schema (schemathesis, in-process through ASGI): never a 500.

Valid and invalid requests are generated for every operation and input form (JSON, multipart,
raw image); each answer must be a documented status with a body matching the documented schema.
Bounded (deterministic, capped examples) so it runs in about a minute on 2 cores.
"""

from __future__ import annotations

import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from digitreader.server import create_app

MAX_EXAMPLES = 250  # per operation

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    deterministic=True,
    database="none",
)


@schema.parametrize()
def test_api_never_answers_500(case) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    )
