//! What the lobby of a password room can tell a joiner, and what it cannot.
//!
//! # What
//!
//! A wrong password derives a different room id, where nobody is. So that a joiner can be
//! told when that may be the reason they meet nobody, the members of a password room are also
//! present in its lobby ([`crate::room::Room::lobby_id`]), keyed by the link alone,
//! where nothing is relayed. [`LobbyCheck`] takes the two head counts the signaling server
//! gives on joining (the room's and the lobby's) and whether anyone has been met in the room,
//! and says what to tell the user ([`Verdict`]).
//!
//! # Why it only hints
//!
//! Anyone with the link is in the lobby, with or without the password, and nobody there can
//! prove which password they hold. Someone with the link but a wrong (or no) password, alone
//! in the lobby, looks exactly like members who are online. So the lobby's evidence never
//! removes a room, leaves it or forgets the password: the room stays joined and stored, and
//! the user is told in words that the password *may* be wrong, with a way to enter it again
//! ([`Verdict::PasswordMayBeWrong`]). Meeting anyone in the room settles it
//! ([`LobbyCheck::met_someone`]).

/// The head counts of one password room's joining.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LobbyCheck {
    room_peers: Option<usize>,
    lobby_peers: Option<usize>,
    met: bool,
}

/// What to tell the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// One of the counts has not come yet.
    Waiting,
    /// Nobody is in the room or in the lobby: nothing can be said about the password.
    NobodyOnline,
    /// Nobody is in the room but somebody is in the lobby: the password may be wrong, or
    /// the somebody holds the link without the password.
    PasswordMayBeWrong,
    /// Someone is in the room (or was met there): the password is the one they hold.
    Fine,
}

impl LobbyCheck {
    /// The server said how many others are in the room.
    pub fn room_joined(&mut self, peers: usize) {
        self.room_peers = Some(peers);
    }

    /// The server said how many others are in the lobby.
    pub fn lobby_joined(&mut self, peers: usize) {
        self.lobby_peers = Some(peers);
    }

    /// Someone arrived in the room itself.
    pub fn met_someone(&mut self) {
        self.met = true;
    }

    /// Someone joined the lobby (or left it, with `joined` false) after our joining: the
    /// members may come online after a joiner with a wrong password.
    pub fn lobby_changed(&mut self, joined: bool) {
        if let Some(n) = self.lobby_peers.as_mut() {
            *n = if joined {
                n.saturating_add(1)
            } else {
                n.saturating_sub(1)
            };
        }
    }

    /// What the counts say.
    pub fn verdict(&self) -> Verdict {
        if self.met {
            return Verdict::Fine;
        }
        match (self.room_peers, self.lobby_peers) {
            (Some(0), Some(0)) => Verdict::NobodyOnline,
            (Some(0), Some(_)) => Verdict::PasswordMayBeWrong,
            (Some(_), _) => Verdict::Fine,
            (None, _) => Verdict::Waiting,
        }
    }
}

/// The words of the hint shown in the room while [`Verdict::PasswordMayBeWrong`].
pub const PASSWORD_HINT: &str = "Nobody with this password is here yet. If the others are \
                                 already in the room, the password may be wrong.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_said_before_both_counts_are_in() {
        let mut c = LobbyCheck::default();
        assert_eq!(c.verdict(), Verdict::Waiting);
        c.lobby_joined(2);
        assert_eq!(c.verdict(), Verdict::Waiting);
        c.room_joined(0);
        assert_eq!(c.verdict(), Verdict::PasswordMayBeWrong);
    }

    #[test]
    fn a_lone_stranger_in_the_lobby_only_makes_the_password_doubtful() {
        let mut c = LobbyCheck::default();
        c.room_joined(0);
        c.lobby_joined(1);
        assert_eq!(c.verdict(), Verdict::PasswordMayBeWrong);
        // A member who arrives later settles it.
        c.met_someone();
        assert_eq!(c.verdict(), Verdict::Fine);
    }

    #[test]
    fn members_coming_online_in_the_lobby_later_make_the_password_doubtful() {
        let mut c = LobbyCheck::default();
        c.room_joined(0);
        c.lobby_joined(0);
        assert_eq!(c.verdict(), Verdict::NobodyOnline);
        c.lobby_changed(true);
        assert_eq!(c.verdict(), Verdict::PasswordMayBeWrong);
        c.lobby_changed(false);
        assert_eq!(c.verdict(), Verdict::NobodyOnline);
    }

    #[test]
    fn members_in_the_room_or_nobody_anywhere_raise_no_doubt() {
        let mut c = LobbyCheck::default();
        c.lobby_joined(3);
        c.room_joined(2);
        assert_eq!(c.verdict(), Verdict::Fine);
        let mut empty = LobbyCheck::default();
        empty.room_joined(0);
        empty.lobby_joined(0);
        assert_eq!(empty.verdict(), Verdict::NobodyOnline);
    }
}
