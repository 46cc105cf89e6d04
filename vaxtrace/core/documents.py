"""Reading the one document an exchange envelope's payload carries, with a refusal that names
the field at fault."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason

Doc = TypeVar("Doc", bound=BaseModel)


def read_document(payload: Any, key: str, model: type[Doc]) -> Doc:
    """``payload[key]`` read as ``model``; refused as ``unknown_document`` when absent and
    ``malformed_document`` (naming ``payload.key.field``) when it does not validate."""
    if not isinstance(payload, dict) or key not in payload:
        raise DomainError(Reason.UNKNOWN_DOCUMENT, f"no {key} in the payload", field="payload")
    try:
        return model.model_validate(payload[key])
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise DomainError(
            Reason.MALFORMED_DOCUMENT,
            f"{key}: {where}: {error['msg']}",
            field=f"payload.{key}.{where}".rstrip("."),
        ) from exc
