//! What the widget knows about the visit: the current page and how long it has been visible.
//!
//! Time comes from `Date.now()`, which the browser tests replace with a fake clock.

use rules::VisitState;

#[derive(Debug, Clone, Default)]
pub struct Visit {
    pub url: String,
    pub path: String,
    pub language: String,
    visible: bool,
    /// Visible milliseconds accumulated before `visible_since`.
    banked_ms: f64,
    visible_since_ms: Option<f64>,
}

impl Visit {
    /// A new page view starts counting from zero.
    pub fn page_view(
        url: String,
        path: String,
        language: String,
        visible: bool,
        now_ms: f64,
    ) -> Visit {
        Visit {
            url,
            path,
            language,
            visible,
            banked_ms: 0.0,
            visible_since_ms: visible.then_some(now_ms),
        }
    }

    pub fn set_visible(&mut self, visible: bool, now_ms: f64) {
        if visible == self.visible {
            return;
        }
        if let Some(since) = self.visible_since_ms.take() {
            self.banked_ms += (now_ms - since).max(0.0);
        }
        if visible {
            self.visible_since_ms = Some(now_ms);
        }
        self.visible = visible;
    }

    pub fn visible_ms(&self, now_ms: f64) -> f64 {
        self.banked_ms
            + self
                .visible_since_ms
                .map_or(0.0, |since| (now_ms - since).max(0.0))
    }

    pub fn state(&self, now_ms: f64) -> VisitState {
        VisitState {
            url: self.url.clone(),
            path: self.path.clone(),
            visible_ms_on_page: self.visible_ms(now_ms) as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Visit;

    #[test]
    fn hidden_time_does_not_count() {
        let mut visit = Visit::page_view("u".into(), "/".into(), "en".into(), true, 1_000.0);
        visit.set_visible(false, 6_000.0);
        assert_eq!(visit.visible_ms(60_000.0), 5_000.0);
        visit.set_visible(true, 60_000.0);
        assert_eq!(visit.visible_ms(62_000.0), 7_000.0);
    }
}
