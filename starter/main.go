// Command starter is Switchyard's operator CLI and intake: it runs the embedded dev environment
// (`dev`), validates runbooks, starts runs, follows and reports them, and sends approvals.
//
// Built with -tags=nodev (as the Dockerfile builds it), it leaves out the commands that embed
// the Temporal server or the lab (dev, lab, demo, bench): the image's long-running intake
// (`starter serve`) then links neither, as the worker does not. A test in internal/deploy keeps
// the image's binaries' import graphs free of them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	// Time zone data for schedules and timestamps on machines without /usr/share/zoneinfo.
	_ "time/tzdata"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	var exit exitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		os.Exit(int(exit))
	default:
		fmt.Fprintln(os.Stderr, "starter:", err)
		os.Exit(1)
	}
}

// exitError ends the process with a code after the command already printed why.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// io bundles what a subcommand may touch, so tests run commands in-process.
type cmdIO struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

type command struct {
	summary string
	run     func(ctx context.Context, args []string, io cmdIO) error
}

func commands() map[string]command {
	cmds := map[string]command{
		"validate": {"validate runbooks and environments: validate [PATH...]", runValidate},
		"run":      {"start a runbook: run RUNBOOK --env ENV [--param k=v] [--mode plan] [--follow]", runRun},
		"status":   {"list runs, or show one run's steps: status [ID] [--follow]", runStatus},
		"approve":  {"approve a waiting step: approve ID --step S --as USER [--comment ...]", runApprove},
		"reject":   {"reject a waiting step: reject ID --step S --as USER --comment REASON", runReject},
		"cancel":   {"cancel a run: cancel ID", runCancel},
		"verify":   {"prove the recovered Region has every document: verify --env ENV --source R --target R [--follow]", runVerify},
		"report":   {"print a run's report (steps, approvals, RTO, RPO evidence): report ID [--format md|html|json]", runReport},
		"serve":    {"run the intake for Slack and alarms (SQS, SNS): serve --addr HOST:PORT [--alarm-queue URL]", runServe},
		"schedule": {"manage drill and plan-evaluation schedules: schedule create drill|plan, list, trigger, delete", runSchedule},
		"prod":     {"run the production topology on this machine (PostgreSQL, Temporal's services, UI, workers, intake): prod up|status|down", runProd},
	}
	cmds["readiness"] = command{"evaluate an environment's readiness now, show the latest, or schedule it: readiness [latest|schedule] --env ENV [--json]", runReadiness}
	for name, c := range controlCommands() {
		cmds[name] = c
	}
	for name, c := range devCommands() {
		cmds[name] = c
	}
	return cmds
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cio := cmdIO{stdout: stdout, stderr: stderr, getenv: getenv}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return nil
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		usage(stderr)
		return fmt.Errorf("unknown command %q", args[0])
	}
	err := cmd.run(ctx, args[1:], cio)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: starter COMMAND [flags]\n\nCommands:")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	for _, n := range names {
		fmt.Fprintf(w, "  %-*s %s\n", width, n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun `starter COMMAND -h` for a command's flags.")
}

func newFlags(name string, cio cmdIO) *flag.FlagSet {
	fs := flag.NewFlagSet("starter "+name, flag.ContinueOnError)
	fs.SetOutput(cio.stderr)
	return fs
}

// parseInterspersed parses flags that may come after positional arguments (`run failover --env lab`).
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// orNone shows an empty setting as disabled.
func orNone(s string) string {
	if s == "" {
		return "(disabled)"
	}
	return s
}
