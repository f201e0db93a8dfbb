//! Wire format: golden bytes for every frame kind, round trips, and total decoding.

use natter_core::blob::Root;
use natter_core::identity::{Identity, PublicKey};
use natter_core::log::{Body, Draft, Entry, EntryId, FileRef, LogError, Record, MAX_THUMB_BYTES};
use natter_core::room::RoomId;
use natter_core::wire::{
    encode_entries, encode_floors, encode_summary, encode_want, Floor, Frame, Head, Presence,
    WantRange, WireError, FLOOR_LEN, MAX_FRAME_LEN, WIRE_VERSION,
};
use proptest::prelude::*;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn alice() -> Identity {
    Identity::from_secret_bytes(&[1; 32])
}

fn record(seq: u64, prev: EntryId, body: Body) -> Record {
    Record::from_entry(
        Entry::sign(
            &alice(),
            Draft {
                room_id: RoomId([2; 32]),
                seq,
                prev_hash: prev,
                lamport: 5,
                wall_ms: 1_700_000_000_000,
                body,
            },
        )
        .expect("valid draft"),
    )
}

fn first_text() -> Record {
    record(
        1,
        EntryId::ZERO,
        Body::Text {
            text: "hi".into(),
            reply_to: None,
        },
    )
}

fn print_golden(name: &str, bytes: &[u8]) -> String {
    let h = hex(bytes);
    eprintln!("{name}: {h}");
    h
}

#[test]
fn a_hello_frame_has_fixed_bytes() {
    let f = Frame::Hello(vec![0xaa, 0xbb]);
    assert_eq!(print_golden("hello", &f.encode()), "010100000002aabb");
}

#[test]
fn a_summary_frame_has_fixed_bytes() {
    let f = Frame::Summary(vec![Head {
        author: PublicKey([3; 32]),
        seq: 7,
        head: EntryId([4; 32]),
    }]);
    let expected = format!(
        "010200000001{}0000000000000007{}",
        "03".repeat(32),
        "04".repeat(32)
    );
    assert_eq!(print_golden("summary", &f.encode()), expected);
}

#[test]
fn a_want_frame_has_fixed_bytes() {
    let f = Frame::Want(vec![WantRange {
        author: PublicKey([3; 32]),
        from_seq: 2,
        to_seq: 9,
    }]);
    let expected = format!(
        "010300000001{}00000000000000020000000000000009",
        "03".repeat(32)
    );
    assert_eq!(print_golden("want", &f.encode()), expected);
}

#[test]
fn a_floors_frame_has_fixed_bytes_and_splits_where_it_must() {
    let f = Frame::Floors(vec![Floor {
        author: PublicKey([3; 32]),
        base: 200,
    }]);
    let expected = format!("010a00000001{}00000000000000c8", "03".repeat(32));
    assert_eq!(print_golden("floors", &f.encode()), expected);
    // A count the bytes cannot hold is refused before anything is allocated.
    let mut short = f.encode();
    short.truncate(short.len() - 1);
    assert_eq!(Frame::decode(&short), Err(WireError::BadCount(1)));
    let many: Vec<Floor> = (0..5_000u32)
        .map(|i| Floor {
            author: PublicKey(std::array::from_fn(|b| (i >> (b % 4 * 8)) as u8)),
            base: u64::from(i),
        })
        .collect();
    let frames = encode_floors(&many);
    assert_eq!(
        frames.len(),
        5_000usize.div_ceil((MAX_FRAME_LEN - 6) / FLOOR_LEN)
    );
    let mut back = Vec::new();
    for bytes in &frames {
        assert!(bytes.len() <= MAX_FRAME_LEN);
        match Frame::decode(bytes) {
            Ok(Frame::Floors(fl)) => back.extend(fl),
            other => panic!("not floors: {other:?}"),
        }
    }
    assert_eq!(back, many);
    assert!(encode_floors(&[]).is_empty());
}

#[test]
fn an_entry_has_fixed_bytes_and_id() {
    let r = first_text();
    let header = format!(
        "01{}{}0000000000000001{}00000000000000050000018bcfe5680001000000026869",
        "02".repeat(32),
        hex(&alice().public().0),
        "00".repeat(32),
    );
    // Ed25519 signatures are deterministic, so the whole entry (and its id) is fixed.
    let got = print_golden("entry", &r.bytes);
    assert_eq!(got, format!("{header}00{GOLDEN_SIGNATURE}"));
    assert_eq!(print_golden("entry id", &r.id.0), GOLDEN_ENTRY_ID);
}

#[test]
fn a_keeper_entry_has_fixed_bytes_and_id_and_a_keep_flag_of_0_or_1() {
    let body = |keep| Body::Keeper {
        key: PublicKey([3; 32]),
        keep,
    };
    let header = format!(
        "01{}{}0000000000000001{}00000000000000050000018bcfe5680007{}",
        "02".repeat(32),
        hex(&alice().public().0),
        "00".repeat(32),
        "03".repeat(32),
    );
    let kept = record(1, EntryId::ZERO, body(true));
    let got = print_golden("keeper entry", &kept.bytes);
    assert_eq!(got, format!("{header}01{GOLDEN_KEEPER_SIGNATURE}"));
    assert_eq!(
        print_golden("keeper entry id", &kept.id.0),
        GOLDEN_KEEPER_ID
    );
    let stopped = record(1, EntryId::ZERO, body(false));
    assert!(hex(&stopped.bytes).starts_with(&format!("{header}00")));
    assert_eq!(Record::from_bytes(&stopped.bytes), Ok(stopped.clone()));
    // The flag is the byte before the signature: anything but 0 or 1 is refused.
    let at = stopped.bytes.len() - 65;
    for flag in [2u8, 0x80, 0xff] {
        let mut bad = stopped.bytes.clone();
        bad[at] = flag;
        assert_eq!(Record::from_bytes(&bad), Err(LogError::BadMarker(flag)));
    }
    // Cut short inside the key.
    let cut = &stopped.bytes[..at - 10];
    assert_eq!(Record::from_bytes(cut), Err(LogError::Truncated));
}

#[test]
fn a_file_entry_has_fixed_bytes_and_id_and_bounded_fields() {
    let file = |thumb| {
        Body::File(FileRef {
            root: Root([4; 32]),
            size: 70_000,
            mime: "image/jpeg".into(),
            name: "a.jpg".into(),
            thumb,
        })
    };
    let header = format!(
        "01{}{}0000000000000001{}00000000000000050000018bcfe5680008{}0000000000011170",
        "02".repeat(32),
        hex(&alice().public().0),
        "00".repeat(32),
        "04".repeat(32),
    );
    // mime, name, then the thumbnail: marker, length, bytes.
    let fields = format!("0000000a{}00000005{}", hex(b"image/jpeg"), hex(b"a.jpg"));
    let with = record(1, EntryId::ZERO, file(Some(vec![0xff, 0xd8])));
    let got = print_golden("file entry", &with.bytes);
    assert_eq!(
        got,
        format!("{header}{fields}0100000002ffd8{GOLDEN_FILE_SIGNATURE}")
    );
    assert_eq!(print_golden("file entry id", &with.id.0), GOLDEN_FILE_ID);
    assert_eq!(Record::from_bytes(&with.bytes), Ok(with.clone()));
    let without = record(1, EntryId::ZERO, file(None));
    assert!(hex(&without.bytes).starts_with(&format!("{header}{fields}00")));
    assert_eq!(Record::from_bytes(&without.bytes), Ok(without.clone()));
    // The thumbnail's marker is 0 or 1.
    let at = without.bytes.len() - 65;
    let mut bad = without.bytes.clone();
    bad[at] = 2;
    assert_eq!(Record::from_bytes(&bad), Err(LogError::BadMarker(2)));
    // A thumbnail or a size over its bound is refused when signing and when decoding.
    let big = Body::File(FileRef {
        thumb: Some(vec![0; MAX_THUMB_BYTES + 1]),
        ..match file(None) {
            Body::File(f) => f,
            _ => unreachable!(),
        }
    });
    assert!(matches!(
        big.validate(),
        Err(LogError::TooLong { field: "thumb", .. })
    ));
    let huge = Body::File(FileRef {
        size: natter_core::blob::MAX_FILE_LEN + 1,
        ..match file(None) {
            Body::File(f) => f,
            _ => unreachable!(),
        }
    });
    assert!(matches!(
        huge.validate(),
        Err(LogError::TooLong { field: "size", .. })
    ));
    let mut claims = with.bytes.clone();
    let len_at = with.bytes.len() - 64 - 2 - 4;
    claims[len_at..len_at + 4].copy_from_slice(&(MAX_THUMB_BYTES as u32 + 1).to_be_bytes());
    assert!(matches!(
        Record::from_bytes(&claims),
        Err(LogError::TooLong { field: "thumb", .. })
    ));
}

const GOLDEN_FILE_SIGNATURE: &str = "3e459ae937b3c5d9f318745e7db573dfef5215852285e7546f9682f598a9fb55bdd54796468d846b0f28af5e2c2bed37ea88bc9e199db0d24d451bb3f7e09106";
const GOLDEN_FILE_ID: &str = "83741cc6282da46bf3d918700837f3da1cde3f08e842a1554fad03b7f4f938de";

const GOLDEN_KEEPER_SIGNATURE: &str = "edb0a3f128e18163134ac2652c3f90a58d52d7530e7aa290977995a7cb8707eaebbc53a0f4b4b73b1b28b0693a95408a3b45b116279b2f6aac2c3dfa514c6508";
const GOLDEN_KEEPER_ID: &str = "ae3b5c9c403807504d86ddece8a56d6b1840b2b121fcca02b0bbc82c4826261e";

const GOLDEN_SIGNATURE: &str = "f5b51cf1e153074b7dff2e7cd72602b444cb42fd1ecc3ce6c890c61783de96e61de903a133fefc36934f2d9f543d409a4bf3ff6e84fcafae44d555c31691cd00";
const GOLDEN_ENTRY_ID: &str = "9d1d22e757a372d7ed2ccdf2d7047bc2f61eccd7ebde9479dd6ea014932fb6ac";

#[test]
fn entries_and_push_frames_have_fixed_bytes() {
    let r = first_text();
    let e = Frame::Entries(vec![r.clone()]).encode();
    let p = Frame::Push(vec![r.clone()]).encode();
    let len = format!("{:08x}", r.bytes.len());
    assert_eq!(hex(&e), format!("010400000001{len}{}", hex(&r.bytes)));
    assert_eq!(hex(&p), format!("010500000001{len}{}", hex(&r.bytes)));
}

#[test]
fn an_evidence_frame_has_fixed_bytes() {
    let a = first_text();
    let b = record(
        1,
        EntryId::ZERO,
        Body::Text {
            text: "ho".into(),
            reply_to: None,
        },
    );
    let f = Frame::Evidence {
        first: Box::new(a.clone()),
        second: Box::new(b.clone()),
    }
    .encode();
    let expected = format!(
        "0106{:08x}{}{:08x}{}",
        a.bytes.len(),
        hex(&a.bytes),
        b.bytes.len(),
        hex(&b.bytes)
    );
    assert_eq!(hex(&f), expected);
}

#[test]
fn transient_frames_have_fixed_bytes() {
    assert_eq!(hex(&Frame::Typing(true).encode()), "010701");
    assert_eq!(hex(&Frame::Typing(false).encode()), "010700");
    assert_eq!(hex(&Frame::Presence(Presence::Online).encode()), "010800");
    assert_eq!(hex(&Frame::Presence(Presence::Away).encode()), "010801");
    assert_eq!(hex(&Frame::Bye("ok".into()).encode()), "0109000000026f6b");
}

#[test]
fn an_unknown_version_is_rejected_clearly() {
    let err = Frame::decode(&[2, 7, 1]).expect_err("version 2 is unknown");
    assert_eq!(err, WireError::UnknownVersion(2));
    assert!(err.to_string().contains("unknown wire version 2"));
    assert_eq!(Frame::decode(&[]), Err(WireError::Empty));
}

#[test]
fn an_unknown_kind_is_ignorable_but_an_error() {
    let err = Frame::decode(&[WIRE_VERSION, 200]).expect_err("kind 200 is unknown");
    assert!(err.is_ignorable());
    assert!(!Frame::decode(&[WIRE_VERSION, 7, 2])
        .expect_err("bad flag")
        .is_ignorable());
}

#[test]
fn an_oversized_frame_is_rejected_before_decoding() {
    let big = vec![WIRE_VERSION; MAX_FRAME_LEN + 1];
    assert_eq!(
        Frame::decode(&big),
        Err(WireError::TooLarge(MAX_FRAME_LEN + 1))
    );
}

#[test]
fn a_huge_count_is_rejected_without_allocating() {
    let f = [WIRE_VERSION, 2, 0xff, 0xff, 0xff, 0xff];
    assert_eq!(Frame::decode(&f), Err(WireError::BadCount(u32::MAX)));
    let f = [WIRE_VERSION, 4, 0x7f, 0xff, 0xff, 0xff, 0, 0];
    assert!(matches!(Frame::decode(&f), Err(WireError::BadCount(_))));
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut f = Frame::Typing(true).encode();
    f.push(0);
    assert!(Frame::decode(&f).is_err());
}

#[test]
fn long_lists_are_split_into_frames_under_the_limit() {
    let heads: Vec<Head> = (0..2000u32)
        .map(|i| Head {
            author: PublicKey([(i % 251) as u8; 32]),
            seq: u64::from(i),
            head: EntryId([1; 32]),
        })
        .collect();
    let frames = encode_summary(&heads);
    assert!(frames.len() > 1);
    let mut back = Vec::new();
    for f in &frames {
        assert!(f.len() <= MAX_FRAME_LEN);
        match Frame::decode(f) {
            Ok(Frame::Summary(h)) => back.extend(h),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(back, heads);

    let ranges: Vec<WantRange> = heads
        .iter()
        .map(|h| WantRange {
            author: h.author,
            from_seq: 1,
            to_seq: h.seq,
        })
        .collect();
    let frames = encode_want(&ranges);
    assert!(frames.iter().all(|f| f.len() <= MAX_FRAME_LEN));
    assert_eq!(frames.len(), 2);

    let mut recs = vec![first_text()];
    for seq in 2..=400 {
        let prev = recs[recs.len() - 1].id;
        recs.push(record(
            seq,
            prev,
            Body::Text {
                text: "x".repeat(300),
                reply_to: None,
            },
        ));
    }
    let frames = encode_entries(&recs, false);
    assert!(frames.len() > 1);
    let mut back = Vec::new();
    for f in &frames {
        assert!(f.len() <= MAX_FRAME_LEN);
        match Frame::decode(f) {
            Ok(Frame::Entries(r)) => back.extend(r),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(back, recs);
}

fn arb_key() -> impl Strategy<Value = [u8; 32]> {
    prop::array::uniform32(any::<u8>())
}

fn arb_body() -> impl Strategy<Value = Body> {
    prop_oneof![
        ("\\PC{0,200}", prop::option::of(arb_key())).prop_map(|(text, r)| Body::Text {
            text,
            reply_to: r.map(EntryId)
        }),
        (arb_key(), "\\PC{0,50}").prop_map(|(t, text)| Body::Edit {
            target: EntryId(t),
            text
        }),
        arb_key().prop_map(|t| Body::Delete { target: EntryId(t) }),
        (arb_key(), "\\PC{1,8}").prop_map(|(t, emoji)| Body::Reaction {
            target: EntryId(t),
            emoji
        }),
        (arb_key(), any::<u64>(), "[a-z/]{0,40}", "\\PC{0,60}").prop_map(
            |(digest, size, mime, name)| Body::Attachment {
                digest,
                size,
                mime,
                name
            }
        ),
        (
            arb_key(),
            0..=natter_core::blob::MAX_FILE_LEN,
            "[a-z/]{0,40}",
            "\\PC{0,60}",
            prop::option::of(prop::collection::vec(any::<u8>(), 0..300))
        )
            .prop_map(|(root, size, mime, name, thumb)| Body::File(FileRef {
                root: Root(root),
                size,
                mime,
                name,
                thumb
            })),
        "\\PC{0,30}".prop_map(|display_name| Body::Profile { display_name }),
        (arb_key(), any::<bool>()).prop_map(|(key, keep)| Body::Keeper {
            key: PublicKey(key),
            keep
        }),
    ]
}

fn arb_record() -> impl Strategy<Value = Record> {
    (
        arb_key(),
        arb_key(),
        1u64..1000,
        any::<u64>(),
        any::<u64>(),
        arb_body(),
    )
        .prop_map(|(secret, room, seq, lamport, wall_ms, body)| {
            let id = Identity::from_secret_bytes(&secret);
            let prev = if seq == 1 {
                EntryId::ZERO
            } else {
                EntryId([9; 32])
            };
            let body = match body.validate() {
                Ok(()) => body,
                Err(_) => Body::Delete {
                    target: EntryId::ZERO,
                },
            };
            Record::from_entry(
                Entry::sign(
                    &id,
                    Draft {
                        room_id: RoomId(room),
                        seq,
                        prev_hash: prev,
                        lamport,
                        wall_ms,
                        body,
                    },
                )
                .expect("bounded body, valid seq"),
            )
        })
}

fn arb_frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200).prop_map(Frame::Hello),
        prop::collection::vec(
            (arb_key(), any::<u64>(), arb_key()).prop_map(|(a, seq, h)| Head {
                author: PublicKey(a),
                seq,
                head: EntryId(h)
            }),
            0..20
        )
        .prop_map(Frame::Summary),
        prop::collection::vec(
            (arb_key(), any::<u64>(), any::<u64>()).prop_map(|(a, f, t)| WantRange {
                author: PublicKey(a),
                from_seq: f,
                to_seq: t
            }),
            0..20
        )
        .prop_map(Frame::Want),
        prop::collection::vec(arb_record(), 0..4).prop_map(Frame::Entries),
        prop::collection::vec(arb_record(), 0..4).prop_map(Frame::Push),
        (arb_record(), arb_record()).prop_map(|(first, second)| Frame::Evidence {
            first: Box::new(first),
            second: Box::new(second)
        }),
        any::<bool>().prop_map(Frame::Typing),
        prop_oneof![Just(Presence::Online), Just(Presence::Away)].prop_map(Frame::Presence),
        "\\PC{0,60}".prop_map(Frame::Bye),
        prop::collection::vec(
            (arb_key(), any::<u64>()).prop_map(|(a, base)| Floor {
                author: PublicKey(a),
                base
            }),
            0..20
        )
        .prop_map(Frame::Floors),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_frame_round_trips(frame in arb_frame()) {
        let bytes = frame.encode();
        prop_assert!(bytes.len() <= MAX_FRAME_LEN);
        prop_assert_eq!(Frame::decode(&bytes), Ok(frame));
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = Frame::decode(&bytes);
        let _ = Record::from_bytes(&bytes);
    }

    #[test]
    fn decoding_a_mutated_frame_never_panics_and_reencodes_exactly(
        frame in arb_frame(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = frame.encode();
        for (i, v) in flips {
            let i = i.index(bytes.len());
            bytes[i] = v;
        }
        let cut = cut.index(bytes.len() + 1);
        for candidate in [&bytes[..], &bytes[..cut]] {
            if let Ok(f) = Frame::decode(candidate) {
                // Canonical: a frame that decodes re-encodes to the same bytes.
                prop_assert_eq!(f.encode(), candidate.to_vec());
            }
        }
    }
}
