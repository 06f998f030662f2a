package awstwin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"
)

// OpenSearch Ingestion speaks restJson1 with PascalCase members and epoch-seconds timestamps
// (no jsonName or timestampFormat traits in its model).

func osisService() *service {
	return &service{
		name:         ServiceOSIS,
		namespace:    "com.amazonaws.osis",
		defaultProto: protoRestJSON,
		resolve:      resolveOSIS,
		ops: map[string]func(*call) error{
			"GetPipeline":   osisGetPipeline,
			"ListPipelines": osisListPipelines,
			"StartPipeline": osisStartPipeline,
			"StopPipeline":  osisStopPipeline,
			// UpdatePipeline: osis_settings.go.
			"UpdatePipeline": osisUpdatePipeline,
		},
		throttle: apiError{Status: http.StatusTooManyRequests, Code: "ThrottlingException", Message: "Rate exceeded"},
		internal: apiError{Status: http.StatusInternalServerError, Code: "InternalException", Receiver: true},
	}
}

func resolveOSIS(c *call) *apiError {
	seg := segments(c.r)
	m := c.r.Method
	if len(seg) >= 3 && seg[0] == "2022-01-01" && seg[1] == "osis" {
		switch {
		case m == http.MethodGet && len(seg) == 4 && seg[2] == "getPipeline":
			c.op, c.labels = "GetPipeline", seg[3:]
			return nil
		case m == http.MethodGet && len(seg) == 3 && seg[2] == "listPipelines":
			c.op = "ListPipelines"
			return nil
		case m == http.MethodPut && len(seg) == 4 && seg[2] == "startPipeline":
			c.op, c.labels = "StartPipeline", seg[3:]
			return nil
		case m == http.MethodPut && len(seg) == 4 && seg[2] == "stopPipeline":
			c.op, c.labels = "StopPipeline", seg[3:]
			return nil
		case m == http.MethodPut && len(seg) == 4 && seg[2] == "updatePipeline":
			c.op, c.labels = "UpdatePipeline", seg[3:]
			return nil
		}
	}
	return &apiError{Status: http.StatusNotFound, Code: "ResourceNotFoundException", Message: fmt.Sprintf("the lab twin does not implement osis %s %s", m, c.r.URL.Path)}
}

func epochSeconds(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return float64(t.UnixMilli()) / 1e3
}

func osisTags(tags map[string]string) []map[string]string {
	out := []map[string]string{}
	for _, k := range sortedKeys(tags) {
		out = append(out, map[string]string{"Key": k, "Value": tags[k]})
	}
	return out
}

func osisDestinations(p Pipeline) []map[string]string {
	out := []map[string]string{}
	for _, d := range p.Destinations {
		out = append(out, map[string]string{"ServiceName": d.ServiceName, "Endpoint": d.Endpoint})
	}
	return out
}

func osisSummary(p Pipeline) map[string]any {
	m := map[string]any{
		"PipelineName":  p.Name,
		"PipelineArn":   p.ARN,
		"Status":        p.Status,
		"MinUnits":      p.MinUnits,
		"MaxUnits":      p.MaxUnits,
		"CreatedAt":     epochSeconds(p.CreatedAt),
		"LastUpdatedAt": epochSeconds(p.LastUpdatedAt),
		"Destinations":  osisDestinations(p),
		"Tags":          osisTags(p.Tags),
	}
	if p.StatusReason != "" {
		m["StatusReason"] = map[string]string{"Description": p.StatusReason}
	}
	return dropNil(m)
}

func osisDetail(p Pipeline) map[string]any {
	m := osisSummary(p)
	m["PipelineConfigurationBody"] = p.ConfigurationBody
	m["IngestEndpointUrls"] = nonNil(p.IngestEndpointURLs)
	osisOptions(p, m)
	return m
}

func findPipeline(c *call, name string) (Pipeline, error) {
	all, err := c.backends().OSIS.Pipelines(c.ctx)
	if err != nil {
		return Pipeline{}, fmt.Errorf("list OSI pipelines in %s: %w", c.rs.name, err)
	}
	for _, p := range all {
		if p.Name == name {
			return c.overlayPipeline(p), nil
		}
	}
	return Pipeline{}, osisNotFound(name)
}

func osisNotFound(name string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: "ResourceNotFoundException", Message: fmt.Sprintf("Pipeline %s not found.", name)}
}

func osisGetPipeline(c *call) error {
	p, err := findPipeline(c, c.labels[0])
	if err != nil {
		return err
	}
	return c.replyJSON(map[string]any{"Pipeline": osisDetail(p)})
}

func osisListPipelines(c *call) error {
	all, err := c.backends().OSIS.Pipelines(c.ctx)
	if err != nil {
		return fmt.Errorf("list OSI pipelines in %s: %w", c.rs.name, err)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	q := c.r.URL.Query()
	page, next, perr := paginate(all, q.Get("nextToken"), q.Get("maxResults"), 100, 100)
	if perr != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "ValidationException", Message: perr.Error()}
	}
	out := make([]map[string]any, 0, len(page))
	for _, p := range page {
		out = append(out, osisSummary(c.overlayPipeline(p)))
	}
	return c.replyJSON(dropNil(map[string]any{"Pipelines": out, "NextToken": omitEmpty(next)}))
}

func osisStartPipeline(c *call) error {
	return osisTransition(c, c.backends().OSIS.StartPipeline)
}

func osisStopPipeline(c *call) error {
	return osisTransition(c, c.backends().OSIS.StopPipeline)
}

// PipelineRequest is one StartPipeline or StopPipeline call the twin served (it reached the
// operation; a call refused by a fault before it ran is not one). Like [Route53Change], the log
// of them is ground truth for exactly-once tests: a step retried after its answer was lost must
// read the pipeline, find it STARTING and not ask again.
type PipelineRequest struct {
	Region    string
	Pipeline  string
	Operation string // StartPipeline or StopPipeline
	At        time.Time
	// Status is the status answered; empty when the call was refused (Error holds why).
	Status string
	Error  string
}

type pipelineLog struct {
	mu      sync.Mutex
	entries []PipelineRequest
}

// PipelineRequests returns the StartPipeline and StopPipeline calls served in region (every
// Region when empty), oldest first.
func (t *Twin) PipelineRequests(region string) []PipelineRequest {
	t.plog.mu.Lock()
	defer t.plog.mu.Unlock()
	var out []PipelineRequest
	for _, r := range t.plog.entries {
		if region == "" || r.Region == region {
			out = append(out, r)
		}
	}
	return out
}

func osisTransition(c *call, do func(ctx context.Context, name string) (Pipeline, error)) error {
	name := c.labels[0]
	p, err := do(c.ctx, name)
	entry := PipelineRequest{Region: c.rs.name, Pipeline: name, Operation: c.op, At: c.t.now(), Status: p.Status}
	if err != nil {
		entry.Status, entry.Error = "", err.Error()
	}
	c.t.plog.mu.Lock()
	c.t.plog.entries = append(c.t.plog.entries, entry)
	c.t.plog.mu.Unlock()
	switch {
	case errors.Is(err, ErrNotFound):
		return osisNotFound(name)
	case errors.Is(err, ErrInvalidState):
		return &apiError{Status: http.StatusConflict, Code: "ConflictException", Message: err.Error()}
	case errors.Is(err, ErrInvalidInput):
		return &apiError{Status: http.StatusBadRequest, Code: "ValidationException", Message: err.Error()}
	case err != nil:
		return fmt.Errorf("%s %s: %w", c.op, name, err)
	}
	return c.replyJSON(map[string]any{"Pipeline": osisDetail(c.overlayPipeline(p))})
}
