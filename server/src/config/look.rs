//! A site's look and chat button: `[sites.look]` and `[sites.launcher]`. The look reaches the widget's
//! iframe in its page: the colours as CSS custom properties (`Look::style`), the corner and the title
//! as attributes of `<html>`. The host page's CSS still cannot reach it.

use serde::Deserialize;

/// The widget's own blue, used when a site names no colour.
const DEFAULT_COLOUR: Colour = Colour([0x2f, 0x5b, 0xea]);
/// The widget's text colour: the focus ring where the brand colour is too light for one.
const INK: Colour = Colour([0x1b, 0x1f, 0x29]);
/// Text on a light brand colour. Black, not the ink: on every colour either white or black reaches
/// 4.5:1, while the ink misses it on mid tones.
const BLACK: Colour = Colour([0, 0, 0]);
const WHITE: Colour = Colour([0xff, 0xff, 0xff]);
/// WCAG 2.2's contrast for focus rings and other parts of controls (1.4.11).
const NON_TEXT_CONTRAST: f64 = 3.0;
/// The longest title and launcher label, in characters: they share a line with buttons.
const MAX_WORDS: usize = 40;

/// Which bottom corner the widget sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    #[default]
    Right,
    Left,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Right => "right",
            Side::Left => "left",
        }
    }
}

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colour([u8; 3]);

impl Colour {
    /// `#2f5bea` or `#25e`; anything else is `None`.
    pub fn parse(text: &str) -> Option<Colour> {
        let hex = text.strip_prefix('#')?;
        if !hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return None;
        }
        let digit = |index: usize| u8::from_str_radix(hex.get(index..=index)?, 16).ok();
        let pair = |index: usize| u8::from_str_radix(hex.get(index..index + 2)?, 16).ok();
        match hex.len() {
            3 => Some(Colour([digit(0)? * 17, digit(1)? * 17, digit(2)? * 17])),
            6 => Some(Colour([pair(0)?, pair(2)?, pair(4)?])),
            _ => None,
        }
    }

    /// `#rrggbb`, lowercase.
    pub fn css(self) -> String {
        let [red, green, blue] = self.0;
        format!("#{red:02x}{green:02x}{blue:02x}")
    }

    /// Relative luminance, as WCAG defines it.
    fn luminance(self) -> f64 {
        let linear = |channel: u8| {
            let value = f64::from(channel) / 255.0;
            if value <= 0.040_45 {
                value / 12.92
            } else {
                ((value + 0.055) / 1.055).powf(2.4)
            }
        };
        let [red, green, blue] = self.0;
        0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
    }

    /// The WCAG contrast ratio between two colours, from 1 to 21.
    pub fn contrast(self, other: Colour) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }
}

/// A site's look, checked: what the widget's page carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Look {
    /// The brand colour: the visitor's messages, primary buttons, the launcher.
    pub colour: Colour,
    pub side: Side,
    /// The panel's title until an agent is in the chat.
    pub title: String,
}

impl Look {
    /// White or black, whichever reads better on the brand colour.
    pub fn text_on_colour(&self) -> Colour {
        if WHITE.contrast(self.colour) >= BLACK.contrast(self.colour) {
            WHITE
        } else {
            BLACK
        }
    }

    /// The focus ring and links on the panel's white: the brand colour when it stands out enough
    /// from white, else the ink.
    pub fn focus(&self) -> Colour {
        if self.colour.contrast(WHITE) >= NON_TEXT_CONTRAST {
            self.colour
        } else {
            INK
        }
    }

    /// The widget page's `<html>` attributes, escaped: the corner and the title.
    pub fn attributes(&self) -> String {
        format!(
            r#" data-side="{}" data-title="{}""#,
            self.side.as_str(),
            escape_attribute(&self.title),
        )
    }

    /// The colours as CSS custom properties, for a `<style>` in the widget page that its CSP allows
    /// by hash: the colours are there before any code runs.
    pub fn style(&self) -> String {
        format!(
            ":root{{--accent:{};--on-accent:{};--focus:{}}}",
            self.colour.css(),
            self.text_on_colour().css(),
            self.focus().css(),
        )
    }
}

/// A site's chat button, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LauncherConfig {
    pub queue: String,
    /// Empty for the widget's own words.
    pub label: String,
    pub only_when_available: bool,
}

/// A speech bubble.
const LAUNCHER_ICON: &str = r#"<svg aria-hidden="true" viewBox="0 0 24 24" width="22" height="22"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>"#;

impl LauncherConfig {
    /// The widget page's `<html>` attributes: the button's queue and when it shows.
    pub fn attributes(&self) -> String {
        format!(
            r#" data-launcher="{}" data-launcher-show="{}""#,
            escape_attribute(&self.queue),
            if self.only_when_available {
                "available"
            } else {
                "always"
            },
        )
    }

    /// The button, hidden: the widget shows it once nothing else is in its corner and, if the site
    /// asks, an agent can take the chat. `default_label` is the widget's own words, in the
    /// visitor's language, for a site that chose none.
    pub fn button(&self, default_label: &str) -> String {
        let label = if self.label.is_empty() {
            default_label
        } else {
            &self.label
        };
        format!(
            r#"<button type="button" class="launcher" data-beckon="launcher" hidden>{LAUNCHER_ICON}<span>{}</span></button>"#,
            escape_attribute(label),
        )
    }
}

/// `[sites.look]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLook {
    colour: Option<String>,
    #[serde(default)]
    position: Side,
    title: Option<String>,
}

/// `[sites.launcher]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLauncher {
    #[serde(default = "yes")]
    enabled: bool,
    queue: String,
    #[serde(default)]
    label: String,
    /// `available` (the default) or `always`.
    #[serde(default)]
    show: Show,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Show {
    #[default]
    Available,
    Always,
}

fn yes() -> bool {
    true
}

impl RawLook {
    /// The look, or the problem naming the key. The title defaults to the site's name.
    pub(super) fn check(self, site_id: &str, site_name: &str) -> Result<Look, String> {
        let colour = match self.colour {
            None => DEFAULT_COLOUR,
            Some(text) => Colour::parse(text.trim()).ok_or_else(|| {
                format!(
                    "`sites.{site_id}.look.colour`: `{text}` is not a colour like `#2f5bea` or `#25e`"
                )
            })?,
        };
        let title = self.title.unwrap_or_else(|| site_name.to_owned());
        words(&format!("sites.{site_id}.look.title"), &title)?;
        Ok(Look {
            colour,
            side: self.position,
            title: title.trim().to_owned(),
        })
    }
}

impl RawLauncher {
    /// The chat button, `None` when switched off, or the problem naming the key.
    pub(super) fn check(
        self,
        site_id: &str,
        queue_exists: impl Fn(&str) -> bool,
    ) -> Result<Option<LauncherConfig>, String> {
        if !self.enabled {
            return Ok(None);
        }
        if !queue_exists(&self.queue) {
            return Err(format!(
                "`sites.{site_id}.launcher.queue`: unknown queue `{}`",
                self.queue
            ));
        }
        words(&format!("sites.{site_id}.launcher.label"), &self.label)?;
        Ok(Some(LauncherConfig {
            queue: self.queue,
            label: self.label.trim().to_owned(),
            only_when_available: matches!(self.show, Show::Available),
        }))
    }
}

/// A title or label: one line, at most `MAX_WORDS` characters.
fn words(key: &str, text: &str) -> Result<(), String> {
    if text.contains(['\n', '\r']) {
        return Err(format!("`{key}`: one line, please"));
    }
    let length = text.trim().chars().count();
    if length > MAX_WORDS {
        return Err(format!(
            "`{key}`: {length} characters; at most {MAX_WORDS} fit"
        ));
    }
    Ok(())
}

/// Text for a double-quoted HTML attribute or an element's content.
pub fn escape_attribute(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '"' => escaped.push_str("&quot;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn look(colour: &str) -> Look {
        Look {
            colour: Colour::parse(colour).unwrap(),
            side: Side::Right,
            title: "Shop".to_owned(),
        }
    }

    #[test]
    fn colours_are_six_or_three_hex_digits_after_a_hash() {
        assert_eq!(Colour::parse("#2F5BEA").unwrap().css(), "#2f5bea");
        assert_eq!(Colour::parse("#25e").unwrap().css(), "#2255ee");
        for bad in [
            "2f5bea",
            "#2f5be",
            "#ggg",
            "blue",
            "#",
            "#2f5bea00",
            "#+1+1+1",
        ] {
            assert_eq!(Colour::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn contrast_ratios_match_wcag() {
        let ratio = WHITE.contrast(Colour([0, 0, 0]));
        assert!((ratio - 21.0).abs() < 0.01, "{ratio}");
        let ratio = WHITE.contrast(Colour::parse("#777777").unwrap());
        assert!((ratio - 4.48).abs() < 0.01, "{ratio}");
    }

    #[test]
    fn text_on_any_brand_colour_reaches_four_and_a_half_to_one() {
        assert_eq!(look("#2f5bea").text_on_colour(), WHITE);
        assert_eq!(look("#ffd400").text_on_colour(), BLACK, "yellow");
        for red in (0..=255).step_by(15) {
            for green in (0..=255).step_by(15) {
                for blue in (0..=255).step_by(15) {
                    let colour = Colour([red as u8, green as u8, blue as u8]);
                    let look = Look {
                        colour,
                        side: Side::Right,
                        title: String::new(),
                    };
                    let text = look.text_on_colour().contrast(colour);
                    assert!(text >= 4.5, "{}: text {text:.2}", colour.css());
                    let ring = look.focus().contrast(WHITE);
                    assert!(
                        ring >= NON_TEXT_CONTRAST,
                        "{}: focus {ring:.2}",
                        colour.css()
                    );
                }
            }
        }
    }

    #[test]
    fn a_light_brand_colour_keeps_a_dark_focus_ring() {
        assert_eq!(look("#ffd400").focus(), INK);
        assert_eq!(look("#2f5bea").focus().css(), "#2f5bea");
    }

    #[test]
    fn the_button_says_the_site_s_words_as_text() {
        let mut launcher = LauncherConfig {
            queue: "support".to_owned(),
            label: "<b>Ask</b> & go".to_owned(),
            only_when_available: true,
        };
        let button = launcher.button("Chat with us");
        assert!(
            button.contains("<span>&lt;b&gt;Ask&lt;/b&gt; &amp; go</span>"),
            "{button}"
        );
        assert!(button.contains(" hidden>"), "{button}");
        assert_eq!(
            launcher.attributes(),
            r#" data-launcher="support" data-launcher-show="available""#
        );
        launcher.label.clear();
        launcher.only_when_available = false;
        assert!(
            launcher
                .button("Discuter avec nous")
                .contains("<span>Discuter avec nous</span>")
        );
        assert!(
            launcher
                .attributes()
                .ends_with(r#"data-launcher-show="always""#)
        );
    }

    #[test]
    fn the_page_attributes_escape_the_title() {
        let mut look = look("#2f5bea");
        look.title = r#"Tom & "Jerry" <shop>"#.to_owned();
        let attributes = look.attributes();
        assert!(
            attributes.contains(r#"data-title="Tom &amp; &quot;Jerry&quot; &lt;shop&gt;""#),
            "{attributes}"
        );
        assert_eq!(
            look.style(),
            ":root{--accent:#2f5bea;--on-accent:#ffffff;--focus:#2f5bea}"
        );
    }
}
