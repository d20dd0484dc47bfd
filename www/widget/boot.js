// Starts the widget's WebAssembly module (an external file: the iframe's CSP allows no inline script).
import init from "/assets/pkg/widget/widget.js";
init({ module_or_path: "/assets/pkg/widget/widget_bg.wasm" });
