"""Cursor pagination: keyset on the primary key, constant cost at any depth."""

from __future__ import annotations

import re

from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination


class DeclarationCursorPagination(CursorPagination):
    ordering = "-id"  # keyset on the primary key: constant cost at any depth
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        # A forged cursor's position must still be an id before it reaches a query.
        if cursor is not None and cursor.position is not None and not re.fullmatch(r"[0-9]{1,18}", cursor.position):
            raise NotFound(self.invalid_cursor_message)
        return cursor


class EventCursorPagination(DeclarationCursorPagination):
    ordering = "id"
