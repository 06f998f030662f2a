// Package wire holds what crosses the boundary between the workflows and the worker's
// activities: the requests and results that are serialized into workflow histories, the
// ApplicationError type names both sides produce and match, and the stable names under which the
// interpreter's own activities are registered.
//
// It exists so that neither side imports the other. The workflows package is deterministic code
// that must stay free of I/O; the activities package is all I/O. Before this package, activities
// imported workflows for these shapes and names, so a worker's activities were compiled against
// the interpreter and any change to the interpreter's internals could ripple into them. Now both
// import wire, and an import-graph test (internal/archtest) keeps activities from importing
// workflows again.
//
// Everything here is persisted: JSON field names, constant values and error type names appear in
// recorded histories (workflows/testdata/histories), so changing one breaks replay. Add a new
// name and keep the old one instead.
//
// wire imports only the packages whose shapes it carries (internal/runbook, internal/backfill),
// never workflows, activities or the Temporal SDK's worker side.
package wire
