//! Attachments' Merkle tree: roots against an independent reading of RFC 9162, every proof
//! of small trees, golden roots, and what a wrong chunk, index, length or proof gets.

use natter_core::blob::{
    chunk_count, chunk_len, leaf_hash, verify, verify_hashed, BlobError, Outboard, OutboardBuilder,
    Proof, Root, CHUNK_LEN, MAX_FILE_LEN, MAX_PROOF_HASHES,
};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

/// A file of `len` bytes with a recognisable pattern.
fn file(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn node(l: &[u8; 32], r: &[u8; 32]) -> [u8; 32] {
    Sha256::new()
        .chain_update([1u8])
        .chain_update(l)
        .chain_update(r)
        .finalize()
        .into()
}

/// RFC 9162 §2.1.1, written from the text: MTH of a list of leaf hashes.
fn reference_mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    if leaves.len() == 1 {
        return leaves[0];
    }
    let mut k = 1;
    while k * 2 < leaves.len() {
        k *= 2;
    }
    node(&reference_mth(&leaves[..k]), &reference_mth(&leaves[k..]))
}

fn reference_root(bytes: &[u8]) -> Root {
    let leaves: Vec<[u8; 32]> = if bytes.is_empty() {
        vec![leaf_hash(&[])]
    } else {
        bytes.chunks(CHUNK_LEN).map(leaf_hash).collect()
    };
    Root(
        Sha256::new()
            .chain_update([2u8])
            .chain_update((bytes.len() as u64).to_be_bytes())
            .chain_update(reference_mth(&leaves))
            .finalize()
            .into(),
    )
}

#[test]
fn roots_match_the_rfc_tree_and_every_proof_of_small_trees_verifies() {
    for chunks in 1..=17usize {
        // Full chunks, and a short last one.
        for len in [chunks * CHUNK_LEN, chunks * CHUNK_LEN - 1000] {
            let bytes = file(len);
            let ob = Outboard::of(&bytes).expect("an outboard");
            assert_eq!(
                ob.root(),
                reference_root(&bytes),
                "{chunks} chunks, {len} bytes"
            );
            assert_eq!(chunk_count(len as u64), chunks as u64);
            for (i, chunk) in bytes.chunks(CHUNK_LEN).enumerate() {
                let proof = ob.proof(i as u64).expect("a proof");
                let again = Proof::from_bytes(&proof.to_bytes()).expect("its bytes read back");
                assert_eq!(
                    verify(&ob.root(), len as u64, i as u64, chunk, &again),
                    Ok(())
                );
                // The same chunk at any other place fails.
                for j in (0..chunks as u64).filter(|j| *j != i as u64) {
                    assert!(verify(&ob.root(), len as u64, j, chunk, &proof).is_err());
                }
            }
        }
    }
}

#[test]
fn golden_roots() {
    // The first, second and fourth were also computed with Python's hashlib from the
    // format in the module doc.
    let cases: [(Vec<u8>, &str); 5] = [
        (
            Vec::new(),
            "c0e50f0d90d6e2fea1e6f53d4f758ed5fc9035a399a8eb215c29c6ff3ea05425",
        ),
        (
            b"abc".to_vec(),
            "5c170547d40533fb44a0c4874b2977285d519c9e8129f7733c364d97cf2cabd6",
        ),
        (
            vec![0x61; CHUNK_LEN],
            "47b9458aeddb6e4912d73a29c3484c575a481ec9db19eb08e3e82adedb68bce6",
        ),
        (
            file(CHUNK_LEN + 1),
            "bf37b4f502468e26a6b7ace16857447d46fa5f6f9d426c5c6afbd3f820166209",
        ),
        (
            file(3 * CHUNK_LEN - 7),
            "f5b27d931db943dbaaf20cf424fca560555d10f6b9b508ebb43382d1faaeaa51",
        ),
    ];
    let got: Vec<String> = cases
        .iter()
        .map(|(b, _)| Outboard::of(b).expect("an outboard").root().to_string())
        .collect();
    let want: Vec<&str> = cases.iter().map(|(_, r)| *r).collect();
    assert_eq!(got, want);
}

#[test]
fn an_empty_file_is_one_empty_chunk() {
    let ob = Outboard::of(&[]).expect("an outboard");
    assert!(ob.is_empty());
    assert_eq!(chunk_len(0, 0), Ok(0));
    let proof = ob.proof(0).expect("a proof");
    assert_eq!(proof.to_bytes(), Vec::<u8>::new());
    assert_eq!(verify(&ob.root(), 0, 0, &[], &proof), Ok(()));
    assert!(verify(&ob.root(), 0, 0, &[0], &proof).is_err());
}

#[test]
fn a_hostile_chunk_length_index_or_proof_is_refused() {
    let bytes = file(5 * CHUNK_LEN + 10);
    let len = bytes.len() as u64;
    let ob = Outboard::of(&bytes).expect("an outboard");
    let root = ob.root();
    let chunk = &bytes[2 * CHUNK_LEN..3 * CHUNK_LEN];
    let proof = ob.proof(2).expect("a proof");
    assert_eq!(verify(&root, len, 2, chunk, &proof), Ok(()));
    // One flipped byte.
    let mut bad = chunk.to_vec();
    bad[100] ^= 1;
    assert_eq!(
        verify(&root, len, 2, &bad, &proof),
        Err(BlobError::Mismatch)
    );
    // Cut short, or past the end.
    assert_eq!(
        verify(&root, len, 2, &chunk[..10], &proof),
        Err(BlobError::WrongLength {
            got: 10,
            want: CHUNK_LEN
        })
    );
    assert_eq!(
        verify(&root, len, 6, chunk, &proof),
        Err(BlobError::NoSuchChunk {
            index: 6,
            chunks: 6
        })
    );
    // Another size for the same bytes: the root binds the length.
    assert!(verify(&root, len + 1, 2, chunk, &proof).is_err());
    // A proof with a hash changed, one missing, or one too many.
    let mut p = proof.to_bytes();
    p[0] ^= 1;
    let changed = Proof::from_bytes(&p).expect("whole hashes");
    assert_eq!(
        verify(&root, len, 2, chunk, &changed),
        Err(BlobError::Mismatch)
    );
    let p = proof.to_bytes();
    let short = Proof::from_bytes(&p[32..]).expect("whole hashes");
    assert_eq!(
        verify(&root, len, 2, chunk, &short),
        Err(BlobError::Mismatch)
    );
    let mut long = p.clone();
    long.extend_from_slice(&[7; 32]);
    let long = Proof::from_bytes(&long).expect("whole hashes");
    assert_eq!(
        verify(&root, len, 2, chunk, &long),
        Err(BlobError::Mismatch)
    );
    // A leaf hash computed elsewhere is what is checked: the bytes are not hashed again,
    // but their length still is.
    let leaf = Some(leaf_hash(chunk));
    assert_eq!(verify_hashed(&root, len, 2, chunk, leaf, &proof), Ok(()));
    assert_eq!(verify_hashed(&root, len, 2, &bad, leaf, &proof), Ok(()));
    assert_eq!(
        verify_hashed(&root, len, 2, chunk, Some(leaf_hash(&bad)), &proof),
        Err(BlobError::Mismatch)
    );
    assert_eq!(
        verify_hashed(&root, len, 2, &bad, None, &proof),
        Err(BlobError::Mismatch)
    );
    assert!(matches!(
        verify_hashed(&root, len, 2, &chunk[..10], leaf, &proof),
        Err(BlobError::WrongLength { got: 10, .. })
    ));
    // Malformed proof bytes, and a file larger than allowed.
    assert_eq!(Proof::from_bytes(&[0; 33]), Err(BlobError::BadProof));
    assert_eq!(
        Proof::from_bytes(&vec![0; 32 * (MAX_PROOF_HASHES + 1)]),
        Err(BlobError::BadProof)
    );
    assert_eq!(
        verify(&root, MAX_FILE_LEN + 1, 0, chunk, &proof),
        Err(BlobError::TooLarge)
    );
}

#[test]
fn the_builder_takes_full_chunks_then_one_short_one() {
    let bytes = file(2 * CHUNK_LEN + 5);
    let mut b = OutboardBuilder::default();
    for c in bytes.chunks(CHUNK_LEN) {
        b.push(c).expect("in order");
    }
    assert!(b.push(&[1]).is_err(), "nothing after a short chunk");
    let ob = b.finish().expect("an outboard");
    assert_eq!(ob.root(), reference_root(&bytes));
    assert_eq!(ob.len(), bytes.len() as u64);
    assert_eq!(
        Outboard::from_leaves(2 * CHUNK_LEN as u64 + 1, vec![[0; 32]; 2]),
        Err(BlobError::LeafCount { got: 2, want: 3 })
    );
    let mut b = OutboardBuilder::default();
    assert!(b.push(&[]).is_err(), "no empty chunks");
    assert!(
        b.push(&vec![0; CHUNK_LEN + 1]).is_err(),
        "no oversized chunks"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_chunk_and_proof_bytes_are_judged_without_a_panic(
        chunk in proptest::collection::vec(any::<u8>(), 0..300),
        proof in proptest::collection::vec(any::<u8>(), 0..700),
        index in 0u64..8,
        len in 0u64..(8 * CHUNK_LEN as u64),
    ) {
        let root = Outboard::of(b"x").expect("an outboard").root();
        if let Ok(p) = Proof::from_bytes(&proof) {
            prop_assert!(verify(&root, len, index, &chunk, &p).is_err());
        }
    }
}
