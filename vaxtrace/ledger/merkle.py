"""The Merkle tree of RFC 9162 §2.1: leaf and node hashes, root, inclusion and consistency proofs.

Hashes of *perfect* subtrees (2^level leaves starting at a multiple of 2^level) never change
once complete, so a log stores them and every other hash is computed from O(log n) of them.
Proof functions take a :class:`NodeSource` that looks those hashes up; :func:`needed_nodes`
lists which ones a proof will read, so a store can fetch them all in one query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class NodeSource(Protocol):
    def __call__(self, level: int, index: int) -> bytes:
        """Hash of the perfect subtree over leaves [index * 2^level, (index + 1) * 2^level)."""
        ...


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162: MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def subtree_hash(start: int, end: int, node: NodeSource) -> bytes:
    """MTH(D[start:end]) for a range the RFC's recursion produces (aligned left parts)."""
    n = end - start
    if n <= 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0 and start % n == 0:
        return node(n.bit_length() - 1, start // n)
    k = _split(n)
    return node_hash(subtree_hash(start, start + k, node), subtree_hash(start + k, end, node))


def root(size: int, node: NodeSource) -> bytes:
    return subtree_hash(0, size, node)


def inclusion_proof(index: int, size: int, node: NodeSource) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1, leaf to root order."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index - start < k:
            path.append(subtree_hash(start + k, end, node))
            end = start + k
        else:
            path.append(subtree_hash(start, start + k, node))
            start += k
    path.reverse()
    return path


def consistency_proof(old_size: int, new_size: int, node: NodeSource) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1."""
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to {new_size}")
    proof: list[bytes] = []
    start, end, m, complete = 0, new_size, old_size, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            proof.append(subtree_hash(start + k, end, node))
            end = start + k
        else:
            proof.append(subtree_hash(start, start + k, node))
            start, m, complete = start + k, m - k, False
    if not complete:
        proof.append(subtree_hash(start, end, node))
    proof.reverse()
    return proof


def needed_nodes(compute: Callable[[NodeSource], object]) -> list[tuple[int, int]]:
    """The stored nodes ``compute`` reads, found by a dry run (the algorithms never branch on
    hash values), so a store can fetch them in one query."""
    seen: dict[tuple[int, int], None] = {}

    def record(level: int, index: int) -> bytes:
        seen[(level, index)] = None
        return bytes(HASH_SIZE)

    compute(record)
    return list(seen)


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2), needing nothing but the proof ----------


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    if not 0 <= index < size:
        return False
    sides = _left_siblings(index, size - 1, proof)
    if sides is None:
        return False
    r = leaf
    for p, left in zip(proof, sides, strict=True):
        r = node_hash(p, r) if left else node_hash(r, p)
    return r == expected_root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    if old_size == new_size:
        return not proof and old_root == new_root
    if not 0 < old_size < new_size or not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # an exact power of two: the old root starts the path
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    sides = _left_siblings(fn, sn, path[1:])
    if sides is None:
        return False
    fr = sr = path[0]
    for c, left in zip(path[1:], sides, strict=True):
        if left:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
        else:
            sr = node_hash(sr, c)
    return fr == old_root and sr == new_root


def _left_siblings(fn: int, sn: int, path: Sequence[bytes]) -> list[bool] | None:
    """The walk both verifications make up a proof path (``fn``, ``sn``: RFC 9162's node
    and last-node indices): for each element, whether it is a left sibling, hashed before
    the running value. None when the path is too long or too short for the tree."""
    sides: list[bool] = []
    for _ in path:
        if sn == 0:
            return None
        left = bool(fn & 1) or fn == sn
        sides.append(left)
        if left:
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        fn >>= 1
        sn >>= 1
    return sides if sn == 0 else None


# --- appending ---------------------------------------------------------------------------


class Frontier:
    """The right edge of a tree: one perfect subtree per set bit of its size.

    Appending a leaf yields the perfect nodes it completes (the leaf itself at level 0, then
    one parent per carry), which is all a store needs to write.
    """

    def __init__(self, size: int = 0, edge: Iterable[bytes] = ()) -> None:
        self.size = size
        self.edge = list(edge)  # largest subtree first
        if len(self.edge) != size.bit_count():
            raise ValueError("the edge needs one hash per set bit of the size")

    @staticmethod
    def edge_nodes(size: int) -> list[tuple[int, int]]:
        """(level, index) of the edge's perfect subtrees, largest first."""
        nodes, start = [], 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                nodes.append((level, start >> level))
                start += 1 << level
        return nodes

    def append(self, leaf: bytes) -> Iterator[tuple[int, int, bytes]]:
        index = self.size
        current, level = leaf, 0
        yield 0, index, current
        while index >> level & 1:
            current = node_hash(self.edge.pop(), current)
            level += 1
            yield level, index >> level, current
        self.edge.append(current)
        self.size += 1

    def root(self) -> bytes:
        if not self.edge:
            return EMPTY_ROOT
        acc = self.edge[-1]
        for subtree in reversed(self.edge[:-1]):
            acc = node_hash(subtree, acc)
        return acc
