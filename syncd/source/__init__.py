"""Reading the tenant's source database: changed rows by keyset, current rows by key."""

from syncd.engine.position_codec import decode_position, encode_position
from syncd.source.reader import DEFAULT_PAGE_SIZE, SqlSource, UnknownStream

__all__ = ["DEFAULT_PAGE_SIZE", "SqlSource", "UnknownStream", "decode_position", "encode_position"]
