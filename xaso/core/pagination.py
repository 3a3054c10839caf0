"""The API's limit/offset pagination, with an offset the database can take.

ninja's LimitOffsetPagination accepts any offset, and one past a 64-bit integer is a 500 from
PostgreSQL ("bigint out of range") and from SQLite; here it is a 422 like any other bad query
parameter. Use it as `@paginate(Pagination)`.
"""

from ninja import Field, Schema
from ninja.conf import settings
from ninja.pagination import LimitOffsetPagination

MAX_OFFSET = 1_000_000_000


class Pagination(LimitOffsetPagination):
    class Input(Schema):
        limit: int = Field(settings.PAGINATION_PER_PAGE, ge=1, le=settings.PAGINATION_MAX_LIMIT)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)
