//! Turns the bound WebAssembly modules and the stylesheets into what the server hands out, as a CDN
//! would: every file under a content-hashed name in `www/pkg/assets/` (so it can be cached for a year),
//! with brotli (quality 11) and gzip copies next to it, and the HTML shells that name them.
//!
//! - Each wasm-bindgen glue gets a last line that starts its own hashed module, so a page needs one
//!   `<script type=module>` and the glue and module a browser gets always belong together.
//! - `www/widget/index.html` and `www/console/index.html` are templates: every `{{name}}` becomes the
//!   hashed name of the asset `name`, written to `www/pkg/widget.html` and `www/pkg/console.html`.
//! - `www/pkg/manifest.json` maps each asset's name to its hashed name. The server reads it to send a
//!   request for an outdated hashed name on to the current one.
//! - The previous build's files are kept, so a page loaded before a deploy still finds the chat module
//!   that belongs to its first module.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, bail};
use blake2::{Blake2s256, Digest};

/// Hex digits of the content hash in a file name.
const HASH_LENGTH: usize = 10;

/// Assets under their name in the manifest: the name the templates use.
type Manifest = BTreeMap<String, String>;

/// The modules, bound by wasm-bindgen: (the folder under `www/pkg`, the module's name).
const MODULES: &[(&str, &str)] = &[
    ("widget", "widget"),
    ("widget", "chat"),
    ("console", "console"),
];
/// The stylesheets: (the asset's name, its sources from the repository's root, joined in this order).
/// The console keeps one stylesheet per component folder, its design tokens first; a page still loads
/// one file.
const STYLESHEETS: &[(&str, &[&str])] = &[
    ("widget.css", &["www/widget/widget.css"]),
    ("chat.css", &["www/widget/chat.css"]),
    (
        "console.css",
        &[
            "console/src/console.css",
            "console/src/workspace/workspace.css",
            "console/src/home/home.css",
            "console/src/session/session.css",
            "console/src/supervisor/supervisor.css",
        ],
    ),
];
const PAGES: &[(&str, &str)] = &[
    ("widget/index.html", "widget.html"),
    ("console/index.html", "console.html"),
];

pub fn publish(root: &Path) -> anyhow::Result<()> {
    let www = root.join("www");
    let pkg = www.join("pkg");
    let assets = pkg.join("assets");
    std::fs::create_dir_all(&assets)?;
    let previous = read_manifest(&pkg);
    let mut manifest = Manifest::new();
    for (name, sources) in STYLESHEETS {
        let mut bytes = Vec::new();
        for source in *sources {
            let text = std::fs::read(root.join(source))
                .with_context(|| format!("cannot read {source}"))?;
            bytes.extend_from_slice(&text);
            if !bytes.ends_with(b"\n") {
                bytes.push(b'\n');
            }
        }
        add(&assets, &mut manifest, name, &bytes)?;
    }
    for (folder, module) in MODULES {
        let bound = pkg.join(folder);
        let wasm_name = format!("{module}_bg.wasm");
        let wasm = std::fs::read(bound.join(&wasm_name))
            .with_context(|| format!("cannot read www/pkg/{folder}/{wasm_name}"))?;
        let hashed_wasm = add(&assets, &mut manifest, &wasm_name, &wasm)?;
        let glue_name = format!("{module}.js");
        let glue = std::fs::read_to_string(bound.join(&glue_name))
            .with_context(|| format!("cannot read www/pkg/{folder}/{glue_name}"))?;
        let glue = self_starting(&glue, &hashed_wasm)
            .with_context(|| format!("www/pkg/{folder}/{glue_name}"))?;
        add(&assets, &mut manifest, &glue_name, glue.as_bytes())?;
    }
    for (template, page) in PAGES {
        let text = std::fs::read_to_string(www.join(template))
            .with_context(|| format!("cannot read www/{template}"))?;
        let html = fill(&text, &manifest).with_context(|| format!("www/{template}"))?;
        let html = without_comments(&html);
        std::fs::write(pkg.join(page), html)?;
    }
    prune(&assets, &manifest, &previous)?;
    std::fs::write(
        pkg.join("manifest.json"),
        serde_json::to_string_pretty(&manifest)?,
    )?;
    Ok(())
}

fn read_manifest(pkg: &Path) -> Manifest {
    std::fs::read(pkg.join("manifest.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// `widget.css` with these bytes becomes `widget.<hash>.css`.
fn hashed_name(name: &str, bytes: &[u8]) -> String {
    let digest = Blake2s256::digest(bytes);
    let hex: String = digest
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<String>()
        .chars()
        .take(HASH_LENGTH)
        .collect();
    match name.rsplit_once('.') {
        Some((stem, extension)) => format!("{stem}.{hex}.{extension}"),
        None => format!("{name}.{hex}"),
    }
}

/// Writes the asset under its hashed name with its compressed copies, and records it.
fn add(assets: &Path, manifest: &mut Manifest, name: &str, bytes: &[u8]) -> anyhow::Result<String> {
    let hashed = hashed_name(name, bytes);
    let path = assets.join(&hashed);
    // The same name means the same bytes: a rebuild that changed nothing compresses nothing.
    let complete = ["", ".br", ".gz"]
        .iter()
        .all(|suffix| assets.join(format!("{hashed}{suffix}")).exists());
    if !complete {
        std::fs::write(assets.join(format!("{hashed}.br")), brotli(bytes)?)?;
        std::fs::write(assets.join(format!("{hashed}.gz")), gzip(bytes)?)?;
        std::fs::write(&path, bytes)?;
    }
    manifest.insert(name.to_owned(), hashed.clone());
    Ok(hashed)
}

pub fn brotli(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        // Quality 11 with a 4 MiB window (22 bits), what CDNs use for static files.
        let mut writer = brotli::CompressorWriter::new(&mut out, 64 * 1024, 11, 22);
        writer.write_all(bytes)?;
        writer.flush()?;
    }
    Ok(out)
}

fn gzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?)
}

/// The glue exports `__wbg_init`, which fetches and starts the module it is given. Call it at the end of
/// the glue with the hashed module, named relative to the glue, so that loading the glue starts it.
fn self_starting(glue: &str, hashed_wasm: &str) -> anyhow::Result<String> {
    const INIT: &str = "__wbg_init as default";
    if glue.matches(INIT).count() != 1 {
        bail!("expected the glue to export `{INIT}` once; has wasm-bindgen's output changed?");
    }
    // A snippet is one more request before the widget can start, under a name nobody hashes.
    if glue.contains("/snippets/") {
        bail!(
            "the glue imports a snippet: write the JavaScript with web-sys calls instead of `inline_js`"
        );
    }
    Ok(format!(
        "{glue}\n__wbg_init({{ module_or_path: new URL('{hashed_wasm}', import.meta.url) }});\n"
    ))
}

/// Replaces every `{{name}}` with the hashed name of the asset `name`.
fn fill(template: &str, manifest: &Manifest) -> anyhow::Result<String> {
    let mut html = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        html.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            bail!("`{{{{` without `}}}}`");
        };
        let name = after[..end].trim();
        let Some(hashed) = manifest.get(name) else {
            let line = 1 + template.len() - rest.len() + start;
            let line = template[..line - 1].matches('\n').count() + 1;
            bail!(
                "line {line}: `{{{{{name}}}}}` names no asset; the assets are: {}",
                manifest.keys().cloned().collect::<Vec<_>>().join(", ")
            );
        };
        html.push_str(hashed);
        rest = &after[end + 2..];
    }
    html.push_str(rest);
    Ok(html)
}

/// The templates' comments are for the people who edit them, not bytes for every page view.
fn without_comments(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        rest = rest[start..]
            .find("-->")
            .map_or("", |end| &rest[start + end + 3..]);
    }
    out.push_str(rest);
    out.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Removes hashed files that neither this build nor the previous one names.
fn prune(assets: &Path, current: &Manifest, previous: &Manifest) -> anyhow::Result<()> {
    let keep: Vec<&String> = current.values().chain(previous.values()).collect();
    for entry in std::fs::read_dir(assets)? {
        let entry = entry?;
        let file = entry.file_name().to_string_lossy().into_owned();
        let base = file
            .strip_suffix(".br")
            .or_else(|| file.strip_suffix(".gz"))
            .unwrap_or(&file);
        if !keep.iter().any(|name| name.as_str() == base) {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_keep_the_extension_and_change_with_the_content() {
        let one = hashed_name("widget_bg.wasm", b"one");
        assert!(
            one.starts_with("widget_bg.") && one.ends_with(".wasm"),
            "{one}"
        );
        assert_eq!(one.len(), "widget_bg..wasm".len() + HASH_LENGTH);
        assert_eq!(one, hashed_name("widget_bg.wasm", b"one"));
        assert_ne!(one, hashed_name("widget_bg.wasm", b"two"));
    }

    #[test]
    fn templates_name_assets_and_unknown_names_are_errors() {
        let manifest =
            Manifest::from([("widget.js".to_owned(), "widget.0123456789.js".to_owned())]);
        assert_eq!(
            fill("<script src=\"/assets/{{widget.js}}\">", &manifest).unwrap(),
            "<script src=\"/assets/widget.0123456789.js\">"
        );
        let error = fill("<html>\n{{chat.js}}", &manifest)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("line 2: `{{chat.js}}`"), "{error}");
        assert!(error.contains("widget.js"), "{error}");
        assert!(fill("{{widget.js", &manifest).is_err());
    }

    #[test]
    fn pruning_keeps_this_build_and_the_previous_one() {
        let assets = std::env::temp_dir().join(format!("beckon-prune-{}", std::process::id()));
        std::fs::create_dir_all(&assets).unwrap();
        let names = [
            "widget.aaaaaaaaaa.js",
            "widget.bbbbbbbbbb.js",
            "widget.cccccccccc.js",
        ];
        for name in names {
            for suffix in ["", ".br", ".gz"] {
                std::fs::write(assets.join(format!("{name}{suffix}")), name).unwrap();
            }
        }
        let manifest = |hashed: &str| Manifest::from([("widget.js".to_owned(), hashed.to_owned())]);
        prune(&assets, &manifest(names[2]), &manifest(names[1])).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(&assets)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        std::fs::remove_dir_all(&assets).unwrap();
        assert_eq!(
            left,
            [
                "widget.bbbbbbbbbb.js",
                "widget.bbbbbbbbbb.js.br",
                "widget.bbbbbbbbbb.js.gz",
                "widget.cccccccccc.js",
                "widget.cccccccccc.js.br",
                "widget.cccccccccc.js.gz",
            ]
        );
    }

    #[test]
    fn published_pages_lose_their_comments() {
        assert_eq!(
            without_comments("<!doctype html>\n<!-- a\nb -->\n<html><!--c-->x</html>\n"),
            "<!doctype html>\n<html>x</html>\n"
        );
    }

    #[test]
    fn the_glue_starts_its_own_hashed_module() {
        let glue = "async function __wbg_init(m) {}\nexport { initSync, __wbg_init as default };\n";
        let started = self_starting(glue, "chat_bg.0123456789.wasm").unwrap();
        assert!(started.trim_end().ends_with(
            "__wbg_init({ module_or_path: new URL('chat_bg.0123456789.wasm', import.meta.url) });"
        ));
        assert!(self_starting("export default init;", "x").is_err());
        let with_snippet = format!("import * as a from \"./snippets/w-1/inline0.js\"\n{glue}");
        assert!(self_starting(&with_snippet, "x").is_err());
    }
}
