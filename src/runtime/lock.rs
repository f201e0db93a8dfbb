//! The app lock turned on and off, and erasing everything on this device.

use leptos::prelude::Set;
use natter_core::vault::{VaultError, VaultKey, VaultParams};

use super::boot::{local_storage, yield_to_browser, SETTINGS_KEY};
use super::Runtime;
use crate::storage::StoredLock;

impl Runtime {
    pub(super) async fn enable_lock(&mut self, passphrase: String) {
        let Some(s) = self.storage.clone() else {
            self.notify(
                "This browser keeps no data for Natter, so there is nothing to lock.".into(),
            );
            return;
        };
        self.busy(Some("Turning the app lock on…"));
        yield_to_browser().await;
        let params = VaultParams::new(&mut rand_core::OsRng);
        let result = match VaultKey::derive(&passphrase, &params) {
            Ok(key) => {
                let lock = StoredLock {
                    params,
                    verifier: key.verifier(&mut rand_core::OsRng),
                };
                s.enable_lock(&lock, key).await.map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        };
        self.busy(None);
        match result {
            Ok(()) => self.ui.lock_on.set(true),
            Err(e) => self.notify(format!("The app lock could not be turned on: {e}")),
        }
    }

    pub(super) async fn disable_lock(&mut self, passphrase: String) {
        let Some(s) = self.storage.clone() else {
            return;
        };
        let lock = match s.load_lock().await {
            Ok(Some(lock)) => lock,
            Ok(None) => return self.ui.lock_on.set(false),
            Err(e) => return self.notify(e.to_string()),
        };
        self.busy(Some("Turning the app lock off…"));
        yield_to_browser().await;
        let key = VaultKey::unlock(&passphrase, &lock.params, &lock.verifier);
        let result = match key {
            Ok(_) => s.disable_lock().await.map_err(|e| e.to_string()),
            Err(VaultError::WrongPassphrase) => {
                Err("wrong passphrase; the app lock stays on".to_owned())
            }
            Err(e) => Err(e.to_string()),
        };
        self.busy(None);
        match result {
            Ok(()) => self.ui.lock_on.set(false),
            Err(e) => self.notify(format!("The app lock was not turned off: {e}.")),
        }
    }

    /// Leaves every room, wipes storage and settings, and starts afresh with a new
    /// identity.
    pub(super) async fn erase_all(&mut self) {
        if let Some(s) = &self.signaling {
            for (id, r) in self.node.rooms() {
                let _ = s.leave(&id.to_hex());
                if let Some(lobby) = r.room().lobby_id() {
                    let _ = s.leave(&lobby.to_hex());
                }
            }
        }
        for (_, pc) in self.pcs.drain() {
            pc.close();
        }
        self.writes.borrow_mut().clear();
        if let Some(s) = &self.storage {
            if let Err(e) = s.erase_all().await {
                self.notify(e.to_string());
                return;
            }
        }
        if let Some(s) = local_storage() {
            let _ = s.remove_item(SETTINGS_KEY);
        }
        if let Some(w) = web_sys::window() {
            let _ = w.location().set_hash("#/");
            let _ = w.location().reload();
        }
    }
}
