// The proof-of-work widget (static/vendor/altcha, loaded just before this module) on a form
// under attack: it solves the challenge when the form is sent, then sends it with the solution,
// with no box to tick. Its worker comes from our own origin: the CSP allows no blob: workers.
const widget = document.querySelector("altcha-widget[data-worker]");
if (widget && globalThis.$altcha) {
  const workerUrl = widget.dataset.worker;
  globalThis.$altcha.algorithms.set("PBKDF2/SHA-256", () => new Worker(workerUrl));
}
