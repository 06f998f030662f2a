package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The fault API is plain JSON over HTTP so that a drill script, curl or the CLI can break and
// heal the lab without Go:
//
//	GET    /faults                      → {"faults": [Fault...]}
//	POST   /faults          Fault       → the Fault as recorded (400 {"error": ...} if invalid)
//	DELETE /faults/{id}                 → {"healed": ["id"]} (or [] when it was not active)
//	DELETE /faults?kind=..&region=..    → heals the fault those fields identify
//	DELETE /faults                      → heals every fault
//	GET    /endpoints                   → Endpoints
//	GET    /status                      → producer counts and alarm states
//	GET    /environment                 → the runbook environment bound to this lab

func (l *Lab) faultAPI() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"faults": l.Faults()})
	})
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			writeError(w, fmt.Errorf("%w: %w", ErrInvalidFault, err))
			return
		}
		got, err := l.Inject(r.Context(), f)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, got)
	})
	mux.HandleFunc("DELETE /faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		l.heal(w, r, Fault{ID: r.PathValue("id")})
	})
	mux.HandleFunc("DELETE /faults", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("kind") == "" && q.Get("id") == "" {
			healed, err := l.HealAll(r.Context())
			if err != nil {
				writeError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"healed": nonNilStrings(healed)})
			return
		}
		f, err := faultFromQuery(q)
		if err != nil {
			writeError(w, err)
			return
		}
		l.heal(w, r, f)
	})
	mux.HandleFunc("GET /endpoints", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, l.Endpoints())
	})
	mux.HandleFunc("GET /environment", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, l.Environment())
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, l.Status())
	})
	return mux
}

func (l *Lab) heal(w http.ResponseWriter, r *http.Request, f Fault) {
	ok, err := l.Heal(r.Context(), f)
	if err != nil {
		writeError(w, err)
		return
	}
	healed := []string{}
	if ok {
		id := f.ID
		if id == "" {
			nf, _ := l.normalize(f) // Heal normalized it already
			id = nf.ID
		}
		healed = append(healed, id)
	}
	writeJSON(w, http.StatusOK, map[string]any{"healed": healed})
}

// Status is a snapshot for operators: what the producer sent and the alarm states.
type Status struct {
	Producer *ProducerStats               `json:"producer,omitempty"`
	Alarms   map[string]map[string]string `json:"alarms"`
	Faults   []Fault                      `json:"faults"`
}

// Status returns the lab's status.
func (l *Lab) Status() Status {
	st := Status{Alarms: map[string]map[string]string{}, Faults: l.Faults()}
	if l.producer != nil {
		ps := l.producer.Stats()
		st.Producer = &ps
	}
	for _, name := range l.order {
		st.Alarms[name] = map[string]string{}
		for _, a := range l.twin.Alarms(name) {
			st.Alarms[name][a.Name] = a.State
		}
	}
	return st
}

func faultFromQuery(q url.Values) (Fault, error) {
	f := Fault{ID: q.Get("id"), Kind: FaultKind(q.Get("kind")), Region: q.Get("region"), Replicator: q.Get("replicator"),
		Service: q.Get("service"), Operation: q.Get("operation"), Zone: q.Get("zone")}
	if s := q.Get("share"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return Fault{}, fmt.Errorf("%w: share %q: %w", ErrInvalidFault, s, err)
		}
		f.Share = v
	}
	if s := q.Get("delay"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return Fault{}, fmt.Errorf("%w: delay %q: %w", ErrInvalidFault, s, err)
		}
		f.Delay = Duration(d)
	}
	return f, nil
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // a failed write means the client went away
}

func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	if errors.Is(err, ErrInvalidFault) {
		status = http.StatusBadRequest
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

// FaultClient talks to a lab's fault API, from `starter lab fault ...` or a drill.
type FaultClient struct {
	// BaseURL is the fault API, e.g. [DefaultFaultAPI].
	BaseURL string
	// HTTP is the client to use; nil means one with a 30-second timeout.
	HTTP *http.Client
}

// NewFaultClient returns a client for the fault API at baseURL.
func NewFaultClient(baseURL string) *FaultClient {
	return &FaultClient{BaseURL: strings.TrimSuffix(baseURL, "/"), HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// Inject injects (or updates) a fault and returns it as the lab recorded it.
func (c *FaultClient) Inject(ctx context.Context, f Fault) (Fault, error) {
	var out Fault
	err := c.do(ctx, http.MethodPost, "/faults", f, &out)
	return out, err
}

// Heal heals the fault f identifies (by ID, or by kind and target) and returns the ID healed,
// none when it was not active.
func (c *FaultClient) Heal(ctx context.Context, f Fault) ([]string, error) {
	path := "/faults/" + url.PathEscape(f.ID)
	if f.ID == "" {
		if f.Kind == "" {
			return nil, fmt.Errorf("%w: heal needs a fault id or kind", ErrInvalidFault)
		}
		q := url.Values{"kind": {string(f.Kind)}}
		for k, v := range map[string]string{"region": f.Region, "replicator": f.Replicator, "service": f.Service,
			"operation": f.Operation, "zone": f.Zone} {
			if v != "" {
				q.Set(k, v)
			}
		}
		path = "/faults?" + q.Encode()
	}
	var out struct {
		Healed []string `json:"healed"`
	}
	err := c.do(ctx, http.MethodDelete, path, nil, &out)
	return out.Healed, err
}

// HealAll heals every fault and returns the IDs healed.
func (c *FaultClient) HealAll(ctx context.Context) ([]string, error) {
	var out struct {
		Healed []string `json:"healed"`
	}
	err := c.do(ctx, http.MethodDelete, "/faults", nil, &out)
	return out.Healed, err
}

// List returns the active faults.
func (c *FaultClient) List(ctx context.Context) ([]Fault, error) {
	var out struct {
		Faults []Fault `json:"faults"`
	}
	err := c.do(ctx, http.MethodGet, "/faults", nil, &out)
	return out.Faults, err
}

// Endpoints returns the lab's endpoints.
func (c *FaultClient) Endpoints(ctx context.Context) (Endpoints, error) {
	var out Endpoints
	err := c.do(ctx, http.MethodGet, "/endpoints", nil, &out)
	return out, err
}

// Status returns the lab's status.
func (c *FaultClient) Status(ctx context.Context) (Status, error) {
	var out Status
	err := c.do(ctx, http.MethodGet, "/status", nil, &out)
	return out, err
}

func (c *FaultClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("lab fault API: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return fmt.Errorf("lab fault API: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("lab fault API at %s (is `starter lab` running?): %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("lab fault API: read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			if resp.StatusCode == http.StatusBadRequest {
				return errors.New(e.Error) // already names the invalid fault
			}
			return fmt.Errorf("lab fault API: %s", e.Error)
		}
		return fmt.Errorf("lab fault API: %s %s: HTTP %d", method, path, resp.StatusCode)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("lab fault API: decode response: %w", err)
	}
	return nil
}
