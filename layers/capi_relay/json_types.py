"""The name for a JSON object as the domain passes it around: an event, a retry message, a response body.

Its values are `Any` on purpose: an event is whatever JSON a stranger posted, and each field's type is
checked where it is read (parse, validate, normalize), not promised by a declaration. The alias says
"a JSON object", which a bare `dict` did not, and keeps that choice in one place.
"""

from __future__ import annotations

from typing import Any, TypeAlias

JsonObject: TypeAlias = dict[str, Any]
