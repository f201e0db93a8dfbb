//! The whole cryptographic path between two peers, as the browser runtime drives it: create a
//! password room, share the invite, exchange sealed SDP through an untrusted relay, bind
//! identities to the DTLS fingerprints with hellos, and compare safety numbers.

use natter_core::hello::{dtls_fingerprint_from_sdp, Hello, HelloContext, HelloError};
use natter_core::identity::{Identity, SafetyNumber, SafetyNumberError};
use natter_core::room::{Invite, Room, RoomError, SymmetricKey};
use natter_core::seal::{open_text, seal_to_text, SealError};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const ALICE_FP: &str = "sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3B:E4:C3:4F:2E:D7:6C:12:A3:4B:AF:57";
const BOB_FP: &str = "sha-256 B2:9C:26:11:07:DE:44:0A:9E:8D:33:41:7F:60:5A:C3:21:98:14:E6:0B:C7:52:FA:D8:01:9E:33:C6:41:7D:08";
const MALLORY_FP: &str = "sha-256 01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF";

fn sdp(fingerprint: &str) -> String {
    format!(
        "v=0\r\no=- 4611 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
         m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n\
         a=fingerprint:{fingerprint}\r\na=setup:actpass\r\n"
    )
}

#[test]
fn two_peers_join_a_password_room_and_authenticate_each_other() {
    let mut rng = ChaCha20Rng::seed_from_u64(2026);
    let alice_id = Identity::generate(&mut rng);
    let bob_id = Identity::generate(&mut rng);

    // Alice creates the room and shares the link; the password travels separately.
    let alice_room =
        Room::create(&mut rng, Some("Plans"), Some("a long shared password")).expect("valid room");
    let link = alice_room.invite_link("https://natter.example");
    let invite = Invite::parse(&link).expect("link parses");
    assert_eq!(
        Room::from_invite(&invite, None).map(|r| r.id()),
        Err(RoomError::PasswordRequired)
    );
    let bob_room = Room::from_invite(&invite, Some("a long shared password")).expect("joins");
    assert_eq!(bob_room.id(), alice_room.id());

    // The relay assigns session ids; Alice seals her offer to Bob.
    let room_id = alice_room.id();
    let offer = sdp(ALICE_FP);
    let blob = seal_to_text(
        alice_room.signal_key(),
        &mut rng,
        &room_id,
        "sess-alice",
        "sess-bob",
        offer.as_bytes(),
    )
    .expect("seals");
    assert!(!blob.contains("fingerprint"));
    let opened = open_text(
        bob_room.signal_key(),
        &room_id,
        "sess-alice",
        "sess-bob",
        &blob,
    )
    .expect("Bob opens the offer");
    let remote_fp = dtls_fingerprint_from_sdp(&String::from_utf8(opened).expect("UTF-8"))
        .expect("offer has a fingerprint");

    // The DataChannel opens; each side sends a hello built from its own view.
    let bob_ctx = HelloContext::new(room_id, BOB_FP, &remote_fp, "sess-bob", "sess-alice")
        .expect("valid context");
    let alice_ctx = HelloContext::new(room_id, ALICE_FP, BOB_FP, "sess-alice", "sess-bob")
        .expect("valid context");
    let from_alice = Hello::from_bytes(
        &Hello::new(&alice_id, "Alice", &alice_ctx)
            .expect("valid")
            .to_bytes(),
    )
    .expect("decodes");
    let from_bob = Hello::from_bytes(
        &Hello::new(&bob_id, "Bob", &bob_ctx)
            .expect("valid")
            .to_bytes(),
    )
    .expect("decodes");
    assert_eq!(from_alice.verify(&bob_ctx), Ok(()));
    assert_eq!(from_bob.verify(&alice_ctx), Ok(()));
    assert_eq!(from_alice.identity(), &alice_id.public());

    // Both compute the same safety number, and the QR code check passes.
    let at_alice = SafetyNumber::new(&alice_id.public(), from_bob.identity());
    let at_bob = SafetyNumber::new(&bob_id.public(), from_alice.identity());
    assert_eq!(at_alice.to_string(), at_bob.to_string());
    assert_eq!(at_bob.verify_qr(&at_alice.qr_payload()), Ok(()));
}

#[test]
fn a_relay_without_the_room_secret_can_neither_read_nor_forge_signaling() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let room = Room::create(&mut rng, None, None).expect("valid room");
    let room_id = room.id();
    let blob = seal_to_text(
        room.signal_key(),
        &mut rng,
        &room_id,
        "a",
        "b",
        sdp(ALICE_FP).as_bytes(),
    )
    .expect("seals");

    // The relay knows the room id and sessions, but not the key: its forgery fails.
    let relay_key = SymmetricKey::from_bytes([0x55; 32]);
    let forged = seal_to_text(
        &relay_key,
        &mut rng,
        &room_id,
        "a",
        "b",
        sdp(MALLORY_FP).as_bytes(),
    )
    .expect("seals");
    assert_eq!(
        open_text(room.signal_key(), &room_id, "a", "b", &forged),
        Err(SealError::WrongKey)
    );
    // Nor can it replay Alice's blob to a third session.
    assert_eq!(
        open_text(room.signal_key(), &room_id, "a", "c", &blob),
        Err(SealError::WrongKey)
    );
}

#[test]
fn a_wrong_password_leads_to_another_room_and_unreadable_signaling() {
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let room = Room::create(&mut rng, None, Some("the right password")).expect("valid");
    let guess = Room::from_invite(&room.invite(), Some("a wrong password")).expect("derives");
    assert_ne!(guess.id(), room.id());
    let blob =
        seal_to_text(room.signal_key(), &mut rng, &room.id(), "a", "b", b"offer").expect("seals");
    assert_eq!(
        open_text(guess.signal_key(), &room.id(), "a", "b", &blob),
        Err(SealError::WrongKey)
    );
}

#[test]
fn an_attacker_who_swaps_certificates_is_caught_by_the_hello_and_safety_numbers() {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let alice = Identity::generate(&mut rng);
    let bob = Identity::generate(&mut rng);
    let mallory = Identity::generate(&mut rng);
    let room = natter_core::room::RoomId([3; 32]);

    // Mallory terminates DTLS towards Bob with her own certificate and relays Alice's hello.
    let alice_ctx =
        HelloContext::new(room, ALICE_FP, MALLORY_FP, "sa", "sb").expect("valid context");
    let bob_ctx = HelloContext::new(room, BOB_FP, MALLORY_FP, "sb", "sa").expect("valid");
    let relayed = Hello::new(&alice, "Alice", &alice_ctx).expect("valid");
    assert_eq!(
        relayed.verify(&bob_ctx),
        Err(HelloError::SenderFingerprintMismatch)
    );

    // If she signs with her own key instead, the hello verifies but the safety number that
    // Bob compares with Alice out of band does not match.
    let own = Hello::new(&mallory, "Alice", &bob_ctx.reversed()).expect("valid");
    assert_eq!(own.verify(&bob_ctx), Ok(()));
    let at_bob = SafetyNumber::new(&bob.public(), own.identity());
    let at_alice = SafetyNumber::new(&alice.public(), &bob.public());
    assert_ne!(at_bob, at_alice);
    assert_eq!(
        at_alice.verify_qr(&at_bob.qr_payload()),
        Err(SafetyNumberError::Mismatch)
    );
}
