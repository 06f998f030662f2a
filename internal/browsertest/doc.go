// Package browsertest holds the headless-browser check of the README's first promise: with
// `starter dev` running, a person can start a runbook from the Temporal Web UI's Start Workflow
// form, and can decide a run paused on a failed step with the `control` signal from the run's
// page (More Actions, Send a Signal). The checks are start-from-ui.mjs and signal-from-ui.mjs
// beside this file, Node scripts driving Debian's
// Chromium through playwright-core (pinned in package.json; `npm ci --prefix internal/browsertest`
// installs it, and no browser is ever downloaded). starter/browser_test.go starts its own dev
// environment, runs the scripts and then confirms the outcome through the Temporal API, so a page
// that merely looks right cannot pass. There is no Go code here: the package exists so the folder
// has a home in the module and this explanation.
package browsertest
