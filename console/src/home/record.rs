//! What a record session's view keeps while it shows a contact or a case: the record as last read,
//! whether a change is on its way, and the last problem. A saved change reads the record again.

use std::future::Future;
use std::sync::Arc;

use leptos::prelude::*;

pub struct Record<T: Send + Sync + 'static> {
    /// `None` until the first read answers.
    pub loaded: RwSignal<Option<Result<T, String>>>,
    pub busy: RwSignal<bool>,
    pub problem: RwSignal<Option<String>>,
    reload: Callback<()>,
}

impl<T: Send + Sync + 'static> Clone for Record<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Record<T> {}

impl<T: Send + Sync + 'static> Record<T> {
    /// Reads the record with `read`, now and after each saved change; `seen` is told each record read.
    pub fn new<Read, Reading>(read: Read, seen: impl Fn(&T) + Send + Sync + 'static) -> Self
    where
        Read: Fn() -> Reading + Send + Sync + 'static,
        Reading: Future<Output = Result<T, String>> + 'static,
    {
        let loaded = RwSignal::new(None);
        let seen = Arc::new(seen);
        let reload = Callback::new(move |()| {
            let (reading, seen) = (read(), Arc::clone(&seen));
            leptos::task::spawn_local(async move {
                let answer = reading.await;
                if let Ok(record) = &answer {
                    seen(record);
                }
                loaded.try_set(Some(answer));
            });
        });
        reload.run(());
        Record {
            loaded,
            busy: RwSignal::new(false),
            problem: RwSignal::new(None),
            reload,
        }
    }

    /// Sends a change. Saved, the problem clears, `saved` runs and the record is read again; refused,
    /// the refusal is the problem.
    pub fn change<Saved>(
        self,
        request: impl Future<Output = Result<Saved, String>> + 'static,
        saved: impl FnOnce() + 'static,
    ) {
        self.busy.set(true);
        leptos::task::spawn_local(async move {
            let answer = request.await;
            self.busy.try_set(false);
            match answer {
                Ok(_) => {
                    self.problem.try_set(None);
                    saved();
                    self.reload.run(());
                }
                Err(message) => {
                    self.problem.try_set(Some(message));
                }
            }
        });
    }

    /// Shows a problem found before anything was sent.
    pub fn refuse(self, message: String) {
        self.problem.set(Some(message));
    }
}
