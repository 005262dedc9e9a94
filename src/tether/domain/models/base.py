"""The JSON object type the records share."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]
