// Package archtest holds the tests that keep Switchyard's import graph in shape; it has no code.
//
// The graph is an architecture decision that no compiler enforces: activities (all I/O) must not
// depend on workflows (deterministic interpreter code), both meet in internal/wire, and the
// long-running worker must not link the embedded Temporal server or the AWS lab, which exist
// for development and tests only. A stray import breaks none of that loudly, so the tests here
// read the real graph with `go list -deps` and name the chain of imports that brings in what is
// forbidden.
package archtest
