//! The attachments channel's frames: golden bytes, round trips, what a `Have` means to a
//! fetch, and refusals of malformed frames.

use natter_core::blob::{Outboard, Proof, Root, CHUNK_LEN, MAX_FILE_LEN};
use natter_core::blobwire::{
    availability, chunk_span, ranges_of, BlobFrame, MAX_BLOB_FRAME_LEN, MAX_HAVE_RANGES,
};
use natter_core::fetch::Availability;
use natter_core::wire::WireError;
use proptest::prelude::*;

const R: Root = Root([0xab; 32]);

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn golden_bytes() {
    let root = "ab".repeat(32);
    let cases = [
        (
            BlobFrame::Have {
                root: R,
                len: 200_000,
                ranges: None,
            },
            format!("0101{root}0000000000030d4001"),
        ),
        (
            BlobFrame::Have {
                root: R,
                len: 200_000,
                ranges: Some(vec![(0, 1), (2, 4)]),
            },
            format!("0101{root}0000000000030d40000000000200000000000000010000000200000004"),
        ),
        (
            BlobFrame::Want { root: R, index: 3 },
            format!("0102{root}0000000000000003"),
        ),
        (
            BlobFrame::Chunk {
                root: R,
                index: 1,
                proof: Proof::from_bytes(&[7; 32]).expect("one hash"),
                bytes: b"hi".to_vec(),
            },
            format!(
                "0103{root}000000000000000101{}000000026869",
                "07".repeat(32)
            ),
        ),
        (
            BlobFrame::Lack { root: R, index: 9 },
            format!("0104{root}0000000000000009"),
        ),
    ];
    for (frame, want) in cases {
        let bytes = frame.encode();
        assert_eq!(hex(&bytes), want, "{frame:?}");
        assert_eq!(BlobFrame::decode(&bytes), Ok(frame));
    }
}

#[test]
fn a_full_chunk_with_the_longest_proof_fits_a_frame() {
    let bytes = vec![1u8; 3 * CHUNK_LEN];
    let ob = Outboard::of(&bytes).expect("an outboard");
    let frame = BlobFrame::Chunk {
        root: ob.root(),
        index: 0,
        proof: Proof::from_bytes(&[0; 32 * 20]).expect("twenty hashes"),
        bytes: bytes[..CHUNK_LEN].to_vec(),
    };
    let encoded = frame.encode();
    assert!(encoded.len() <= MAX_BLOB_FRAME_LEN);
    assert_eq!(BlobFrame::decode(&encoded), Ok(frame));
    // The chunk's bytes end the frame; a frame cut or grown by one byte has no chunk.
    let n = encoded.len();
    assert_eq!(chunk_span(&encoded), Some(n - CHUNK_LEN..n));
    assert_eq!(chunk_span(&encoded[..n - 1]), None);
    assert_eq!(chunk_span(&[&encoded[..], &[0]].concat()), None);
    let want = BlobFrame::Want { root: R, index: 0 }.encode();
    assert_eq!(chunk_span(&want), None);
}

#[test]
fn held_ranges_round_trip_through_flags() {
    let flags = [true, true, false, true, false, false, true];
    let ranges = ranges_of(&flags);
    assert_eq!(ranges, vec![(0, 2), (3, 4), (6, 7)]);
    let len = 7 * CHUNK_LEN as u64;
    assert_eq!(
        availability(len, &Some(ranges)),
        Availability::Chunks(flags.to_vec())
    );
    assert_eq!(availability(len, &None), Availability::All);
    // A scattered holder names only its first ranges.
    let scattered: Vec<bool> = (0..3 * MAX_HAVE_RANGES).map(|i| i % 2 == 0).collect();
    assert_eq!(ranges_of(&scattered).len(), MAX_HAVE_RANGES);
}

#[test]
fn malformed_frames_are_refused() {
    let have = |ranges: Vec<(u32, u32)>| {
        BlobFrame::Have {
            root: R,
            len: 5 * CHUNK_LEN as u64,
            ranges: Some(ranges),
        }
        .encode()
    };
    // Out of order, touching, empty, or past the file's five chunks.
    for ranges in [
        vec![(2, 3), (0, 1)],
        vec![(0, 2), (2, 3)],
        vec![(1, 1)],
        vec![(4, 6)],
    ] {
        assert_eq!(
            BlobFrame::decode(&have(ranges.clone())),
            Err(WireError::OutOfRange("a range of chunks")),
            "{ranges:?}"
        );
    }
    let too_long = BlobFrame::Have {
        root: R,
        len: MAX_FILE_LEN + 1,
        ranges: None,
    }
    .encode();
    assert!(BlobFrame::decode(&too_long).is_err());
    let mut trailing = BlobFrame::Want { root: R, index: 0 }.encode();
    trailing.push(0);
    assert!(BlobFrame::decode(&trailing).is_err());
    let mut unknown = BlobFrame::Want { root: R, index: 0 }.encode();
    unknown[1] = 9;
    assert_eq!(BlobFrame::decode(&unknown), Err(WireError::UnknownKind(9)));
    assert!(BlobFrame::decode(&[]).is_err());
    assert!(BlobFrame::decode(&vec![1; MAX_BLOB_FRAME_LEN + 1]).is_err());
    // A chunk longer than a chunk, or a proof longer than a proof.
    let mut big = BlobFrame::Chunk {
        root: R,
        index: 0,
        proof: Proof::from_bytes(&[]).expect("no hashes"),
        bytes: vec![0; CHUNK_LEN + 1],
    }
    .encode();
    assert!(BlobFrame::decode(&big).is_err());
    big.truncate(2 + 32 + 8);
    big.push(21);
    big.extend_from_slice(&[0; 21 * 32]);
    big.extend_from_slice(&0u32.to_be_bytes());
    assert_eq!(BlobFrame::decode(&big), Err(WireError::BadValue(21)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_bytes_decode_or_fail_without_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let span = chunk_span(&bytes);
        match BlobFrame::decode(&bytes) {
            // What decodes is canonical: it encodes to the same bytes; a chunk's bytes are
            // where `chunk_span` says, and nothing else has a span.
            Ok(frame) => {
                prop_assert_eq!(&frame.encode(), &bytes);
                match frame {
                    BlobFrame::Chunk { bytes: chunk, .. } => {
                        let span = span.expect("a chunk's span");
                        prop_assert_eq!(&bytes[span], &chunk[..]);
                    }
                    _ => prop_assert_eq!(span, None),
                }
            }
            Err(_) => prop_assert_eq!(span, None),
        }
    }
}
