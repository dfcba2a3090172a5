import codecs
import json

from django.conf import settings
from rest_framework import exceptions, parsers, status

from clearance.errors import FieldError, RuleViolations


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def _refuse_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise exceptions.ParseError(f"The key {key!r} appears twice in one JSON object; send it once.")
        seen[key] = value
    return seen


def _unstorable(text: str) -> bool:
    """A NUL (which PostgreSQL text cannot hold) or a lone UTF-16 surrogate (which is not a character)."""
    return "\x00" in text or any("\ud800" <= char <= "\udfff" for char in text)


def _bad_characters(value, path: str = "") -> list[FieldError]:
    """Every string, key or value, that holds a character no field accepts, named by its path as errors
    name fields (``driver.full_name``, ``goods[0].description``)."""
    if isinstance(value, str):
        return [FieldError(path or None, "invalid_character", _MESSAGE)] if _unstorable(value) else []
    if isinstance(value, dict):
        errors = []
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if _unstorable(key):
                errors.append(FieldError(path or None, "invalid_character", _MESSAGE))
                continue
            errors += _bad_characters(item, where)
        return errors
    if isinstance(value, list):
        return [error for index, item in enumerate(value) for error in _bad_characters(item, f"{path}[{index}]")]
    return []


_MESSAGE = "Text may not contain NUL characters or unpaired UTF-16 surrogates (\\u0000, \\ud800–\\udfff)."


class BoundedJSONParser(parsers.JSONParser):
    """JSON with a size bound (DRF reads the stream directly, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE),
    strict: a key twice in one object is a parse error, and text the database cannot hold is a 400
    naming its field, never a 500."""

    limit_setting = "SMARTGATE_API_MAX_BODY_BYTES"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = getattr(settings, self.limit_setting)
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(body, encoding)
            data = json.loads(text, object_pairs_hook=_refuse_duplicate_keys, parse_constant=_refuse_constant)
        except RecursionError:
            raise exceptions.ParseError("The JSON body is nested too deeply.") from None
        except (UnicodeDecodeError, ValueError) as error:
            raise exceptions.ParseError(f"JSON parse error - {error}") from None
        errors = _bad_characters(data)
        if errors:
            raise RuleViolations(errors)
        return data


class BatchJSONParser(BoundedJSONParser):
    """The same JSON, with the larger bound of a batch of declarations."""

    limit_setting = "SMARTGATE_BATCH_MAX_BODY_BYTES"


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")
