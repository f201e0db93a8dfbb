//! Every end-to-end test, run in real headless Chromium against the real server, inside a
//! private network namespace. `./x test` builds the app first; run alone with
//! `cargo test -p natter-e2e` after `trunk build --release`, or one test with
//! `cargo test -p natter-e2e -- password_room`.

mod access;
mod chat;
mod codes;
mod comfort;
mod consent;
mod embed;
mod ephemeral;
mod files;
mod foundation;
mod keeper;
mod lock;
mod messages;
mod offline;
mod password;
mod pwa;
mod relay;
mod server_loss;
mod setup;
mod tabs;
mod tamper;
mod verification;

/// `(name, body)` pairs for the runner; the name is the function's.
macro_rules! tests {
    ($($module:ident :: $test:ident),* $(,)?) => {
        vec![$((
            stringify!($test),
            (|c| Box::pin($module::$test(c))) as natter_e2e::runner::TestFn,
        )),*]
    };
}

fn main() {
    natter_e2e::runner::run(tests![
        foundation::server_answers_healthz,
        foundation::app_loads_without_console_errors_and_shows_home,
        chat::a_and_b_chat_in_the_same_order,
        chat::history_survives_reload,
        offline::late_joiner_syncs_from_b_alone,
        offline::offline_post_is_delivered_later,
        keeper::keeper_serves_a_late_joiner,
        keeper::keeper_killed_mid_catch_up,
        keeper::tampering_keeper_is_refused,
        keeper::keeper_through_a_relay_only,
        keeper::stopping_the_keeper_deletes_its_copy,
        keeper::keeper_keeps_a_photo_for_a_late_joiner,
        keeper::keeper_holds_the_newest_entries_it_was_asked_to,
        password::password_room,
        password::a_stranger_in_the_lobby_costs_the_joiner_nothing,
        server_loss::server_killed_mid_chat,
        ephemeral::ephemeral_room_leaves_no_trace,
        files::a_photo_reaches_peers_inline_and_byte_identical,
        files::a_large_file_resumes_after_a_reload_and_deleting_it_frees_the_space,
        files::files_over_the_limit_or_the_space_left_are_refused_in_words,
        files::a_peer_serving_damaged_chunks_is_dropped_and_the_file_completes_from_another,
        tamper::tampering_peer_is_dropped,
        relay::relay_only_through_coturn,
        verification::verification_warning_on_key_change,
        messages::message_actions_reach_the_peer,
        messages::composer_keyboard_and_text_safety,
        messages::delete_room_wipes_its_history,
        messages::erase_all_local_data,
        access::views_pass_axe_and_fit_phones,
        access::keyboard_only_chat,
        comfort::theme_title_notifications_and_privacy_screen,
        comfort::notifications_refused_are_explained,
        pwa::app_opens_offline_with_rooms_and_history,
        pwa::new_version_prompts_reload,
        embed::embedded_natter_chats_through_post_message,
        consent::another_site_cannot_join_or_rename_without_consent,
        lock::app_lock_seals_storage_and_asks_for_the_passphrase,
        tabs::one_tab_runs_the_app_at_a_time,
        codes::join_codes_hand_over_the_room_unseen_by_the_server,
        codes::join_codes_refuse_a_wrong_code_and_stay_open,
        codes::join_codes_expire,
        codes::join_codes_first_join_asks_for_a_name,
    ])
}
