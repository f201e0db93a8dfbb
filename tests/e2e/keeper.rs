//! The keeper: a native peer (natter-keeper, a real process) that keeps a room's history
//! when no member is online.

use std::time::Duration;

use natter_e2e::app::DELIVERY_TIMEOUT;
use natter_e2e::keeper::Keeper;
use natter_e2e::runner::Ctx;
use natter_e2e::wait::{never_during, wait_until};
use natter_e2e::{Context, TestResult};

use crate::setup::{authored_by, user};

/// Alice has the keeper keep her room, writes while nobody else is there and closes her
/// browser; Bob opens the invite later, with only the keeper online, and gets Alice's
/// messages, shown as Alice's and as delivered via the keeper. Carol then joins and writes
/// to Bob directly: hers is not marked so.
pub async fn keeper_serves_a_late_joiner(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let data = tempfile::tempdir().ctx("creating the keeper's directory")?;
    let keeper = Keeper::start(&base, data.path()).await?;
    let result = async {
        let alice = user(&ctx, &base, "alice", "Alice").await?;
        let room = alice.create_named_room("Kept room").await?;
        alice.keep_room(&keeper.key).await?;
        alice
            .wait_for_peer("Keeper", "online", DELIVERY_TIMEOUT)
            .await?;
        let peers = alice.peers().await?;
        if !peers
            .iter()
            .any(|p| p.contains("Keeper") && p.matches("Keeper").count() >= 2)
        {
            return Err(format!(
                "the keeper has no Keeper badge among Alice's peers: {peers:?}"
            ));
        }
        alice.screenshot("keeper-kept").await?;
        let tokens = ["[A1]", "[A2]"];
        alice.post("[A1] written while alone").await?;
        alice.post("[A2] the keeper holds it").await?;
        delivered_to_one(&alice, "[A2]").await?;
        alice.quit().await?;

        let bob = user(&ctx, &base, "bob", "Bob").await?;
        bob.join(&room.link).await?;
        bob.wait_for_messages(&tokens, DELIVERY_TIMEOUT).await?;
        authored_by(&bob, &tokens, "Alice").await?;
        shown_via_keeper(&bob, &tokens, true).await?;
        bob.screenshot("keeper-late-joiner").await?;

        let carol = user(&ctx, &base, "carol", "Carol").await?;
        carol.join(&room.link).await?;
        carol
            .wait_for_peer("Bob", "online", DELIVERY_TIMEOUT)
            .await?;
        bob.wait_for_peer("Carol", "online", DELIVERY_TIMEOUT)
            .await?;
        carol.post("[C1] straight to Bob").await?;
        bob.wait_for_messages(&["[C1]"], DELIVERY_TIMEOUT).await?;
        shown_via_keeper(&bob, &["[C1]"], false).await?;
        shown_via_keeper(&bob, &tokens, true).await?;
        Ok(())
    }
    .await;
    result.map_err(|e: String| format!("{e}\n--- keeper log ---\n{}", keeper.tail(80)))
}

/// Alice has the keeper keep her room, writes, then presses "Stop keeping": the keeper
/// leaves the room and deletes everything it stored of it (seen in its store after it is
/// stopped), while a room it still keeps stays.
pub async fn stopping_the_keeper_deletes_its_copy(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let data = tempfile::tempdir().ctx("creating the keeper's directory")?;
    let other = natter_e2e::history::generate(2, Some("Carol"))?;
    fill_store(data.path(), &other)?;
    let keeper = Keeper::start(&base, data.path()).await?;
    let result = async {
        let alice = user(&ctx, &base, "alice", "Alice").await?;
        let room = alice.create_named_room("Kept for a while").await?;
        alice.keep_room(&keeper.key).await?;
        alice
            .wait_for_peer("Keeper", "online", DELIVERY_TIMEOUT)
            .await?;
        alice.post("[A1] kept for now").await?;
        delivered_to_one(&alice, "[A1]").await?;
        alice.stop_keeping("Keeper").await?;
        keeper
            .wait_for_log("deleted the room and its history", DELIVERY_TIMEOUT)
            .await?;
        alice.screenshot("keeper-stopped").await?;
        Ok(room)
    }
    .await;
    let room =
        result.map_err(|e: String| format!("{e}\n--- keeper log ---\n{}", keeper.tail(80)))?;
    keeper.kill().await?;
    let store = natter_keeper::store::Store::open(&data.path().join("keeper.redb"))
        .map_err(|e| e.to_string())?;
    let kept = store.load().map_err(|e| e.to_string())?;
    let room_id = natter_core::room::Invite::parse(&room.link)
        .ok()
        .and_then(|i| natter_core::room::Room::from_invite(&i, None).ok())
        .map(|r| r.id())
        .ok_or("Alice's invite link does not parse")?;
    if kept.iter().any(|r| r.room.id() == room_id) {
        return Err("the keeper still stores the room it was stopped from keeping".into());
    }
    if !kept
        .iter()
        .any(|r| r.room.id() == other.room.id() && r.history.len() >= other.records.len())
    {
        return Err("the keeper lost another room it still keeps".into());
    }
    Ok(())
}

/// Alice has the keeper keep her room and attaches a picture; once the keeper says it holds
/// a file whole, Alice quits. Bob joins later with only the keeper online, sees the whole
/// picture and saves it byte for byte. The keeper's store, read after it is stopped, holds
/// that one file whole.
pub async fn keeper_keeps_a_photo_for_a_late_joiner(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let data = tempfile::tempdir().ctx("creating the keeper's directory")?;
    let keeper = Keeper::start(&base, data.path()).await?;
    let result = async {
        let alice = user(&ctx, &base, "alice", "Alice").await?;
        let room = alice.create_named_room("Kept photos").await?;
        alice.keep_room(&keeper.key).await?;
        alice
            .wait_for_peer("Keeper", "online", DELIVERY_TIMEOUT)
            .await?;
        let sent = alice.attach_image("beach.png", 400, 300, 7).await?;
        keeper
            .wait_for_log("holds a file whole", DELIVERY_TIMEOUT)
            .await?;
        alice.quit().await?;

        let bob = user(&ctx, &base, "bob", "Bob").await?;
        bob.join(&room.link).await?;
        crate::files::wait_for_image(&bob, "beach.png", (400, 300), &sent.hash).await?;
        bob.screenshot("keeper-photo").await?;
        Ok(sent)
    }
    .await;
    let sent =
        result.map_err(|e: String| format!("{e}\n--- keeper log ---\n{}", keeper.tail(80)))?;
    keeper.kill().await?;
    let store = natter_keeper::store::Store::open(&data.path().join("keeper.redb"))
        .map_err(|e| e.to_string())?;
    let files = store.files().map_err(|e| e.to_string())?;
    match files.as_slice() {
        [f] if f.len == sent.size && f.held.iter().all(|h| *h) => Ok(()),
        _ => Err(format!(
            "the keeper's store should hold the {}-byte picture whole, holds {:?}",
            sent.size,
            files
                .iter()
                .map(|f| (f.len, f.held.iter().filter(|h| **h).count()))
                .collect::<Vec<_>>()
        )),
    }
}

/// Messages Carol wrote before Alice asks the keeper to hold only the newest 100 entries.
const RETAINED_POSTS: usize = 300;

/// The keeper holds 300 messages of Carol's (and her name). Alice joins with only the
/// keeper online, and asks it to keep the room with "The newest 100 entries": it drops the
/// rest at once, so its store holds exactly the 100 newest entries of the room (Carol's
/// newest messages and name, its own name, Alice's name and the entry naming it keeper),
/// with Carol's chain cut below her oldest kept one. Bob, joining later with only the
/// keeper online, gets those newest messages as Carol's and nothing older, and the keeper
/// fetches nothing it dropped back from him.
pub async fn keeper_holds_the_newest_entries_it_was_asked_to(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let data = tempfile::tempdir().ctx("creating the keeper's directory")?;
    let history = natter_e2e::history::generate(RETAINED_POSTS, Some("Carol"))?;
    fill_store(data.path(), &history)?;
    let keeper = Keeper::start(&base, data.path()).await?;
    let room_hex = history.room.id().to_hex();
    let last = history.last_text();
    let result = async {
        let alice = user(&ctx, &base, "alice", "Alice").await?;
        alice.join(&history.room.invite_link(&base)).await?;
        alice.wait_for_message(&last, DELIVERY_TIMEOUT).await?;
        alice
            .keep_room_with(&keeper.key, Some("The newest 100 entries"))
            .await?;
        keeper
            .wait_for_log("dropped by retention", DELIVERY_TIMEOUT)
            .await?;
        alice.quit().await?;

        let bob = user(&ctx, &base, "bob", "Bob").await?;
        bob.join(&history.room.invite_link(&base)).await?;
        bob.wait_for_message(&last, DELIVERY_TIMEOUT).await?;
        authored_by(&bob, &[&last], "Carol").await?;
        let bob_ref = &bob;
        let (room_ref, author) = (&room_hex, &history.author_hex);
        // Carol's kept entries: what Bob stores of hers once the catch-up is quiet.
        let mut carol = 0;
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            carol = stored_of(bob_ref, room_ref, author).await?;
        }
        let first = natter_e2e::history::text(0);
        if bob.messages().await?.iter().any(|m| m.text == first) {
            return Err("Bob shows Carol's first message, which the keeper dropped".into());
        }
        // He is told that older messages exist and will come.
        bob.wait_for_text(
            "log",
            "Messages",
            |t| t.contains("Older messages are not on this device yet"),
            DELIVERY_TIMEOUT,
        )
        .await?;
        bob.screenshot("keeper-retention").await?;
        Ok(carol)
    }
    .await;
    let bob_holds =
        result.map_err(|e: String| format!("{e}\n--- keeper log ---\n{}", keeper.tail(80)))?;
    keeper.kill().await?;
    let store = natter_keeper::store::Store::open(&data.path().join("keeper.redb"))
        .map_err(|e| e.to_string())?;
    let kept = store.load().map_err(|e| e.to_string())?;
    let room = kept
        .iter()
        .find(|r| r.room.id() == history.room.id())
        .ok_or("the keeper no longer stores the room")?;
    if room.history.len() != 100 {
        return Err(format!(
            "the keeper holds {} entries of the room, not the newest 100",
            room.history.len()
        ));
    }
    if room.retention != natter_core::retention::Retention::Entries(100) {
        return Err(format!("the keeper stored {:?}", room.retention));
    }
    // Carol's held entries are the top of her chain: her name and newest messages.
    let carol_key = history.records[0].entry.author;
    let mut seqs: Vec<u64> = room
        .history
        .iter()
        .filter(|r| r.entry.author == carol_key)
        .map(|r| r.entry.seq)
        .collect();
    seqs.sort_unstable();
    let top = history.records.len() as u64;
    let want: Vec<u64> = (top + 1 - seqs.len() as u64..=top).collect();
    if seqs != want || seqs.len() < 90 {
        return Err(format!("the keeper holds Carol's entries {seqs:?}"));
    }
    // Every other entry the keeper holds is newer than Carol's oldest kept one, and the
    // names Alice and Bob posted as they joined (before they had the history) are kept.
    let oldest = room
        .history
        .iter()
        .filter(|r| r.entry.author == carol_key)
        .map(|r| r.entry.wall_ms)
        .min()
        .ok_or("none of Carol's")?;
    if room.history.iter().any(|r| r.entry.wall_ms < oldest) {
        return Err("the keeper kept an entry older than one it dropped".into());
    }
    let names = room
        .history
        .iter()
        .filter(|r| matches!(r.entry.body, natter_core::log::Body::Profile { .. }))
        .count();
    if names < 4 {
        return Err(format!(
            "the keeper holds {names} names, not Carol's, Alice's, Bob's and its own"
        ));
    }
    // Where Carol's chain was cut is stored, with the id of the last entry dropped, and
    // nothing else was cut.
    let cut = top - seqs.len() as u64;
    let carol_floor = (carol_key, cut, history.records[(cut - 1) as usize].id);
    if room.floors != vec![carol_floor] {
        return Err(format!("the keeper's floors: {:?}", room.floors));
    }
    // Bob took what the keeper held when he joined: one of Carol's more, if his own name
    // reached the keeper (and cut one of hers) after he was served.
    if bob_holds != seqs.len() && bob_holds != seqs.len() + 1 {
        return Err(format!(
            "Bob stored {bob_holds} of Carol's entries; the keeper holds {}",
            seqs.len()
        ));
    }
    Ok(())
}

/// A keeper's store holding `history`, in the directory `data`.
fn fill_store(data: &std::path::Path, history: &natter_e2e::history::History) -> TestResult {
    let store =
        natter_keeper::store::Store::open(&data.join("keeper.redb")).map_err(|e| e.to_string())?;
    store.save_room(&history.room).map_err(|e| e.to_string())?;
    store
        .store(&history.room.id(), &history.records)
        .map_err(|e| e.to_string())
}

/// How many of `author`'s entries `b` stored in `room`.
async fn stored_of(
    b: &natter_e2e::browser::Browser,
    room: &str,
    author: &str,
) -> TestResult<usize> {
    let dump = natter_e2e::idb::dump(b).await?;
    Ok(dump
        .entries_of(room)
        .iter()
        .filter(|r| {
            r["key"]["bytes"]
                .as_str()
                .is_some_and(|d| d.contains(author))
        })
        .count())
}

/// A modified keeper breaks the signature of every entry it serves: Bob, with only that
/// keeper online, is told in words, drops it, and neither shows nor stores any of it.
pub async fn tampering_keeper_is_refused(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let data = tempfile::tempdir().ctx("creating the keeper's directory")?;
    let history = natter_e2e::history::generate(3, Some("Alice"))?;
    fill_store(data.path(), &history)?;
    let keeper = Keeper::start_tampering(&base, data.path()).await?;
    let result = async {
        let bob = user(&ctx, &base, "bob", "Bob").await?;
        bob.join(&history.room.invite_link(&base)).await?;
        bob.wait_for_alert(
            "about the keeper's bad entries",
            crate::tamper::names_the_misbehaviour,
            DELIVERY_TIMEOUT,
        )
        .await?;
        let bob_ref = &bob;
        never_during(Duration::from_secs(3), move || async move {
            let shown = bob_ref.messages().await?;
            Ok(shown
                .iter()
                .any(|m| m.text.contains("history 0"))
                .then(|| format!("Bob shows what the tampering keeper sent: {shown:?}")))
        })
        .await?;
        let stored = stored_of(&bob, &history.room.id().to_hex(), &history.author_hex).await?;
        if stored != 0 {
            return Err(format!(
                "Bob stored {stored} entries the keeper tampered with"
            ));
        }
        bob.screenshot("keeper-tampering").await?;
        Ok(())
    }
    .await;
    result.map_err(|e: String| format!("{e}\n--- keeper log ---\n{}", keeper.tail(80)))
}

/// Fails unless the keeper's last start loaded one room with at least `n` entries.
fn loaded_at_least(keeper: &Keeper, n: usize) -> TestResult {
    let log = keeper.log();
    let entries = log
        .lines()
        .rev()
        .find(|l| l.contains("loaded the store"))
        .and_then(|l| l.split("entries=").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse::<usize>().ok())
        .ok_or_else(|| {
            format!(
                "the keeper did not say what it loaded:\n{}",
                keeper.tail(20)
            )
        })?;
    if entries < n {
        return Err(format!(
            "the keeper loaded {entries} entries, it held at least {n}"
        ));
    }
    Ok(())
}

/// Entries in the history the keeper holds for the kill test.
const KILL_HISTORY: usize = 20_000;

/// The keeper holds a long history of Alice's; Bob joins with only the keeper online, and
/// the keeper is killed (SIGKILL) while it serves him. Started again on the same store, it
/// has every entry, and Bob's catch-up completes.
pub async fn keeper_killed_mid_catch_up(ctx: Ctx) -> TestResult {
    let base = ctx.base_url();
    let data = tempfile::tempdir().ctx("creating the keeper's directory")?;
    let history = natter_e2e::history::generate(KILL_HISTORY, Some("Alice"))?;
    fill_store(data.path(), &history)?;
    let keeper = Keeper::start(&base, data.path()).await?;
    let held = history.records.len();
    loaded_at_least(&keeper, held)?;

    let bob = user(&ctx, &base, "bob", "Bob").await?;
    bob.join(&history.room.invite_link(&base)).await?;
    keeper
        .wait_for_log("channel open", DELIVERY_TIMEOUT)
        .await?;
    keeper.kill().await?;

    let keeper = Keeper::start(&base, data.path()).await?;
    let result = async {
        // Everything it held before the kill (the history, its own profile and whatever of
        // Bob's it stored) is there after it.
        loaded_at_least(&keeper, held + 1)?;
        let last = history.last_text();
        bob.wait_for_message(&last, DELIVERY_TIMEOUT)
            .await
            .map_err(|e| e.chars().take(600).collect::<String>())?;
        authored_by(&bob, &[&last], "Alice")
            .await
            .map_err(|e| e.chars().take(600).collect::<String>())?;
        let want = history.records.len();
        let bob_ref = &bob;
        let room_hex = history.room.id().to_hex();
        let (room_hex, author) = (&room_hex, &history.author_hex);
        wait_until(
            "Bob to store every entry of Alice's",
            DELIVERY_TIMEOUT,
            move || async move {
                Ok((stored_of(bob_ref, room_hex, author).await? == want).then_some(()))
            },
        )
        .await?;
        Ok(())
    }
    .await;
    result.map_err(|e: String| format!("{e}\n--- keeper log ---\n{}", keeper.tail(80)))
}

/// Alice lets her browser use nothing but a TURN relay (coturn, in the namespace): she still
/// reaches the keeper, through the relay, and what she writes reaches it.
pub async fn keeper_through_a_relay_only(ctx: Ctx) -> TestResult {
    let coturn = natter_e2e::turn::Coturn::start().await?;
    let base = ctx.base_url();
    let data = tempfile::tempdir().ctx("creating the keeper's directory")?;
    let alice = user(&ctx, &base, "alice", "Alice").await?;
    alice
        .save_ice_settings(
            &base,
            &[&coturn.url()],
            natter_e2e::turn::USERNAME,
            natter_e2e::turn::CREDENTIAL,
            true,
        )
        .await?;
    alice.open_home(&base).await?;
    let room = alice.create_named_room("Relayed keeper").await?;
    let keeper = Keeper::start_with(&base, data.path(), &["--keep", &room.link]).await?;
    let result = async {
        alice
            .wait_for_peer("Keeper", "online", DELIVERY_TIMEOUT)
            .await?;
        crate::relay::relayed_ends(&alice, false).await?;
        alice.post("[A1] through the relay to the keeper").await?;
        keeper
            .wait_for_log("stored room=", DELIVERY_TIMEOUT)
            .await?;
        delivered_to_one(&alice, "[A1]").await
    }
    .await;
    result.map_err(|e: String| {
        format!(
            "{e}\n--- keeper log ---\n{}\n--- coturn log ---\n{}",
            keeper.tail(40),
            coturn
                .log()
                .lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

/// What a message delivered by the keeper (named "Keeper") says of it.
const VIA_KEEPER: &str = "via keeper Keeper";

/// Waits until `b` shows a message for each of `tokens`, each saying it was delivered via
/// the keeper (`via`) or each saying it of no keeper at all.
async fn shown_via_keeper(
    b: &natter_e2e::browser::Browser,
    tokens: &[&str],
    via: bool,
) -> TestResult {
    // Marked as the keeper's, or (when it must not be) as any keeper's.
    let marked = move |text: &str| {
        if via {
            text.contains(VIA_KEEPER)
        } else {
            text.contains("via keeper")
        }
    };
    let result = wait_until(
        &format!(
            "{}: {tokens:?} shown {}",
            b.name,
            if via {
                format!("with \"{VIA_KEEPER}\"")
            } else {
                "with no \"via keeper\" note".into()
            }
        ),
        DELIVERY_TIMEOUT,
        move || async move {
            let shown = b.messages().await?;
            Ok(tokens
                .iter()
                .all(|t| {
                    shown
                        .iter()
                        .any(|m| m.text.contains(t) && marked(&m.text) == via)
                })
                .then_some(()))
        },
    )
    .await;
    if let Err(e) = result {
        let shown = b.messages().await.unwrap_or_default();
        return Err(format!("{e}; the log shows {shown:?}"));
    }
    Ok(())
}

/// Waits until `b`'s own message containing `token` says it was delivered to one peer.
async fn delivered_to_one(b: &natter_e2e::browser::Browser, token: &str) -> TestResult {
    wait_until(
        &format!("{}'s {token} to say \"delivered to 1 peer\"", b.name),
        DELIVERY_TIMEOUT,
        move || async move {
            let shown = b.messages().await?;
            Ok(shown
                .iter()
                .any(|m| m.text.contains(token) && m.text.contains("delivered to 1 peer"))
                .then_some(()))
        },
    )
    .await
}
