//go:build !nodev

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/interceptor"
	"gopkg.in/yaml.v3"

	"github.com/switchyard-dr/switchyard/internal/devserver"
	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/internal/triggers"
	"github.com/switchyard-dr/switchyard/workflows"
)

// privateLab is a lab on free ports with its own embedded Temporal server and worker, bound by
// a runbook folder of its own. The demo, the benchmarks and the tests use one so that they never
// collide with a `starter dev` on the default ports.
type privateLab struct {
	lab *lab.Lab
	dev *devEnv
	dir string
	// serverOpts are the server's options (startPrivateLabServer only).
	serverOpts devserver.Options
}

// startPrivateLab starts the lab (on random ports whatever opts says), a runbook folder with the
// runbooks of runbooks bound to it, and a server with a worker reading that folder.
func startPrivateLab(ctx context.Context, opts lab.Options, runbooks string, interceptors []interceptor.WorkerInterceptor, logger *slog.Logger) (*privateLab, error) {
	p, port, err := startLabFolder(ctx, opts, runbooks, logger)
	if err != nil {
		return nil, err
	}
	if p.dev, err = startDev(ctx, devOptions{ip: "127.0.0.1", port: port, uiPort: -1, namespace: "default", runbooks: p.dir,
		interceptors: interceptors}, logger); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// startLabFolder starts the lab on random ports (whatever opts says) and its runbook folder,
// and picks a free port for the server.
func startLabFolder(ctx context.Context, opts lab.Options, runbooks string, logger *slog.Logger) (*privateLab, int, error) {
	opts.RandomPorts = true
	if opts.Logger == nil {
		opts.Logger = logger
	}
	l, err := lab.Start(ctx, opts)
	if err != nil {
		return nil, 0, fmt.Errorf("start lab: %w", err)
	}
	p := &privateLab{lab: l}
	if p.dir, err = labRunbookDir(runbooks, l); err != nil {
		p.close()
		return nil, 0, err
	}
	port, err := devserver.FreePort()
	if err != nil {
		p.close()
		return nil, 0, err
	}
	return p, port, nil
}

// startPrivateLabServer is startPrivateLab without the worker: the lab, its runbook folder and an
// embedded server with the search attributes startDev registers. The reliability tests run the
// worker as a process of its own, to kill it; dbFile keeps the server's state in a file (empty: in
// memory).
func startPrivateLabServer(ctx context.Context, opts lab.Options, runbooks, dbFile string, logger *slog.Logger) (*privateLab, error) {
	p, port, err := startLabFolder(ctx, opts, runbooks, logger)
	if err != nil {
		return nil, err
	}
	sa := map[string]enumspb.IndexedValueType{}
	for _, name := range workflows.SearchAttributeNames() {
		sa[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	p.serverOpts = devserver.Options{IP: "127.0.0.1", Port: port, UIPort: -1, DatabaseFile: dbFile,
		Namespaces: []string{"default"}, SearchAttributes: sa, Logger: logger}
	p.dev = &devEnv{}
	if err := p.startServer(ctx); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// startServer starts the server of a startPrivateLabServer lab.
func (p *privateLab) startServer(ctx context.Context) error {
	srv, err := devserver.Start(ctx, p.serverOpts)
	if err != nil {
		return fmt.Errorf("start dev server: %w", err)
	}
	p.dev.server = srv
	return nil
}

func (p *privateLab) close() {
	if p.dev != nil {
		p.dev.stop()
	}
	if p.dir != "" {
		_ = os.RemoveAll(p.dir)
	}
	p.lab.Close()
}

// labRunbookDir makes a runbook folder for a lab on ports of its own: the runbooks and the lab's
// trigger rules of src, and an environments/lab.yaml naming the lab's actual endpoints.
func labRunbookDir(src string, l *lab.Lab) (string, error) {
	dir, err := os.MkdirTemp("", "switchyard-runbooks-")
	if err != nil {
		return "", err
	}
	n, err := copyYAML(src, dir)
	if err != nil {
		return "", err
	}
	if n == 0 {
		return "", fmt.Errorf("no runbooks in %s", src)
	}
	// Only the lab's trigger rules: rules of other environments name environments this folder
	// does not have.
	if rules, err := os.ReadFile(filepath.Join(src, triggers.Dir, "lab.yaml")); err == nil {
		if err := os.MkdirAll(filepath.Join(dir, triggers.Dir), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, triggers.Dir, "lab.yaml"), rules, 0o644); err != nil {
			return "", err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	env, err := yaml.Marshal(l.Environment())
	if err != nil {
		return "", fmt.Errorf("lab environment: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "environments"), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "environments", "lab.yaml"), env, 0o644); err != nil {
		return "", err
	}
	return dir, nil
}

// copyYAML copies the .yaml files of one folder (not its subfolders) and says how many.
func copyYAML(src, dst string) (int, error) {
	files, err := runbook.YAMLFiles(src)
	if err != nil {
		return 0, err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o644); err != nil {
			return 0, err
		}
	}
	return len(files), nil
}
