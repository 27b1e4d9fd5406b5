"""The sandbox's id order against a sorted list: any mix of adds and deletes, any position, both ways."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.sandbox.thulium.id_order import IdOrder

# (add?, id): small ids so deletes hit, a block of 2 so every few operations split or empty a block
OPERATIONS = st.lists(st.tuples(st.booleans(), st.integers(min_value=0, max_value=40)), max_size=120)


@settings(max_examples=300, deadline=None)
@given(OPERATIONS, st.integers(min_value=0, max_value=45), st.integers(min_value=1, max_value=7))
def test_matches_a_sorted_list(operations: list[tuple[bool, int]], offset: int, limit: int) -> None:
    order = IdOrder(block=2)
    model: set[int] = set()
    for add, record_id in operations:
        if add:
            order.add(record_id)
            model.add(record_id)
        else:
            order.discard(record_id)
            model.discard(record_id)
    ids = sorted(model)
    assert len(order) == len(ids)
    assert list(order.ascending(offset)) == ids[offset:]
    assert list(order.descending(offset)) == ids[::-1][offset:]
    assert order.page(offset, limit) == ids[offset : offset + limit]
    assert order.page(offset, limit, descending=True) == ids[::-1][offset : offset + limit]
    assert all(record_id in order for record_id in ids)
    assert not any(record_id in order for record_id in set(range(41)) - model)


def test_ids_handed_out_in_order_append_and_page_past_the_end() -> None:
    order = IdOrder(block=3)
    for record_id in range(100, 120):
        order.add(record_id)
    order.add(105)  # already there: no change
    assert len(order) == 20
    assert order.page(18, 5) == [118, 119]
    assert order.page(20, 5) == []
    assert order.page(500, 5) == []
    assert order.page(0, 2, descending=True) == [119, 118]
    order.discard(999)  # not there: no change
    for record_id in range(100, 120):
        order.discard(record_id)
    assert len(order) == 0
    assert order.page(0, 5) == []
    assert "100" not in order
