//! The one pattern behind every enum of the protocol that has stable names: each variant has one
//! snake_case name, used in JSON, in storage and in URLs, and optionally a label people read.

/// Declares an enum whose variants each have one stable name (`Variant => "name"`), and optionally a
/// label (`Variant => "name", "Label"`). It derives serde with exactly those names and writes `ALL`,
/// `as_str` and `parse`, plus `label` when every variant has one, so the names are written once.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident => $text:tt, $label:tt),+ $(,)?
        }
    ) => {
        named_enum! {
            $(#[$meta])*
            pub enum $name {
                $($(#[$variant_meta])* $variant => $text),+
            }
        }

        impl $name {
            /// The name people read: in the console and the docs.
            pub fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label),+
                }
            }
        }
    };
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident => $text:tt),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name {
            $($(#[$variant_meta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];

            /// The stable name used in JSON, storage and URLs.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The variant named `text`, if any.
            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}
