package awstwin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// OSI pipeline settings the twin owns on top of what a backend reports: capacity (MinUnits,
// MaxUnits), persistent buffering, log publishing and the configuration body, changed with
// UpdatePipeline (PUT /2022-01-01/osis/updatePipeline/{PipelineName},
// https://docs.aws.amazon.com/opensearch-service/latest/APIReference/API_osis_UpdatePipeline.html).
// A backend gives each pipeline's initial values; an update overrides them from then on, as the
// service keeps a pipeline's configuration apart from its data path.

// PipelineLogPublishing mirrors osis types.LogPublishingOptions.
type PipelineLogPublishing struct {
	IsLoggingEnabled bool
	// LogGroup is CloudWatchLogDestination.LogGroup; "" leaves the destination out.
	LogGroup string
}

// PipelineUpdate is an UpdatePipeline request; nil fields are left as they are, as the API
// changes only the members a request carries.
type PipelineUpdate struct {
	MinUnits, MaxUnits        *int
	PersistentBufferEnabled   *bool
	LogPublishing             *PipelineLogPublishing
	PipelineConfigurationBody *string
	KMSKeyARN                 *string
}

// osisState is one Region's pipeline settings, by pipeline name.
type osisState struct {
	mu       sync.Mutex
	settings map[string]PipelineUpdate
	// updatingUntil: a pipeline reports UPDATING until then after an UpdatePipeline.
	updatingUntil map[string]time.Time
	updateDelay   time.Duration
	updates       []PipelineUpdateRequest
}

func newOSISState() *osisState {
	return &osisState{settings: map[string]PipelineUpdate{}, updatingUntil: map[string]time.Time{}}
}

// PipelineUpdateRequest is one UpdatePipeline call the twin applied: the log a test reads to
// prove that an idempotent setter asked once (or not at all when nothing differed).
type PipelineUpdateRequest struct {
	Region, Pipeline string
	At               time.Time
	Update           PipelineUpdate
}

// PipelineUpdates returns the UpdatePipeline calls applied in region (every Region when ""),
// oldest first.
func (t *Twin) PipelineUpdates(region string) []PipelineUpdateRequest {
	var out []PipelineUpdateRequest
	t.mu.Lock()
	regions := make([]*regionState, 0, len(t.regions))
	for _, rs := range t.regions {
		regions = append(regions, rs)
	}
	t.mu.Unlock()
	for _, rs := range regions {
		if region != "" && rs.name != region {
			continue
		}
		rs.osis.mu.Lock()
		out = append(out, rs.osis.updates...)
		rs.osis.mu.Unlock()
	}
	return out
}

// SetPipelineUpdateDelay sets how long a pipeline reports UPDATING after an UpdatePipeline in
// region. OSI reports UPDATING while it applies a change and ACTIVE once done
// (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/pipeline--status.html);
// 0 (the default) applies updates at once.
func (t *Twin) SetPipelineUpdateDelay(region string, d time.Duration) {
	s := t.region(region).osis
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updateDelay = d
}

// SetPipelineSettings changes a pipeline's settings without an API call (no log entry, no
// UPDATING): the lab's faults use it to break a pipeline's configuration as an operator's
// console change would, and to heal it.
func (t *Twin) SetPipelineSettings(region, name string, u PipelineUpdate) {
	s := t.region(region).osis
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settings[name] = mergeUpdate(s.settings[name], u)
}

// ResetPipelineSettings forgets every setting changed in region, so pipelines report what their
// backend gives again.
func (t *Twin) ResetPipelineSettings(region, name string) {
	s := t.region(region).osis
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.settings, name)
}

func mergeUpdate(cur, u PipelineUpdate) PipelineUpdate {
	if u.MinUnits != nil {
		cur.MinUnits = u.MinUnits
	}
	if u.MaxUnits != nil {
		cur.MaxUnits = u.MaxUnits
	}
	if u.PersistentBufferEnabled != nil {
		cur.PersistentBufferEnabled = u.PersistentBufferEnabled
	}
	if u.LogPublishing != nil {
		cur.LogPublishing = u.LogPublishing
	}
	if u.PipelineConfigurationBody != nil {
		cur.PipelineConfigurationBody = u.PipelineConfigurationBody
	}
	if u.KMSKeyARN != nil {
		cur.KMSKeyARN = u.KMSKeyARN
	}
	return cur
}

// overlay applies the Region's settings to a pipeline as its backend reports it.
func (s *osisState) overlay(p Pipeline, now time.Time) Pipeline {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.settings[p.Name]
	if ok {
		if u.MinUnits != nil {
			p.MinUnits = *u.MinUnits
		}
		if u.MaxUnits != nil {
			p.MaxUnits = *u.MaxUnits
		}
		if u.PersistentBufferEnabled != nil {
			p.PersistentBufferEnabled = *u.PersistentBufferEnabled
		}
		if u.LogPublishing != nil {
			lp := *u.LogPublishing
			p.LogPublishing = &lp
		}
		if u.PipelineConfigurationBody != nil {
			p.ConfigurationBody = *u.PipelineConfigurationBody
		}
		if u.KMSKeyARN != nil {
			p.KMSKeyARN = *u.KMSKeyARN
		}
	}
	if until, ok := s.updatingUntil[p.Name]; ok && now.Before(until) && p.Status == "ACTIVE" {
		p.Status = "UPDATING"
	}
	return p
}

func (c *call) overlayPipeline(p Pipeline) Pipeline {
	return c.rs.osis.overlay(p, c.t.now())
}

// osisUpdatePipeline serves UpdatePipeline. AWS validates units ("Valid Range: Minimum value of
// 1" for both, API_osis_UpdatePipeline.html above), wants a log group when logging is enabled
// ("This parameter is required if IsLoggingEnabled is set to true",
// https://docs.aws.amazon.com/opensearch-service/latest/APIReference/API_osis_LogPublishingOptions.html),
// refuses MaxUnits above the account's per-pipeline Ingestion OCU quota (the twin reads its own
// Service Quotas table, servicequotas.go) and refuses a pipeline in a transition with
// ConflictException (HTTP 409, the error list of API_osis_UpdatePipeline.html).
func osisUpdatePipeline(c *call) error {
	name := c.labels[0]
	var in struct {
		MinUnits      *int `json:"MinUnits"`
		MaxUnits      *int `json:"MaxUnits"`
		BufferOptions *struct {
			PersistentBufferEnabled *bool `json:"PersistentBufferEnabled"`
		} `json:"BufferOptions"`
		LogPublishingOptions *struct {
			IsLoggingEnabled         *bool `json:"IsLoggingEnabled"`
			CloudWatchLogDestination *struct {
				LogGroup string `json:"LogGroup"`
			} `json:"CloudWatchLogDestination"`
		} `json:"LogPublishingOptions"`
		EncryptionAtRestOptions *struct {
			KmsKeyArn string `json:"KmsKeyArn"`
		} `json:"EncryptionAtRestOptions"`
		PipelineConfigurationBody *string `json:"PipelineConfigurationBody"`
		PipelineRoleArn           *string `json:"PipelineRoleArn"`
	}
	if err := json.Unmarshal(nonEmptyJSON(c.body), &in); err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "ValidationException", Message: "could not read UpdatePipeline input: " + err.Error()}
	}
	p, err := findPipeline(c, name)
	if err != nil {
		return err
	}
	validation := func(msg string) error {
		return &apiError{Status: http.StatusBadRequest, Code: "ValidationException", Message: msg}
	}
	u := PipelineUpdate{MinUnits: in.MinUnits, MaxUnits: in.MaxUnits, PipelineConfigurationBody: in.PipelineConfigurationBody}
	minU, maxU := p.MinUnits, p.MaxUnits
	if in.MinUnits != nil {
		if *in.MinUnits < 1 {
			return validation("1 validation error detected: Value at 'minUnits' failed to satisfy constraint: Member must have value greater than or equal to 1")
		}
		minU = *in.MinUnits
	}
	if in.MaxUnits != nil {
		if *in.MaxUnits < 1 {
			return validation("1 validation error detected: Value at 'maxUnits' failed to satisfy constraint: Member must have value greater than or equal to 1")
		}
		maxU = *in.MaxUnits
	}
	if minU > maxU {
		return validation(fmt.Sprintf("MinUnits (%d) must be less than or equal to MaxUnits (%d).", minU, maxU))
	}
	if q, ok := c.t.quotaValue(c.rs.name, QuotaServiceOSIS, QuotaOSISMaxUnitsPerPipeline); ok && float64(maxU) > q {
		return validation(fmt.Sprintf("MaxUnits (%d) exceeds the maximum Ingestion OCUs per pipeline for this account (%g). Request a quota increase through Service Quotas.", maxU, q))
	}
	if b := in.BufferOptions; b != nil {
		if b.PersistentBufferEnabled == nil {
			return validation("BufferOptions.PersistentBufferEnabled is required.")
		}
		u.PersistentBufferEnabled = b.PersistentBufferEnabled
	}
	if l := in.LogPublishingOptions; l != nil {
		lp := PipelineLogPublishing{IsLoggingEnabled: l.IsLoggingEnabled != nil && *l.IsLoggingEnabled}
		if l.CloudWatchLogDestination != nil {
			lp.LogGroup = l.CloudWatchLogDestination.LogGroup
		}
		if lp.IsLoggingEnabled && lp.LogGroup == "" {
			return validation("CloudWatchLogDestination is required when IsLoggingEnabled is true.")
		}
		u.LogPublishing = &lp
	}
	if e := in.EncryptionAtRestOptions; e != nil {
		u.KMSKeyARN = &e.KmsKeyArn
	}
	if in.PipelineConfigurationBody != nil && strings.TrimSpace(*in.PipelineConfigurationBody) == "" {
		return validation("PipelineConfigurationBody must not be empty.")
	}
	switch p.Status {
	case "ACTIVE", "STOPPED", "UPDATE_FAILED", "START_FAILED":
	default:
		return &apiError{Status: http.StatusConflict, Code: "ConflictException", Message: fmt.Sprintf("Pipeline %s is %s; it cannot be updated now.", name, p.Status)}
	}
	s := c.rs.osis
	now := c.t.now()
	s.mu.Lock()
	s.settings[name] = mergeUpdate(s.settings[name], u)
	if s.updateDelay > 0 && p.Status == "ACTIVE" {
		s.updatingUntil[name] = now.Add(s.updateDelay)
	}
	s.updates = append(s.updates, PipelineUpdateRequest{Region: c.rs.name, Pipeline: name, At: now, Update: u})
	s.mu.Unlock()
	p, err = findPipeline(c, name)
	if err != nil {
		return err
	}
	return c.replyJSON(map[string]any{"Pipeline": osisDetail(p)})
}

// osisOptions renders the settings members of a pipeline's detail, as GetPipeline returns them
// (types.Pipeline BufferOptions, LogPublishingOptions, EncryptionAtRestOptions).
func osisOptions(p Pipeline, m map[string]any) {
	m["BufferOptions"] = map[string]any{"PersistentBufferEnabled": p.PersistentBufferEnabled}
	if lp := p.LogPublishing; lp != nil {
		l := map[string]any{"IsLoggingEnabled": lp.IsLoggingEnabled}
		if lp.LogGroup != "" {
			l["CloudWatchLogDestination"] = map[string]string{"LogGroup": lp.LogGroup}
		}
		m["LogPublishingOptions"] = l
	}
	if p.KMSKeyARN != "" {
		m["EncryptionAtRestOptions"] = map[string]string{"KmsKeyArn": p.KMSKeyARN}
	}
}
