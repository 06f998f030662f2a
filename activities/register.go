package activities

import (
	"log/slog"
	"net/http"

	"go.temporal.io/sdk/activity"

	"github.com/switchyard-dr/switchyard/internal/awsclients"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/internal/wire"
)

// Options configures the activities a worker offers.
type Options struct {
	// RunbookDir is the folder of runbook files (required).
	RunbookDir string
	// Store reads RunbookDir for the engine and every catalog entry; nil makes one. The worker
	// passes its own to export the store's reload counter.
	Store *runbook.Store
	// Notifier delivers messages; nil logs them.
	Notifier Notifier
	// HTTP is the client for http.* entries; nil uses a 30 s timeout client.
	HTTP *http.Client
	// AWS builds the per-Region AWS clients every cloud entry and the backfill verification
	// share; nil uses a default factory.
	AWS    *awsclients.Factory
	Logger *slog.Logger
}

// NewCatalogRegistry builds the registry of every catalog entry this build offers.
func NewCatalogRegistry(opts Options) *Registry {
	r, _, _ := newCatalog(opts)
	return r
}

// newCatalog builds the registry and returns the backfill activities it registered checks of,
// so RegisterAll can register that same value's workflow activities. One AWS client factory
// serves every entry, so each Region's configuration (credentials, assumed role) is resolved
// once per process.
func newCatalog(opts Options) (*Registry, *Backfill, *Readiness) {
	if opts.Store == nil {
		opts.Store = runbook.NewStore(opts.RunbookDir)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	factory := opts.AWS
	if factory == nil {
		factory = awsclients.New(awsclients.Options{Logger: logger})
	}
	r := NewRegistry()
	RegisterCore(r, &Core{HTTP: opts.HTTP})
	cloud := NewCloud(CloudOptions{RunbookDir: opts.RunbookDir, Store: opts.Store, AWS: factory, Logger: logger})
	RegisterCloud(r, cloud)
	b := NewBackfill(BackfillOptions{RunbookDir: opts.RunbookDir, Store: opts.Store, AWS: factory, Logger: logger})
	RegisterBackfillChecks(r, b)
	rd := NewReadiness(cloud, r, opts.Store)
	RegisterReadinessChecks(r, rd)
	return r, b, rd
}

// RegisterAll registers the catalog and the interpreter's activities on w and returns the
// registry, whose catalog validates runbooks.
func RegisterAll(w ActivityRegistry, opts Options) *Registry {
	if opts.Store == nil {
		opts.Store = runbook.NewStore(opts.RunbookDir)
	}
	reg, backfill, readiness := newCatalog(opts)
	reg.RegisterActivities(w)
	readiness.Register(w)
	notifier := opts.Notifier
	if notifier == nil {
		notifier = LogNotifier{Logger: opts.Logger}
	}
	e := &Engine{RunbookDir: opts.RunbookDir, Store: opts.Store, Registry: reg, Notifier: notifier}
	e.Register(w)
	backfill.Register(w)
	return reg
}

// Register registers the interpreter's own activities under their stable names.
func (e *Engine) Register(w ActivityRegistry) {
	w.RegisterActivityWithOptions(e.LoadRunbook, activity.RegisterOptions{Name: wire.LoadRunbookActivity})
	w.RegisterActivityWithOptions(e.WaitUntil, activity.RegisterOptions{Name: wire.WaitUntilActivity})
	w.RegisterActivityWithOptions(e.Notify, activity.RegisterOptions{Name: wire.NotifyActivity})
}
