package activities

import (
	"log/slog"
	"net/http"
	"sort"

	"go.temporal.io/sdk/activity"

	"github.com/switchyard-dr/switchyard/workflows"
)

// Options configures the activities a worker offers.
type Options struct {
	// RunbookDir is the folder of runbook files (required).
	RunbookDir string
	// Notifier delivers messages; nil logs them.
	Notifier Notifier
	// HTTP is the client for http.* entries; nil uses a 30 s timeout client.
	HTTP   *http.Client
	Logger *slog.Logger
}

// NewCatalogRegistry builds the registry of every catalog entry this build offers.
func NewCatalogRegistry(opts Options) *Registry {
	r := NewRegistry()
	RegisterCore(r, &Core{HTTP: opts.HTTP})
	return r
}

// RegisterAll registers the catalog and the interpreter's activities on w and returns the
// registry, whose catalog validates runbooks.
func RegisterAll(w ActivityRegistry, opts Options) *Registry {
	reg := NewCatalogRegistry(opts)
	reg.RegisterActivities(w)
	notifier := opts.Notifier
	if notifier == nil {
		notifier = LogNotifier{Logger: opts.Logger}
	}
	e := &Engine{RunbookDir: opts.RunbookDir, Registry: reg, Notifier: notifier}
	e.Register(w)
	return reg
}

// Register registers the interpreter's own activities under their stable names.
func (e *Engine) Register(w ActivityRegistry) {
	w.RegisterActivityWithOptions(e.LoadRunbook, activity.RegisterOptions{Name: workflows.LoadRunbookActivity})
	w.RegisterActivityWithOptions(e.WaitUntil, activity.RegisterOptions{Name: workflows.WaitUntilActivity})
	w.RegisterActivityWithOptions(e.Notify, activity.RegisterOptions{Name: workflows.NotifyActivity})
}

func sortStrings(s []string) { sort.Strings(s) }
