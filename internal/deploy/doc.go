// Package deploy keeps Switchyard's deployment files true to the code: the Dockerfile and
// docker-compose.yml at the repository root, docs/configuration.md and docs/iam/. Files like
// these rot silently — a new flag goes undocumented, a new AWS call fails in production with
// AccessDenied, an image stops being static — because nothing runs them on a developer's
// machine. The package's tests run them instead, against the catalog, the flag definitions and
// the YAML models, and the worker's IAM policy is generated from the activity catalog
// (WorkerPolicy) rather than written by hand.
package deploy
