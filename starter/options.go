package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"

	"go.temporal.io/sdk/client"

	"github.com/switchyard-dr/switchyard/internal/temporalconn"
)

// The option sets commands share, each declared once and registered by one function, in the way
// temporalio/cli composes its commands' options: a command's options struct embeds the sets it
// takes and calls each set's register. A flag shared by several commands then has one name, one
// default and one help text (docs/configuration.md documents each command's flags; a test in
// internal/deploy keeps it true).

// clientOptions say which Temporal frontend and namespace a command talks to. The rest of the
// connection (API key, TLS, profile) comes from Temporal's standard environment configuration
// (internal/temporalconn), the same for the worker, the intake and every command; the flags
// override its TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE.
type clientOptions struct {
	address, namespace string
}

func (c *clientOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&c.address, "address", "", "Temporal frontend host:port (default: TEMPORAL_ADDRESS or localhost:7233)")
	fs.StringVar(&c.namespace, "namespace", "", "Temporal namespace (default: TEMPORAL_NAMESPACE or default)")
}

// options are the Temporal client options: the environment's configuration with the flags'
// overrides; logger may be nil.
func (c *clientOptions) options(cio cmdIO, logger *slog.Logger) (client.Options, error) {
	opts, err := temporalconn.Options(temporalconn.Env(cio.getenv), c.address, logger)
	if err != nil {
		return client.Options{}, err
	}
	if c.namespace != "" {
		opts.Namespace = c.namespace
	}
	return opts, nil
}

// dial connects with options.
func (c *clientOptions) dial(ctx context.Context, cio cmdIO) (client.Client, error) {
	opts, err := c.options(cio, nil)
	if err != nil {
		return nil, err
	}
	return temporalconn.Dial(ctx, opts)
}

// outputOptions choose between text for people and JSON for scripts; print is the one printer.
type outputOptions struct {
	json bool
}

// register declares --json; help says what the command prints as JSON.
func (o *outputOptions) register(fs *flag.FlagSet, help string) {
	fs.BoolVar(&o.json, "json", false, help)
}

// print writes v as indented JSON with --json, and calls text otherwise.
func (o outputOptions) print(w io.Writer, v any, text func(w io.Writer)) error {
	if o.json {
		return writeJSON(w, v)
	}
	text(w)
	return nil
}

// writeJSON writes v as indented JSON, the form every command's --json prints.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// runbooksOptions name the runbook folder (SWITCHYARD_RUNBOOKS, else ./runbooks).
type runbooksOptions struct {
	runbooks string
}

// register declares --runbooks; help says what the command reads from the folder.
func (r *runbooksOptions) register(fs *flag.FlagSet, cio cmdIO, help string) {
	fs.StringVar(&r.runbooks, "runbooks", envOr(cio.getenv, "SWITCHYARD_RUNBOOKS", "runbooks"), help)
}

// connFlags are the options of a command that talks to Temporal and prints what it gets back.
type connFlags struct {
	clientOptions
	outputOptions
}

func (c *connFlags) register(fs *flag.FlagSet) {
	c.clientOptions.register(fs)
	c.outputOptions.register(fs, "print data as JSON")
}
