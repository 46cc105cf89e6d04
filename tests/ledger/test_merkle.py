"""The Merkle tree against a naive reference written straight from RFC 9162's definitions."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxtrace.ledger.merkle import (
    EMPTY_ROOT,
    Frontier,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    needed_nodes,
    root,
    verify_consistency,
    verify_inclusion,
)

# --- the reference: RFC 9162 §2.1.1, §2.1.3.1, §2.1.4.1, word for word --------------------


def ref_mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: list[bytes]) -> list[bytes]:
    return ref_subproof(m, d, True)


# --- a tree built by appending, as a store would -----------------------------------------


def build(leaves: list[bytes]) -> tuple[dict[tuple[int, int], bytes], Frontier]:
    nodes: dict[tuple[int, int], bytes] = {}
    frontier = Frontier()
    for data in leaves:
        for level, index, value in frontier.append(leaf_hash(data)):
            nodes[(level, index)] = value
    return nodes, frontier


def data(n: int) -> list[bytes]:
    return [f"event {i}".encode() for i in range(n)]


SIZES = range(1, 71)
LEAVES = data(70)
NODES, _ = build(LEAVES)


def source(level: int, index: int) -> bytes:
    return NODES[(level, index)]


def test_empty_tree() -> None:
    assert Frontier().root() == EMPTY_ROOT == ref_mth([])


@pytest.mark.parametrize("n", SIZES)
def test_root_and_every_inclusion_proof(n: int) -> None:
    d = LEAVES[:n]
    expected = ref_mth(d)
    assert root(n, source) == expected
    _, frontier = build(d)
    assert frontier.root() == expected
    assert [NODES[key] for key in Frontier.edge_nodes(n)] == frontier.edge
    for m in range(n):
        proof = inclusion_proof(m, n, source)
        assert proof == ref_path(m, d)
        assert verify_inclusion(m, n, leaf_hash(d[m]), proof, expected)


@pytest.mark.parametrize("n", SIZES)
def test_every_consistency_proof(n: int) -> None:
    d = LEAVES[:n]
    new_root = ref_mth(d)
    for m in range(1, n + 1):
        proof = consistency_proof(m, n, source)
        assert proof == ref_proof(m, d), (m, n)
        assert verify_consistency(m, n, ref_mth(d[:m]), new_root, proof), (m, n)


def test_needed_nodes_are_exactly_those_read() -> None:
    read: list[tuple[int, int]] = []

    def spy(level: int, index: int) -> bytes:
        read.append((level, index))
        return source(level, index)

    planned = needed_nodes(lambda node: inclusion_proof(37, 70, node))
    inclusion_proof(37, 70, spy)
    assert set(planned) == set(read) and len(planned) <= 2 * 7


def test_out_of_range_proofs_are_refused() -> None:
    with pytest.raises(ValueError):
        inclusion_proof(5, 5, source)
    with pytest.raises(ValueError):
        consistency_proof(0, 5, source)
    with pytest.raises(ValueError):
        consistency_proof(6, 5, source)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_tampered_proofs_and_claims_fail(draw: st.DataObject) -> None:
    n = draw.draw(st.integers(2, 70))
    m = draw.draw(st.integers(0, n - 1))
    good_root = ref_mth(LEAVES[:n])
    proof = inclusion_proof(m, n, source)
    leaf = leaf_hash(LEAVES[m])
    other = draw.draw(st.integers(0, n - 1).filter(lambda x: x != m))
    assert not verify_inclusion(other, n, leaf, proof, good_root)
    assert not verify_inclusion(m, n, leaf_hash(b"forged"), proof, good_root)
    if proof:
        i = draw.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[i] = bytes(32)
        assert not verify_inclusion(m, n, leaf, bad, good_root)
        assert not verify_inclusion(m, n, leaf, proof[:-1], good_root)
    old = draw.draw(st.integers(1, n - 1))
    cproof = consistency_proof(old, n, source)
    old_root = ref_mth(LEAVES[:old])
    assert verify_consistency(old, n, old_root, good_root, cproof)
    assert not verify_consistency(old, n, leaf_hash(b"fork"), good_root, cproof)
    assert not verify_consistency(old, n, old_root, leaf_hash(b"fork"), cproof)
    forked = ref_mth([*LEAVES[: old - 1], b"rewritten", *LEAVES[old:n]])
    assert not verify_consistency(old, n, old_root, forked, cproof)
