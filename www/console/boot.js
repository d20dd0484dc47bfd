// Starts the console's WebAssembly module (an external file: the console's CSP allows no inline script).
import init from "/assets/pkg/console/console.js";
init({ module_or_path: "/assets/pkg/console/console_bg.wasm" });
