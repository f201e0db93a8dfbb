//! Keeper invitations: round trips, golden vectors, and what a wrong key, a replayed or
//! altered blob, an over-long blob or arbitrary text get.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use natter_core::identity::{Identity, PublicKey};
use natter_core::joincode::Gift;
use natter_core::keeper::{
    mailbox_id, open_invite, seal_invite, KeeperError, KeeperReply, Refusal, MAX_KEEPER_BLOB_CHARS,
    MAX_SESSION_ID_BYTES,
};
use natter_core::room::{PasswordKey, Room, RoomSecret};
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

type Res = Result<(), Box<dyn std::error::Error>>;

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn keeper() -> Identity {
    Identity::from_secret_bytes(&[7; 32])
}

fn gift(password: bool) -> Result<Gift, Box<dyn std::error::Error>> {
    let room = Room::from_parts(
        RoomSecret::from_bytes([9; 32]),
        Some("Book club"),
        password.then(|| PasswordKey::from_bytes([5; 32])),
    )?;
    Ok(Gift {
        invite: room.invite(),
        password_key: room.password_key().cloned(),
        retention: natter_core::retention::Retention::All,
    })
}

const MEMBER: &str = "member-session";
const KEEPER: &str = "keeper-session";

#[test]
fn the_mailbox_is_64_lowercase_hex_digits_and_differs_per_key() {
    let a = mailbox_id(&keeper().public());
    let b = mailbox_id(&Identity::from_secret_bytes(&[8; 32]).public());
    assert_eq!(a.len(), 64);
    assert!(a.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
    assert_ne!(a, b);
    assert_ne!(a, keeper().public().to_text());
}

#[test]
fn a_retention_travels_in_the_invite_with_or_without_a_password() -> Res {
    use natter_core::retention::Retention;
    for (password, retention) in [
        (false, Retention::Entries(100)),
        (true, Retention::Days(30)),
        (true, Retention::Bytes(1 << 30)),
    ] {
        let g = Gift {
            retention,
            ..gift(password)?
        };
        let (blob, _) = seal_invite(&keeper().public(), &g, MEMBER, KEEPER, &mut rng(1))?;
        assert!(blob.len() <= MAX_KEEPER_BLOB_CHARS);
        let (opened, _) = open_invite(&keeper(), &blob, MEMBER, KEEPER)?;
        assert_eq!(opened.retention, retention);
        assert_eq!(opened, g);
    }
    Ok(())
}

#[test]
fn an_invite_and_its_answers_round_trip_with_and_without_a_password() -> Res {
    for password in [false, true] {
        let g = gift(password)?;
        let replies = [
            KeeperReply::Kept {
                name: "Keeper of the Book club".into(),
            },
            KeeperReply::Refused(Refusal::Full),
            KeeperReply::Refused(Refusal::Invalid),
        ];
        for (i, reply) in replies.into_iter().enumerate() {
            let (blob, pending) =
                seal_invite(&keeper().public(), &g, MEMBER, KEEPER, &mut rng(i as u64))?;
            assert!(blob.len() <= MAX_KEEPER_BLOB_CHARS);
            let (opened, key) = open_invite(&keeper(), &blob, MEMBER, KEEPER)?;
            assert_eq!(opened, g);
            assert_eq!(opened.password_key.is_some(), password);
            let answer = key.seal_reply(&reply);
            assert_eq!(pending.open_reply(&answer)?, reply);
        }
    }
    Ok(())
}

#[test]
fn golden_vectors() -> Res {
    // Fixed randomness: the mailbox, both blobs and the key schedule are pinned, so a
    // second implementation can check itself against these. (The keeper's side of these
    // was checked with an independent X25519, HKDF and ChaCha20-Poly1305.)
    let k = keeper();
    assert_eq!(mailbox_id(&k.public()), GOLDEN_MAILBOX);
    let (blob, pending) = seal_invite(&k.public(), &gift(true)?, MEMBER, KEEPER, &mut rng(100))?;
    eprintln!("invite: {blob}");
    assert_eq!(blob, GOLDEN_INVITE);
    let (_, key) = open_invite(&k, GOLDEN_INVITE, MEMBER, KEEPER)?;
    let reply = key.seal_reply(&KeeperReply::Kept {
        name: "Keeper".into(),
    });
    eprintln!("reply: {reply}");
    assert_eq!(reply, GOLDEN_REPLY);
    assert_eq!(
        pending.open_reply(GOLDEN_REPLY)?,
        KeeperReply::Kept {
            name: "Keeper".into()
        }
    );
    Ok(())
}

const GOLDEN_MAILBOX: &str = "a571ea771d7dafbb1fdd902bb24bfa67dc2bb2e1a8816b3c44948b8fc445902d";
const GOLDEN_INVITE: &str = "AQHvno32pyNFRoSSWGNnfgJJz8Um9pK9LeGN2i3iLxjCWZuUOGzIMDbMZF87X5SGeSoleaqtxXXuzc4g_qiEGVpusHwHKHPbPEN3bpyHPAkK7JkeaCQqoG9tPNU5a4HSFGeiyyHm7eviWG7SxTUXLjod9N7OnnVcFRPv5xHQH-zP5uFNRyiWChpGLGFHZg";
const GOLDEN_REPLY: &str = "AQKaZjf0UemLQ8kBpyfVM55f5XyPSxK7Fg";

#[test]
fn an_invite_sealed_to_another_keeper_does_not_open() -> Res {
    let other = Identity::from_secret_bytes(&[8; 32]);
    let (blob, _) = seal_invite(&other.public(), &gift(false)?, MEMBER, KEEPER, &mut rng(1))?;
    assert_eq!(
        open_invite(&keeper(), &blob, MEMBER, KEEPER).err(),
        Some(KeeperError::WrongKey)
    );
    assert!(open_invite(&other, &blob, MEMBER, KEEPER).is_ok());
    Ok(())
}

#[test]
fn a_blob_replayed_to_other_sessions_or_reflected_does_not_open() -> Res {
    let (blob, pending) = seal_invite(
        &keeper().public(),
        &gift(false)?,
        MEMBER,
        KEEPER,
        &mut rng(2),
    )?;
    for (from, to) in [
        ("someone-else", KEEPER),
        (MEMBER, "another-keeper-session"),
        (KEEPER, MEMBER),
    ] {
        assert_eq!(
            open_invite(&keeper(), &blob, from, to).err(),
            Some(KeeperError::WrongKey),
            "{from} -> {to}"
        );
    }
    // An answer to another invite (of the same member to the same keeper) does not open
    // this one, and an invite is not taken for an answer.
    let (other_blob, _) = seal_invite(
        &keeper().public(),
        &gift(false)?,
        MEMBER,
        KEEPER,
        &mut rng(3),
    )?;
    let (_, other_key) = open_invite(&keeper(), &other_blob, MEMBER, KEEPER)?;
    let other_answer = other_key.seal_reply(&KeeperReply::Refused(Refusal::Full));
    assert_eq!(
        pending.open_reply(&other_answer).err(),
        Some(KeeperError::WrongKey)
    );
    assert_eq!(
        pending.open_reply(&blob).err(),
        Some(KeeperError::Malformed)
    );
    Ok(())
}

fn flip(blob: &str, byte: usize, bit: u8) -> Result<String, base64::DecodeError> {
    let mut bytes = URL_SAFE_NO_PAD.decode(blob)?;
    bytes[byte] ^= 1 << bit;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[test]
fn a_changed_bit_anywhere_is_refused() -> Res {
    let (blob, pending) = seal_invite(
        &keeper().public(),
        &gift(true)?,
        MEMBER,
        KEEPER,
        &mut rng(4),
    )?;
    let (_, key) = open_invite(&keeper(), &blob, MEMBER, KEEPER)?;
    let answer = key.seal_reply(&KeeperReply::Kept {
        name: "Keeper".into(),
    });
    let invite_len = URL_SAFE_NO_PAD.decode(&blob)?.len();
    for byte in 0..invite_len {
        for bit in 0..8 {
            let bad = flip(&blob, byte, bit)?;
            assert!(
                open_invite(&keeper(), &bad, MEMBER, KEEPER).is_err(),
                "invite byte {byte} bit {bit}"
            );
        }
    }
    let answer_len = URL_SAFE_NO_PAD.decode(&answer)?.len();
    for byte in 0..answer_len {
        for bit in 0..8 {
            let bad = flip(&answer, byte, bit)?;
            assert!(
                pending.open_reply(&bad).is_err(),
                "answer byte {byte} bit {bit}"
            );
        }
    }
    // Cut short or lengthened.
    let bytes = URL_SAFE_NO_PAD.decode(&blob)?;
    for len in [0, 1, 2, 33, 34 + 15, bytes.len() - 1] {
        let cut = URL_SAFE_NO_PAD.encode(&bytes[..len]);
        assert!(
            open_invite(&keeper(), &cut, MEMBER, KEEPER).is_err(),
            "{len}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    let longer = URL_SAFE_NO_PAD.encode(longer);
    assert!(open_invite(&keeper(), &longer, MEMBER, KEEPER).is_err());
    Ok(())
}

#[test]
fn a_blob_over_the_bound_is_refused_unread() -> Res {
    let (blob, pending) = seal_invite(
        &keeper().public(),
        &gift(false)?,
        MEMBER,
        KEEPER,
        &mut rng(5),
    )?;
    // The honest blob padded with base64 to one character over the bound.
    let long = format!(
        "{blob}{}",
        "A".repeat(MAX_KEEPER_BLOB_CHARS + 1 - blob.len())
    );
    assert_eq!(long.len(), MAX_KEEPER_BLOB_CHARS + 1);
    assert_eq!(
        open_invite(&keeper(), &long, MEMBER, KEEPER).err(),
        Some(KeeperError::TooLong)
    );
    assert_eq!(pending.open_reply(&long).err(), Some(KeeperError::TooLong));
    Ok(())
}

#[test]
fn a_key_one_cannot_seal_to_a_bad_gift_and_long_sessions_are_refused() -> Res {
    // The identity point: a valid encoding of a small-order point (the shared secret would
    // be zero), and bytes that are no point at all.
    let mut identity_point = [0u8; 32];
    identity_point[0] = 1;
    let not_a_point = (0u8..=255)
        .map(|b| [b; 32])
        .find(|k| ed25519_dalek::VerifyingKey::from_bytes(k).is_err())
        .ok_or("some bytes are no point")?;
    for key in [identity_point, not_a_point] {
        assert_eq!(
            seal_invite(&PublicKey(key), &gift(false)?, MEMBER, KEEPER, &mut rng(6)).err(),
            Some(KeeperError::BadKey)
        );
    }
    // A password key for a room that has none (the keeper could not use it).
    let mut g = gift(false)?;
    g.password_key = Some(PasswordKey::from_bytes([1; 32]));
    assert_eq!(
        seal_invite(&keeper().public(), &g, MEMBER, KEEPER, &mut rng(6)).err(),
        Some(KeeperError::BadGift)
    );
    let long = "s".repeat(MAX_SESSION_ID_BYTES + 1);
    assert_eq!(
        seal_invite(
            &keeper().public(),
            &gift(false)?,
            &long,
            KEEPER,
            &mut rng(6)
        )
        .err(),
        Some(KeeperError::SessionTooLong)
    );
    let (blob, _) = seal_invite(
        &keeper().public(),
        &gift(false)?,
        MEMBER,
        KEEPER,
        &mut rng(6),
    )?;
    assert_eq!(
        open_invite(&keeper(), &blob, MEMBER, &long).err(),
        Some(KeeperError::SessionTooLong)
    );
    Ok(())
}

#[test]
fn a_keeper_name_that_cannot_be_shown_is_an_error() -> Res {
    for name in ["", "   ", "\u{202E}reppeK", "a\nb", &"k".repeat(65)] {
        let (blob, pending) = seal_invite(
            &keeper().public(),
            &gift(false)?,
            MEMBER,
            KEEPER,
            &mut rng(7),
        )?;
        let (_, key) = open_invite(&keeper(), &blob, MEMBER, KEEPER)?;
        let answer = key.seal_reply(&KeeperReply::Kept { name: name.into() });
        let err = pending.open_reply(&answer).err();
        assert!(
            matches!(err, Some(KeeperError::BadName(_))),
            "{name:?}: {err:?}"
        );
        assert!(err
            .map(|e| e.to_string())
            .unwrap_or_default()
            .contains("name"));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_opens_and_never_panics(
        text in ".{0,1100}",
        garbage in proptest::collection::vec(any::<u8>(), 0..800),
        kind in 0u8..4,
    ) {
        let (_, pending) = seal_invite(
            &keeper().public(),
            &gift(false).map_err(|e| TestCaseError::fail(e.to_string()))?,
            MEMBER,
            KEEPER,
            &mut rng(8),
        ).map_err(|e| TestCaseError::fail(e.to_string()))?;
        // Raw text, and bytes that pass the version and kind checks.
        let mut framed = vec![1, kind];
        framed.extend_from_slice(&garbage);
        for blob in [text, URL_SAFE_NO_PAD.encode(&garbage), URL_SAFE_NO_PAD.encode(&framed)] {
            prop_assert!(open_invite(&keeper(), &blob, MEMBER, KEEPER).is_err());
            prop_assert!(pending.open_reply(&blob).is_err());
        }
    }
}
