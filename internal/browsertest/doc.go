// Package browsertest holds the headless-browser check of the README's first promise: with
// `starter dev` running, a person can start a runbook from the Temporal Web UI's Start Workflow
// form. The check itself is start-from-ui.mjs beside this file, a Node script driving Debian's
// Chromium through playwright-core (pinned in package.json; `npm ci --prefix internal/browsertest`
// installs it, and no browser is ever downloaded). starter/browser_test.go starts its own dev
// environment, runs the script and then confirms the outcome through the Temporal API, so a page
// that merely looks right cannot pass. There is no Go code here: the package exists so the folder
// has a home in the module and this explanation.
package browsertest
