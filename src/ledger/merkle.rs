//! RFC 6962 / RFC 9162 Merkle tree math: hashing, proof generation from stored complete
//! subtree hashes, and proof verification. Pure: no storage, no I/O.
//!
//! Proof generation reads hashes of *complete* subtrees through [`SubtreeHashes`]; a
//! subtree at `level` l with `index` i covers leaves `[i·2^l, (i+1)·2^l)`. The hash of any
//! range that is not a complete subtree is folded from at most 64 complete ones, so a proof
//! costs O(log n) reads, never a pass over the leaves.
//!
//! Verification follows `transparency-dev/merkle/proof` (the source of the test vectors).

use sha2::{Digest, Sha256};

/// A SHA-256 hash (leaf, node or root).
pub type Hash = [u8; 32];

/// Domain-separation prefix of leaf hashes (RFC 6962 §2.1).
pub const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of interior node hashes (RFC 6962 §2.1).
pub const NODE_PREFIX: u8 = 0x01;

/// The root of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// `SHA-256(0x00 ‖ data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 65];
    buf[0] = NODE_PREFIX;
    buf[1..33].copy_from_slice(left);
    buf[33..].copy_from_slice(right);
    Sha256::digest(buf).into()
}

/// The largest power of two strictly smaller than `n` (n ≥ 2): RFC 6962's split point.
pub fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Hash of a complete binary tree over `hashes` (its length must be a power of two).
pub fn fold_complete(hashes: &[Hash]) -> Hash {
    debug_assert!(hashes.len().is_power_of_two());
    // Level by level in a small buffer; at most 128 nodes in our tiles.
    let mut level: Vec<Hash> = hashes.to_vec();
    while level.len() > 1 {
        let next: Vec<Hash> = level
            .chunks_exact(2)
            .map(|p| node_hash(&p[0], &p[1]))
            .collect();
        level = next;
    }
    level[0]
}

/// Root of an arbitrary list of leaf hashes (RFC 6962 MTH), in O(n) with O(log n) memory.
/// Used by verifiers that hold all leaves and by tests.
pub fn root_from_leaves(leaves: &[Hash]) -> Hash {
    let mut stack: Vec<(u32, Hash)> = Vec::new();
    for leaf in leaves {
        push_compact(&mut stack, *leaf);
    }
    fold_compact(&stack).unwrap_or_else(empty_root)
}

/// Adds a leaf hash to a compact range (stack of perfect subtree roots, with their levels).
pub fn push_compact(stack: &mut Vec<(u32, Hash)>, leaf: Hash) {
    let mut cur = (0u32, leaf);
    while let Some(&(lvl, h)) = stack.last() {
        if lvl != cur.0 {
            break;
        }
        stack.pop();
        cur = (lvl + 1, node_hash(&h, &cur.1));
    }
    stack.push(cur);
}

/// Folds a compact range (perfect subtree roots, decreasing sizes) right to left.
pub fn fold_compact(stack: &[(u32, Hash)]) -> Option<Hash> {
    let mut it = stack.iter().rev();
    let mut acc = it.next()?.1;
    for (_, h) in it {
        acc = node_hash(h, &acc);
    }
    Some(acc)
}

/// Read access to hashes of complete subtrees, as stored by the log.
pub trait SubtreeHashes {
    /// Error type of the underlying storage.
    type Error;
    /// Hash of the complete subtree at `level` with `index` (covers leaves
    /// `[index·2^level, (index+1)·2^level)`); the caller only asks for subtrees that are
    /// complete in the current tree.
    fn subtree(&self, level: u32, index: u64) -> Result<Hash, Self::Error>;
}

/// MTH of leaves `[lo, hi)`, where `lo` is a multiple of the largest power of two ≤ `hi-lo`
/// (true for every range RFC 6962 recursion visits), from at most 64 complete subtrees.
pub fn range_hash<R: SubtreeHashes>(r: &R, lo: u64, hi: u64) -> Result<Hash, R::Error> {
    debug_assert!(hi > lo);
    let mut parts: Vec<Hash> = Vec::new();
    let mut start = lo;
    let mut rem = hi - lo;
    while rem > 0 {
        let level = 63 - rem.leading_zeros();
        parts.push(r.subtree(level, start >> level)?);
        start += 1u64 << level;
        rem -= 1u64 << level;
    }
    let mut acc = parts.pop().expect("non-empty range");
    while let Some(h) = parts.pop() {
        acc = node_hash(&h, &acc);
    }
    Ok(acc)
}

/// Root of the tree of `size` leaves.
pub fn root_at<R: SubtreeHashes>(r: &R, size: u64) -> Result<Hash, R::Error> {
    if size == 0 {
        return Ok(empty_root());
    }
    range_hash(r, 0, size)
}

/// RFC 6962 §2.1.1 audit path for leaf `index` in the tree of `size` leaves.
pub fn inclusion_proof<R: SubtreeHashes>(
    r: &R,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError<R::Error>> {
    if index >= size {
        return Err(ProofError::OutOfRange { index, size });
    }
    let mut out = Vec::new();
    let (mut lo, mut hi) = (0u64, size);
    // Walk down from the root, collecting siblings; reverse at the end (leaf first).
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            out.push(range_hash(r, lo + k, hi).map_err(ProofError::Store)?);
            hi = lo + k;
        } else {
            out.push(range_hash(r, lo, lo + k).map_err(ProofError::Store)?);
            lo += k;
        }
    }
    out.reverse();
    Ok(out)
}

/// RFC 6962 §2.1.2 consistency proof from `size1` to `size2` (0 < size1 ≤ size2).
pub fn consistency_proof<R: SubtreeHashes>(
    r: &R,
    size1: u64,
    size2: u64,
) -> Result<Vec<Hash>, ProofError<R::Error>> {
    if size1 == 0 || size1 > size2 {
        return Err(ProofError::BadSizes { size1, size2 });
    }
    let mut out = Vec::new();
    let (mut m, mut lo, mut hi, mut whole) = (size1, 0u64, size2, true);
    loop {
        let n = hi - lo;
        if m == n {
            if !whole {
                out.push(range_hash(r, lo, hi).map_err(ProofError::Store)?);
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            out.push(range_hash(r, lo + k, hi).map_err(ProofError::Store)?);
            hi = lo + k;
        } else {
            out.push(range_hash(r, lo, lo + k).map_err(ProofError::Store)?);
            m -= k;
            lo += k;
            whole = false;
        }
    }
    out.reverse();
    Ok(out)
}

/// Why a proof could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum ProofError<E> {
    /// Leaf index not below the tree size.
    #[error("leaf index {index} is not below tree size {size}")]
    OutOfRange {
        /// Requested index.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// Sizes not 0 < size1 ≤ size2.
    #[error("no consistency proof from size {size1} to {size2}")]
    BadSizes {
        /// Old size.
        size1: u64,
        /// New size.
        size2: u64,
    },
    /// The store failed.
    #[error("storage: {0}")]
    Store(E),
}

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Leaf index not below the tree size.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexBeyondSize {
        /// Index.
        index: u64,
        /// Size.
        size: u64,
    },
    /// A hash is not 32 bytes.
    #[error("a hash is {0} bytes, not 32")]
    HashLength(usize),
    /// The proof has the wrong number of hashes for these sizes.
    #[error("proof has {got} hashes, expected {want}")]
    ProofLength {
        /// Hashes given.
        got: usize,
        /// Hashes required.
        want: usize,
    },
    /// Sizes that admit no consistency proof.
    #[error("no consistency proof can exist from size {size1} to {size2}")]
    BadSizes {
        /// Old size.
        size1: u64,
        /// New size.
        size2: u64,
    },
    /// The computed root differs from the expected one.
    #[error("computed root does not match")]
    RootMismatch,
}

fn as_hash(b: &[u8]) -> Result<Hash, VerifyError> {
    b.try_into().map_err(|_| VerifyError::HashLength(b.len()))
}

fn decomp_incl_proof(index: u64, size: u64) -> (usize, usize) {
    let inner = (64 - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = (index >> inner).count_ones() as usize;
    (inner, border)
}

fn chain_inner(mut seed: Hash, proof: &[Hash], index: u64) -> Hash {
    for (i, h) in proof.iter().enumerate() {
        seed = if (index >> i) & 1 == 0 {
            node_hash(&seed, h)
        } else {
            node_hash(h, &seed)
        };
    }
    seed
}

fn chain_inner_right(mut seed: Hash, proof: &[Hash], index: u64) -> Hash {
    for (i, h) in proof.iter().enumerate() {
        if (index >> i) & 1 == 1 {
            seed = node_hash(h, &seed);
        }
    }
    seed
}

fn chain_border_right(mut seed: Hash, proof: &[Hash]) -> Hash {
    for h in proof {
        seed = node_hash(h, &seed);
    }
    seed
}

fn check_match(calc: &Hash, root: &[u8]) -> Result<(), VerifyError> {
    if calc.as_slice() == root {
        Ok(())
    } else {
        Err(VerifyError::RootMismatch)
    }
}

/// Root implied by an inclusion proof (untyped input, as received from outside).
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf: &[u8],
    proof: &[&[u8]],
) -> Result<Hash, VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexBeyondSize { index, size });
    }
    let leaf = as_hash(leaf)?;
    let (inner, border) = decomp_incl_proof(index, size);
    if proof.len() != inner + border {
        return Err(VerifyError::ProofLength {
            got: proof.len(),
            want: inner + border,
        });
    }
    let proof: Vec<Hash> = proof.iter().map(|p| as_hash(p)).collect::<Result<_, _>>()?;
    let res = chain_inner(leaf, &proof[..inner], index);
    Ok(chain_border_right(res, &proof[inner..]))
}

/// Verifies an RFC 6962 inclusion proof given as raw byte strings (lengths checked).
pub fn verify_inclusion_raw(
    index: u64,
    size: u64,
    leaf: &[u8],
    proof: &[&[u8]],
    root: &[u8],
) -> Result<(), VerifyError> {
    let calc = root_from_inclusion_proof(index, size, leaf, proof)?;
    check_match(&calc, root)
}

/// Verifies an RFC 6962 inclusion proof.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    let p: Vec<&[u8]> = proof.iter().map(|h| h.as_slice()).collect();
    verify_inclusion_raw(index, size, leaf, &p, root)
}

/// Verifies an RFC 6962 consistency proof given as raw byte strings. Size 0 is refused
/// (any tree extends the empty one; a "proof" from it proves nothing), as in the vectors.
pub fn verify_consistency_raw(
    size1: u64,
    size2: u64,
    proof: &[&[u8]],
    root1: &[u8],
    root2: &[u8],
) -> Result<(), VerifyError> {
    if size2 < size1 || size1 == 0 {
        return Err(VerifyError::BadSizes { size1, size2 });
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(VerifyError::ProofLength {
                got: proof.len(),
                want: 0,
            });
        }
        return if root1 == root2 {
            Ok(())
        } else {
            Err(VerifyError::RootMismatch)
        };
    }
    if proof.is_empty() {
        return Err(VerifyError::ProofLength { got: 0, want: 1 });
    }
    let proof: Vec<Hash> = proof.iter().map(|p| as_hash(p)).collect::<Result<_, _>>()?;
    let (inner, border) = decomp_incl_proof(size1 - 1, size2);
    let shift = size1.trailing_zeros() as usize;
    let inner = inner - shift;
    let (seed, start) = if size1 == 1u64 << shift {
        (as_hash(root1)?, 0)
    } else {
        (proof[0], 1)
    };
    if proof.len() != start + inner + border {
        return Err(VerifyError::ProofLength {
            got: proof.len(),
            want: start + inner + border,
        });
    }
    let proof = &proof[start..];
    let mask = (size1 - 1) >> shift;
    let h1 = chain_inner_right(seed, &proof[..inner], mask);
    let h1 = chain_border_right(h1, &proof[inner..]);
    check_match(&h1, root1)?;
    let h2 = chain_inner(seed, &proof[..inner], mask);
    let h2 = chain_border_right(h2, &proof[inner..]);
    check_match(&h2, root2)
}

/// Verifies an RFC 6962 consistency proof between two tree heads.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), VerifyError> {
    let p: Vec<&[u8]> = proof.iter().map(|h| h.as_slice()).collect();
    verify_consistency_raw(size1, size2, &p, root1, root2)
}

/// Complete-subtree hashes computed naively from all leaves (a test oracle).
#[cfg(test)]
pub(crate) struct Naive(pub Vec<Hash>);

#[cfg(test)]
impl SubtreeHashes for Naive {
    type Error = std::convert::Infallible;
    fn subtree(&self, level: u32, index: u64) -> Result<Hash, Self::Error> {
        let w = 1usize << level;
        let lo = index as usize * w;
        Ok(fold_complete(&self.0[lo..lo + w]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn generated_proofs_verify_for_every_index_and_size_up_to_40() {
        for n in 1..=40u64 {
            let t = Naive(leaves(n));
            let root = root_at(&t, n).unwrap();
            assert_eq!(root, root_from_leaves(&t.0));
            for i in 0..n {
                let p = inclusion_proof(&t, i, n).unwrap();
                verify_inclusion(i, n, &t.0[i as usize], &p, &root).unwrap();
            }
            for m in 1..=n {
                let r1 = root_at(&t, m).unwrap();
                let p = consistency_proof(&t, m, n).unwrap();
                verify_consistency(m, n, &p, &r1, &root).unwrap();
                if m < n {
                    let mut bad = r1;
                    bad[0] ^= 1;
                    assert!(verify_consistency(m, n, &p, &bad, &root).is_err());
                }
            }
        }
    }

    #[test]
    fn rfc6962_reference_roots_of_the_eight_leaf_tree() {
        // The leaves of transparency-dev/merkle's RFC 6962 test tree.
        let data: [&[u8]; 8] = [
            &[],
            &[0x00],
            &[0x10],
            &[0x20, 0x21],
            &[0x30, 0x31],
            &[0x40, 0x41, 0x42, 0x43],
            &[0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            &[
                0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
                0x6e, 0x6f,
            ],
        ];
        let l: Vec<Hash> = data.iter().map(|d| leaf_hash(d)).collect();
        assert_eq!(
            hex::encode(root_from_leaves(&l)),
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
        );
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
