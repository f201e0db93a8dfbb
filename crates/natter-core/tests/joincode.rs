//! Join codes: the code's text form, the PAKE exchange between an inviter and a joiner over
//! a stand-in mailbox, golden vectors, and what a wrong code, a replay or a forged
//! confirmation get.

use natter_core::joincode::{Code, CodeError, Failure, Gift, Session, Status};
use natter_core::room::{Room, RoomSecret};
use natter_core::signal::{ClientMessage, CodeEnd, ServerMessage, MAX_CODE_TRIES};
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn gift(password: bool) -> Gift {
    let room = Room::from_parts(
        RoomSecret::from_bytes([9; 32]),
        Some("Book club"),
        password.then(|| natter_core::room::PasswordKey::from_bytes([5; 32])),
    )
    .expect("a valid room");
    Gift {
        invite: room.invite(),
        password_key: room.password_key().cloned(),
        retention: natter_core::retention::Retention::All,
    }
}

/// Every message a session has queued.
fn drain(s: &mut Session) -> Vec<ClientMessage<'static>> {
    std::iter::from_fn(|| s.poll_message()).collect()
}

/// An inviter whose mailbox 42 the server has opened.
fn opened_inviter(gift: Gift, seed: u64) -> (Session, Code) {
    let mut inviter = Session::invite(gift, 60_000);
    assert_eq!(
        drain(&mut inviter),
        vec![ClientMessage::CodeOpen { ttl_ms: 60_000 }]
    );
    inviter.handle(
        &ServerMessage::CodeOpened {
            mailbox: 42,
            expires_in_ms: 60_000,
        },
        &mut rng(seed),
    );
    let code = inviter.code().expect("a code once the mailbox is open");
    assert_eq!(code.mailbox(), 42);
    assert_eq!(
        inviter.status(),
        &Status::Waiting {
            tries_left: MAX_CODE_TRIES
        }
    );
    (inviter, code)
}

/// The blob of a claim or a send.
fn blob_of(msg: &ClientMessage<'_>) -> Option<String> {
    match msg {
        ClientMessage::CodeClaim { blob, .. } | ClientMessage::CodeSend { blob, .. } => {
            Some(blob.to_string())
        }
        _ => None,
    }
}

fn relayed(blob: &str) -> ServerMessage<'static> {
    ServerMessage::CodeMessage {
        mailbox: 42,
        blob: blob.to_owned().into(),
    }
}

/// Relays between the two sessions the way the server does until neither has anything
/// to say; returns every blob sent, in order.
fn exchange(inviter: &mut Session, joiner: &mut Session, seed: u64) -> Vec<String> {
    let mut r = rng(seed);
    let mut blobs = Vec::new();
    for _ in 0..8 {
        let from_joiner = drain(joiner);
        let from_inviter_before = drain(inviter);
        for m in &from_inviter_before {
            if let Some(b) = blob_of(m) {
                blobs.push(b.clone());
                joiner.handle(&relayed(&b), &mut r);
            }
        }
        if from_joiner.is_empty() && from_inviter_before.is_empty() {
            break;
        }
        for m in &from_joiner {
            if let Some(b) = blob_of(m) {
                blobs.push(b.clone());
                inviter.handle(&relayed(&b), &mut r);
            }
        }
    }
    blobs
}

#[test]
fn codes_read_as_typed_and_print_in_groups() {
    let c = Code::parse("42-123-456").expect("a code");
    assert_eq!(c.mailbox(), 42);
    assert_eq!(c.to_string(), "42-123-456");
    for typed in ["42 123 456", " 42123456 ", "42–123–456", "4 2 1 2 3 4 5 6"] {
        assert_eq!(Code::parse(typed), Ok(c), "{typed}");
    }
    let long = Code::parse("99999 000 001").expect("a five-digit mailbox");
    assert_eq!(long.mailbox(), 99_999);
    assert_eq!(long.to_string(), "99999-000-001");
    assert_eq!(Code::parse(""), Err(CodeError::Empty));
    assert_eq!(Code::parse(" - "), Err(CodeError::Empty));
    assert_eq!(Code::parse("4212345"), Err(CodeError::WrongLength(7)));
    assert_eq!(Code::parse("123456789012"), Err(CodeError::WrongLength(12)));
    assert_eq!(
        Code::parse(&"1".repeat(10_000)),
        Err(CodeError::WrongLength(13))
    );
    assert_eq!(Code::parse("02-123-456"), Err(CodeError::LeadingZero));
    assert_eq!(Code::parse("42-123-45a"), Err(CodeError::NotDigits));
    assert_eq!(
        Code::parse("https://natter.example/#/join/x"),
        Err(CodeError::NotDigits)
    );
    // The secret stays out of debug output.
    assert_eq!(format!("{c:?}"), "Code(42-…)");
}

#[test]
fn generated_codes_have_six_digits_and_a_valid_mailbox() {
    let mut r = rng(1);
    for mailbox in [10, 99, 100, 99_999] {
        let c = Code::generate(mailbox, &mut r).expect("in range");
        assert_eq!(Code::parse(&c.to_string()), Ok(c));
    }
    assert_eq!(Code::generate(9, &mut r), Err(CodeError::BadMailbox));
    assert_eq!(Code::generate(100_000, &mut r), Err(CodeError::BadMailbox));
}

#[test]
fn the_right_code_hands_over_the_invite_and_the_joiners_name() {
    for password in [false, true] {
        let g = gift(password);
        let (mut inviter, code) = opened_inviter(g.clone(), 2);
        let mut joiner = Session::join(code, "Bob", &mut rng(3));
        assert_eq!(joiner.status(), &Status::Checking);
        let blobs = exchange(&mut inviter, &mut joiner, 4);
        assert_eq!(blobs.len(), 4, "claim, answer, confirmation, gift");
        assert_eq!(
            inviter.status(),
            &Status::Joined {
                name: Some("Bob".into())
            }
        );
        assert_eq!(joiner.status(), &Status::Invited(g));
        // The inviter closed its mailbox after the gift; the joiner has nothing to say.
        assert!(drain(&mut joiner).is_empty());
    }
}

#[test]
fn a_wrong_code_fails_in_words_gives_the_try_back_and_reveals_nothing() {
    let g = gift(false);
    let (mut inviter, code) = opened_inviter(g.clone(), 5);
    let typo = Code::parse(&format!(
        "{}{}",
        code.mailbox(),
        code.to_string()
            .split_once('-')
            .map(|(_, s)| s.replace('-', ""))
            .map(|s| {
                let n: u32 = s.parse().unwrap_or(0);
                format!("{:06}", (n + 1) % 1_000_000)
            })
            .unwrap_or_default()
    ))
    .expect("a code");
    assert_ne!(typo, code);
    let mut joiner = Session::join(typo, "Mallory", &mut rng(6));
    let claim = drain(&mut joiner);
    let mut r = rng(7);
    inviter.handle(&relayed(&blob_of(&claim[0]).unwrap_or_default()), &mut r);
    assert_eq!(inviter.status(), &Status::Claimed);
    let answer = drain(&mut inviter);
    assert_eq!(answer.len(), 1);
    joiner.handle(&relayed(&blob_of(&answer[0]).unwrap_or_default()), &mut r);
    assert_eq!(joiner.status(), &Status::Failed(Failure::WrongCode));
    assert_eq!(
        Failure::WrongCode.to_string(),
        "That code didn't match — check it and try again."
    );
    // The joiner only gives its try back; nothing keyed by the wrong code is sent.
    assert_eq!(
        drain(&mut joiner),
        vec![ClientMessage::CodeClose { mailbox: 42 }]
    );
    // The server tells the inviter another may try.
    inviter.handle(
        &ServerMessage::CodeWaiting {
            mailbox: 42,
            tries_left: 2,
        },
        &mut r,
    );
    assert_eq!(inviter.status(), &Status::Waiting { tries_left: 2 });
    // And the right code still works afterwards.
    let mut friend = Session::join(code, "", &mut rng(8));
    exchange(&mut inviter, &mut friend, 9);
    assert_eq!(inviter.status(), &Status::Joined { name: None });
    assert_eq!(friend.status(), &Status::Invited(g));
}

#[test]
fn tries_used_up_and_expiry_end_the_inviters_code() {
    let (mut inviter, _) = opened_inviter(gift(false), 10);
    let mut r = rng(11);
    for left in (1..MAX_CODE_TRIES).rev() {
        inviter.handle(
            &ServerMessage::CodeWaiting {
                mailbox: 42,
                tries_left: left,
            },
            &mut r,
        );
        assert_eq!(inviter.status(), &Status::Waiting { tries_left: left });
    }
    inviter.handle(
        &ServerMessage::CodeClosed {
            mailbox: 42,
            reason: CodeEnd::Burned,
        },
        &mut r,
    );
    assert_eq!(inviter.status(), &Status::Failed(Failure::Burned));
    let (mut other, _) = opened_inviter(gift(false), 12);
    other.handle(
        &ServerMessage::CodeClosed {
            mailbox: 42,
            reason: CodeEnd::Expired,
        },
        &mut r,
    );
    assert_eq!(other.status(), &Status::Failed(Failure::Expired));
    // A closed mailbox of another number is not ours.
    let (mut third, _) = opened_inviter(gift(false), 13);
    third.handle(
        &ServerMessage::CodeClosed {
            mailbox: 43,
            reason: CodeEnd::Expired,
        },
        &mut r,
    );
    assert!(!third.status().is_over());
}

#[test]
fn the_servers_refusals_reach_the_joiner_in_words() {
    let code = Code::parse("42-000-001").expect("a code");
    let cases = [
        (
            natter_core::signal::ErrorCode::NoSuchCode,
            Failure::NoSuchCode,
        ),
        (natter_core::signal::ErrorCode::CodeBusy, Failure::Busy),
        (
            natter_core::signal::ErrorCode::TooManyTries,
            Failure::TooManyTries,
        ),
    ];
    for (error, failure) in cases {
        let mut joiner = Session::join(code, "Bob", &mut rng(14));
        drain(&mut joiner);
        joiner.handle(
            &ServerMessage::Error {
                code: error,
                message: "no".into(),
                room: None,
                retry_after_ms: None,
            },
            &mut rng(15),
        );
        assert_eq!(joiner.status(), &Status::Failed(failure));
    }
}

#[test]
fn a_replayed_answer_fails_against_a_new_joiner() {
    // An eavesdropper records a successful exchange and replays the inviter's answer to a
    // later joiner with the same code: fresh randomness makes the confirmation fail.
    let (mut inviter, code) = opened_inviter(gift(false), 16);
    let mut joiner = Session::join(code, "Bob", &mut rng(17));
    let blobs = exchange(&mut inviter, &mut joiner, 18);
    let mut later = Session::join(code, "Bob", &mut rng(19));
    drain(&mut later);
    later.handle(&relayed(&blobs[1]), &mut rng(20));
    assert_eq!(later.status(), &Status::Failed(Failure::WrongCode));
    // Replaying the joiner's claim and confirmation to a new inviter session with the same
    // code gets no gift: the inviter's fresh randomness changes the key.
    let (mut inviter2, _) = opened_inviter(gift(false), 16);
    let mut r = rng(21);
    inviter2.handle(&relayed(&blobs[0]), &mut r);
    drain(&mut inviter2);
    inviter2.handle(&relayed(&blobs[2]), &mut r);
    assert_eq!(inviter2.status(), &Status::Failed(Failure::Protocol));
    assert_eq!(
        drain(&mut inviter2),
        vec![ClientMessage::CodeClose { mailbox: 42 }],
        "the inviter closes without sending the gift"
    );
}

#[test]
fn a_forged_confirmation_gets_no_gift() {
    let (mut inviter, code) = opened_inviter(gift(false), 22);
    let mut joiner = Session::join(code, "Bob", &mut rng(23));
    let mut r = rng(24);
    let claim = drain(&mut joiner);
    inviter.handle(&relayed(&blob_of(&claim[0]).unwrap_or_default()), &mut r);
    let answer = drain(&mut inviter);
    joiner.handle(&relayed(&blob_of(&answer[0]).unwrap_or_default()), &mut r);
    let confirm = blob_of(&drain(&mut joiner)[0]).unwrap_or_default();
    // Flip one character of the confirmation.
    let mut forged: Vec<char> = confirm.chars().collect();
    forged[5] = if forged[5] == 'A' { 'B' } else { 'A' };
    let forged: String = forged.into_iter().collect();
    inviter.handle(&relayed(&forged), &mut r);
    assert_eq!(inviter.status(), &Status::Failed(Failure::Protocol));
    assert_eq!(
        drain(&mut inviter),
        vec![ClientMessage::CodeClose { mailbox: 42 }]
    );
}

#[test]
fn golden_vectors() {
    // Fixed randomness: the code, every blob and the key schedule are pinned, so a second
    // implementation can check itself against these.
    let (mut inviter, code) = opened_inviter(gift(true), 100);
    assert_eq!(code.to_string(), GOLDEN_CODE);
    let mut joiner = Session::join(code, "Bob", &mut rng(101));
    let blobs = exchange(&mut inviter, &mut joiner, 102);
    assert_eq!(blobs, GOLDEN_BLOBS);
}

const GOLDEN_CODE: &str = "42-735-604";
const GOLDEN_BLOBS: [&str; 4] = [
    "AQFCJDvU49KsHyyD5RUPEEjFEMH8SUUsFgpgss5aj6KyKS4",
    "AQJBA9_Xhc13AM01mnATE3oNvybIh5t0IblS8nmAcN5hur-iJH2PsiDC3cpRbC3QGJPKzI1MiRF6n8RjEKkPvVfIhg",
    "AQP7gQ7iht_NtIe6FTUamdLNvtXg98tfW01BO-PS71RSaFyEg0fK0WenNSGOjCTtQOe3Pzo",
    "AQQl-g4P4R0_7YuZH-aFsqMYYlLaupidF5dg4VPeiKSPWCIDOgJqU6A-SnU4xdYBZCch5LVKt5RHcPmIt_H-58sljOx8RTNH9ggCfkk5HE0i6T_iR6kcFWmc7JiLflGUfzCVgIoKNl97Pmse6M4",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_blob_at_any_step_is_refused_without_a_panic(
        garbage in proptest::collection::vec(any::<u8>(), 0..200),
        text in ".{0,300}",
        step in 0usize..3,
    ) {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&garbage);
        for blob in [encoded.as_str(), text.as_str()] {
            let (mut inviter, code) = opened_inviter(gift(false), 30);
            let mut joiner = Session::join(code, "Bob", &mut rng(31));
            let mut r = rng(32);
            // Advance the honest exchange by `step` messages first.
            let claim = blob_of(&drain(&mut joiner)[0]).unwrap_or_default();
            if step >= 1 {
                inviter.handle(&relayed(&claim), &mut r);
                let answer = blob_of(&drain(&mut inviter)[0]).unwrap_or_default();
                if step >= 2 {
                    joiner.handle(&relayed(&answer), &mut r);
                    drain(&mut joiner);
                }
            }
            inviter.handle(&relayed(blob), &mut r);
            joiner.handle(&relayed(blob), &mut r);
            let joined = matches!(inviter.status(), Status::Joined { .. });
            let invited = matches!(joiner.status(), Status::Invited(_));
            prop_assert!(!joined && !invited);
        }
    }
}
