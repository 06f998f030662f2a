// Package statuspage serves Switchyard's read-only status page: per environment, where traffic
// goes now (as DNS answers it), the replicators' lag both ways over the last hour, the pipelines
// and collections, the latest readiness evaluation, the DR lock's running operation and the last
// drill. It is server-rendered HTML with an SVG chart, works without JavaScript and refreshes
// itself. It is an internal page: it shows infrastructure names and has no authentication, so
// `starter serve` and `starter dev` bind it to loopback unless told otherwise.
package statuspage

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/switchyard-dr/switchyard/internal/report"
	"github.com/switchyard-dr/switchyard/internal/wire"
)

// Page is everything the template renders.
type Page struct {
	GeneratedAt time.Time
	// Refresh is the meta refresh interval in seconds.
	Refresh      int
	Environments []Env
	Error        string
}

// Env is one environment's status.
type Env struct {
	Name        string
	Regions     []string
	Error       string
	Traffic     Traffic
	Lag         Chart
	LagLines    []LagLine
	Pipelines   []Resource
	Collections []Resource
	// Readiness is nil until a readiness evaluation of the environment completed.
	Readiness *Readiness
	// Lock is nil when no DR operation runs on the environment.
	Lock *Lock
	// LastDrill is nil when no drill ran yet.
	LastDrill *Drill
}

// Traffic is where writes go, as the lever and as DNS answers say.
type Traffic struct {
	Lever, Summary   string
	Record, Resolver string
	Samples          int
	Shares           []Share
	Note, Error      string
}

// Share is one Region's part of the DNS answers.
type Share struct {
	Region  string
	Answers int
	Percent float64
}

// LagLine describes one line of the lag chart.
type LagLine struct {
	Into, Replicator, Class string
	Last                    float64
	HasLast                 bool
	LastAt                  time.Time
	Error                   string
}

// Resource is a pipeline or collection of one Region.
type Resource struct {
	Region, Name, Status string
	OK                   bool
	Detail               string
}

// Readiness is the latest evaluation.
type Readiness struct {
	State       string
	EvaluatedAt time.Time
	Checks      []Check
	Error       string
}

// Check is one readiness check.
type Check struct {
	Name, Region, State, What, Source string
}

// Lock is the running DR operation holding switchyard/<env>.
type Lock struct {
	WorkflowID, RunID, Runbook, RequestedBy string
	StartedAt                               time.Time
	Current                                 []string
	Steps                                   []StepLine
	URL                                     string
	Error                                   string
}

// StepLine is a step the operation is at.
type StepLine struct {
	Path, Name, Status, What string
}

// Drill is the last closed drill.
type Drill struct {
	WorkflowID, RunID, Outcome string
	EndedAt                    time.Time
	RTO, RPO                   string
	URL, ReportURL             string
	Error                      string
}

//go:embed page.html.tmpl
var files embed.FS

var funcs = template.FuncMap{
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		d := time.Since(t).Round(time.Second)
		switch {
		case d < time.Minute:
			return fmt.Sprintf("%ds ago", int(d.Seconds()))
		case d < time.Hour:
			return fmt.Sprintf("%dm ago", int(d.Minutes()))
		}
		return fmt.Sprintf("%.1fh ago", d.Hours())
	},
	"utc":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"count": FormatCount,
	"pct":   func(v float64) string { return fmt.Sprintf("%.0f %%", v) },
	"stateClass": func(s string) string {
		switch s {
		case wire.ReadinessPassed, "ACTIVE", "succeeded":
			return "ok"
		case wire.ReadinessActionRequired, "failed", "rolled_back":
			return "bad"
		}
		return "warn"
	},
	"join": strings.Join,
}

var pageTmpl = template.Must(template.New("page.html.tmpl").Funcs(funcs).ParseFS(files, "page.html.tmpl"))

// Render writes the page.
func Render(p Page) ([]byte, error) {
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, p); err != nil {
		return nil, fmt.Errorf("render status page: %w", err)
	}
	return b.Bytes(), nil
}

// Handler serves the page (GET /) and run reports (GET /report?id=...&run=...).
type Handler struct {
	C       *Collector
	Refresh time.Duration
	Logger  *slog.Logger
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "read-only page", http.StatusMethodNotAllowed)
		return
	}
	switch r.URL.Path {
	case "/", "/status":
		h.page(w, r)
	case "/report":
		h.report(w, r)
	case "/healthz":
		fmt.Fprintln(w, "ok")
	default:
		http.NotFound(w, r)
	}
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	refresh := h.Refresh
	if refresh <= 0 {
		refresh = 15 * time.Second
	}
	p := Page{GeneratedAt: time.Now(), Refresh: int(refresh.Seconds())}
	names, err := h.C.Environments()
	if err != nil {
		p.Error = err.Error()
	}
	p.Environments = make([]Env, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Environments[i] = h.C.Collect(r.Context(), name)
		}()
	}
	wg.Wait()
	b, err := Render(p)
	if err != nil {
		h.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

func (h *Handler) report(w http.ResponseWriter, r *http.Request) {
	id, runID := r.URL.Query().Get("id"), r.URL.Query().Get("run")
	if id == "" {
		http.Error(w, "report: ?id=<workflow id> is required", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	res, err := Result(ctx, h.C.Temporal, id, runID)
	if res == nil {
		http.Error(w, fmt.Sprintf("report of %s: %v", id, err), http.StatusNotFound)
		return
	}
	b, err := report.FromProgress(id, &res.Progress).HTML()
	if err != nil {
		h.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b)
}

func (h *Handler) fail(w http.ResponseWriter, err error) {
	if h.Logger != nil {
		h.Logger.Warn("status page", "error", err)
	}
	http.Error(w, err.Error(), http.StatusInternalServerError)
}
