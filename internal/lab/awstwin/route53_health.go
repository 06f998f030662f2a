package awstwin

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Route 53 health checks, as the DNS data plane uses them. The twin serves the health-check API
// (CreateHealthCheck, GetHealthCheck, GetHealthCheckStatus, ListHealthChecks, DeleteHealthCheck;
// https://docs.aws.amazon.com/Route53/latest/APIReference/API_CreateHealthCheck.html and its
// siblings) for the two types a disaster-recovery runbook moves traffic with and that need no
// probe of an endpoint:
//
//   - CLOUDWATCH_METRIC: healthy while the alarm named by AlarmIdentifier is OK, unhealthy in
//     ALARM; with insufficient data, InsufficientDataHealthStatus decides ("Healthy",
//     "Unhealthy", or "LastKnownStatus": "the status of the health check from the last time
//     CloudWatch had sufficient data to determine the alarm state. For new health checks that
//     have no last known status, the default status for the health check is healthy" —
//     https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html).
//     When the alarm's Region's CloudWatch cannot be read (the lab impaired it), the checkers
//     get no data either, so the same rule applies.
//   - RECOVERY_CONTROL: healthy while the ARC routing control named by RoutingControlArn is On
//     ("the health check status is healthy when the routing control state is On" —
//     https://docs.aws.amazon.com/r53recovery/latest/dg/routing-control.create.html). The twin
//     asks [HealthCheckHooks.RoutingControlState]; while it does not know, the check keeps its
//     last status.
//
// Health checkers are Route 53's data plane: they run from several Regions and keep checking
// while us-east-1, where the API lives, is impaired
// (https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/global-services.html).
// The twin evaluates a check whenever its status is needed, from the state the checkers would
// read, never through the (faultable) API. Other types (HTTP, TCP, CALCULATED, …) would need
// the twin to probe endpoints, which it does not; it refuses them rather than pretend.

// Health-check types the twin implements.
const (
	HealthCheckCloudWatchMetric = "CLOUDWATCH_METRIC"
	HealthCheckRecoveryControl  = "RECOVERY_CONTROL"
)

// InsufficientDataHealthStatus values.
const (
	InsufficientDataHealthy         = "Healthy"
	InsufficientDataUnhealthy       = "Unhealthy"
	InsufficientDataLastKnownStatus = "LastKnownStatus"
)

// healthCheckerRegions are the Regions Route 53's health checkers report from by default
// (the HealthCheckRegion enum: "If you don't specify any Regions, Route 53 health checkers
// check from all of the Regions" —
// https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html, Regions).
var healthCheckerRegions = []string{"us-east-1", "us-west-1", "us-west-2", "eu-west-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "sa-east-1"}

// HealthCheckHooks connect the health checkers to state the twin does not own. Nil fields
// take the defaults documented on each.
type HealthCheckHooks struct {
	// RoutingControlState reports whether the ARC routing control with this ARN is On, and
	// whether its state is known at all. nil (or known=false) means unknown: a RECOVERY_CONTROL
	// check keeps its last status (healthy for a new check). The ARC cluster twin provides it.
	RoutingControlState func(arn string) (on, known bool)
	// AlarmReadable reports whether the health checkers can read CloudWatch in a Region; the
	// lab answers false for an impaired Region. nil means always.
	AlarmReadable func(region string) bool
}

// HealthCheckConfig is the part of route53 types.HealthCheckConfig the twin implements.
type HealthCheckConfig struct {
	Type string
	// AlarmRegion and AlarmName are the AlarmIdentifier of a CLOUDWATCH_METRIC check.
	AlarmRegion, AlarmName string
	// InsufficientDataHealthStatus is Healthy, Unhealthy or LastKnownStatus ("" is read as
	// LastKnownStatus and echoed as omitted).
	InsufficientDataHealthStatus string
	// RoutingControlArn is the routing control of a RECOVERY_CONTROL check.
	RoutingControlArn string
	Inverted          bool
	Disabled          bool
}

// HealthCheck is a health check as the twin keeps it.
type HealthCheck struct {
	ID              string
	CallerReference string
	Config          HealthCheckConfig
	Version         int64
	// alarm is the CloudWatchAlarmConfiguration copied from the alarm at creation.
	alarm *Alarm
	// lastHealthy is the last status the checkers determined; new checks start healthy.
	lastHealthy bool
	// checked is when lastHealthy was last determined.
	checked time.Time
}

func (c HealthCheckConfig) validate() *apiError {
	invalid := func(msg string) *apiError {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidInput", Message: "Invalid parameter: " + msg}
	}
	switch c.Type {
	case HealthCheckCloudWatchMetric:
		if c.AlarmRegion == "" || c.AlarmName == "" {
			return invalid("AlarmIdentifier with Region and Name is required for a health check of type CLOUDWATCH_METRIC")
		}
		if c.RoutingControlArn != "" {
			return invalid("RoutingControlArn is not allowed for a health check of type CLOUDWATCH_METRIC")
		}
		switch c.InsufficientDataHealthStatus {
		case "", InsufficientDataHealthy, InsufficientDataUnhealthy, InsufficientDataLastKnownStatus:
		default:
			return invalid(fmt.Sprintf("Value '%s' at 'healthCheckConfig.insufficientDataHealthStatus' failed to satisfy constraint: Member must satisfy enum value set: [Healthy, LastKnownStatus, Unhealthy]", c.InsufficientDataHealthStatus))
		}
	case HealthCheckRecoveryControl:
		if !strings.HasPrefix(c.RoutingControlArn, "arn:aws:route53-recovery-control::") {
			return invalid(fmt.Sprintf("RoutingControlArn %q is not a routing control ARN (arn:aws:route53-recovery-control::<account>:controlpanel/<id>/routingcontrol/<id>)", c.RoutingControlArn))
		}
		if c.AlarmName != "" || c.AlarmRegion != "" {
			return invalid("AlarmIdentifier is not allowed for a health check of type RECOVERY_CONTROL")
		}
	case "":
		return invalid("Type is required")
	default:
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidInput",
			Message: fmt.Sprintf("the lab twin does not implement health checks of type %s (only CLOUDWATCH_METRIC and RECOVERY_CONTROL)", c.Type)}
	}
	return nil
}

// SetHealthCheckHooks installs the health checkers' hooks.
func (t *Twin) SetHealthCheckHooks(h HealthCheckHooks) {
	t.r53.mu.Lock()
	defer t.r53.mu.Unlock()
	t.r53.hooks = h
}

// CreateHealthCheck creates a health check as the API does (callerRef "" picks a fresh one)
// and returns its ID; it is for seeding and tests.
func (t *Twin) CreateHealthCheck(callerRef string, cfg HealthCheckConfig) (string, error) {
	if callerRef == "" {
		callerRef = randomID("lab-", 12)
	}
	hc, _, ae := t.createHealthCheck(callerRef, cfg)
	if ae != nil {
		return "", fmt.Errorf("create health check: %w", ae)
	}
	return hc.ID, nil
}

func (t *Twin) createHealthCheck(callerRef string, cfg HealthCheckConfig) (HealthCheck, bool, *apiError) {
	if ae := cfg.validate(); ae != nil {
		return HealthCheck{}, false, ae
	}
	var alarm *Alarm
	if cfg.Type == HealthCheckCloudWatchMetric {
		// Route 53 copies the alarm's definition into CloudWatchAlarmConfiguration, so the alarm
		// must exist ("the CloudWatch alarm that you want Route 53 health checkers to use"). The
		// message is the lab's.
		cw := t.region(cfg.AlarmRegion).cw
		cw.mu.Lock()
		if a, ok := cw.alarms[cfg.AlarmName]; ok {
			alarm = new(*a)
		}
		cw.mu.Unlock()
		if alarm == nil {
			return HealthCheck{}, false, &apiError{Status: http.StatusBadRequest, Code: "InvalidInput",
				Message: fmt.Sprintf("Invalid parameter: the CloudWatch alarm %s does not exist in %s", cfg.AlarmName, cfg.AlarmRegion)}
		}
	}
	s := t.r53
	s.mu.Lock()
	defer s.mu.Unlock()
	// "If you send a CreateHealthCheck request with the same CallerReference and settings as a
	// previous request, and if the health check doesn't exist, Amazon Route 53 creates the
	// health check. If the health check does exist, Route 53 returns the settings for the
	// existing health check"; the same CallerReference with other settings, or that of a
	// deleted health check, is HealthCheckAlreadyExists (HTTP 409)
	// (https://docs.aws.amazon.com/Route53/latest/APIReference/API_CreateHealthCheck.html).
	if prev, ok := s.checksByRef[callerRef]; ok {
		if hc, live := s.checks[prev]; live && hc.Config == cfg {
			return *hc, false, nil
		}
		return HealthCheck{}, false, &apiError{Status: http.StatusConflict, Code: "HealthCheckAlreadyExists",
			Message: "A health check with the specified CallerReference already exists: " + callerRef}
	}
	hc := &HealthCheck{ID: newUUID(), CallerReference: callerRef, Config: cfg, Version: 1, alarm: alarm, lastHealthy: true}
	s.checks[hc.ID] = hc
	s.checksByRef[callerRef] = hc.ID
	s.checkOrder = append(s.checkOrder, hc.ID)
	return *hc, true, nil
}

// newUUID returns a random version-4 UUID, the form of Route 53 health check IDs.
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// HealthCheckHealthy evaluates a health check now, as Route 53's checkers would, and reports
// whether it is healthy. ok is false for an ID that does not exist (or no longer does).
func (t *Twin) HealthCheckHealthy(id string) (healthy, ok bool) {
	s := t.r53
	s.mu.Lock()
	hc, found := s.checks[id]
	if !found {
		s.mu.Unlock()
		return false, false
	}
	cfg, hooks, last := hc.Config, s.hooks, hc.lastHealthy
	s.mu.Unlock()

	status, known := t.checkerStatus(cfg, hooks)
	s.mu.Lock()
	defer s.mu.Unlock()
	if hc, found = s.checks[id]; !found {
		return false, false
	}
	if known {
		hc.lastHealthy, hc.checked = status, t.now()
		last = status
	}
	// "Disabled: Stops Route 53 from performing health checks. … Route 53 considers the status
	// of the health check to always be healthy"; "Inverted: Specify whether you want Amazon
	// Route 53 to invert the status of a health check"
	// (https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html).
	if cfg.Disabled {
		return true, true
	}
	return last != cfg.Inverted, true
}

// checkerStatus is what the health checkers determine for a check: its status, or known=false
// when they keep the last one.
func (t *Twin) checkerStatus(cfg HealthCheckConfig, hooks HealthCheckHooks) (healthy, known bool) {
	switch cfg.Type {
	case HealthCheckRecoveryControl:
		if hooks.RoutingControlState == nil {
			return false, false
		}
		return hooks.RoutingControlState(cfg.RoutingControlArn)
	case HealthCheckCloudWatchMetric:
		state := "INSUFFICIENT_DATA"
		if hooks.AlarmReadable == nil || hooks.AlarmReadable(cfg.AlarmRegion) {
			if st, ok := t.alarmState(cfg.AlarmRegion, cfg.AlarmName); ok { // evaluated up to now
				state = st
			}
		}
		switch state {
		case "OK":
			return true, true
		case "ALARM":
			return false, true
		}
		switch cfg.InsufficientDataHealthStatus {
		case InsufficientDataHealthy:
			return true, true
		case InsufficientDataUnhealthy:
			return false, true
		}
		return false, false // LastKnownStatus
	}
	return false, false
}

// observeAlarm lets the checkers see an alarm's state change when it happens, so that
// LastKnownStatus is the status of the last time CloudWatch had sufficient data even when
// nobody asked in between (the real checkers poll continuously).
func (t *Twin) observeAlarm(region string, a Alarm) {
	if a.State != "OK" && a.State != "ALARM" {
		return
	}
	s := t.r53
	s.mu.Lock()
	readable := s.hooks.AlarmReadable
	s.mu.Unlock()
	if readable != nil && !readable(region) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, hc := range s.checks {
		if hc.Config.Type == HealthCheckCloudWatchMetric && hc.Config.AlarmRegion == region && hc.Config.AlarmName == a.Name {
			hc.lastHealthy, hc.checked = a.State == "OK", t.now()
		}
	}
}

// HealthChecks returns the health checks in creation order.
func (t *Twin) HealthChecks() []HealthCheck {
	s := t.r53
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]HealthCheck, 0, len(s.checkOrder))
	for _, id := range s.checkOrder {
		out = append(out, *s.checks[id])
	}
	return out
}

// ---- wire shapes ----

type xmlAlarmIdentifier struct {
	Region string `xml:"Region"`
	Name   string `xml:"Name"`
}

type xmlHealthCheckConfig struct {
	Type                         string              `xml:"Type"`
	Inverted                     *bool               `xml:"Inverted,omitempty"`
	Disabled                     *bool               `xml:"Disabled,omitempty"`
	AlarmIdentifier              *xmlAlarmIdentifier `xml:"AlarmIdentifier,omitempty"`
	InsufficientDataHealthStatus string              `xml:"InsufficientDataHealthStatus,omitempty"`
	RoutingControlArn            string              `xml:"RoutingControlArn,omitempty"`
}

type xmlCWDimension struct {
	Name  string `xml:"Name"`
	Value string `xml:"Value"`
}

type xmlCloudWatchAlarmConfiguration struct {
	EvaluationPeriods  int              `xml:"EvaluationPeriods"`
	Threshold          float64          `xml:"Threshold"`
	ComparisonOperator string           `xml:"ComparisonOperator"`
	Period             int              `xml:"Period"`
	MetricName         string           `xml:"MetricName"`
	Namespace          string           `xml:"Namespace"`
	Statistic          string           `xml:"Statistic"`
	Dimensions         []xmlCWDimension `xml:"Dimensions>Dimension,omitempty"`
}

type xmlHealthCheck struct {
	ID                           string                           `xml:"Id"`
	CallerReference              string                           `xml:"CallerReference"`
	HealthCheckConfig            xmlHealthCheckConfig             `xml:"HealthCheckConfig"`
	HealthCheckVersion           int64                            `xml:"HealthCheckVersion"`
	CloudWatchAlarmConfiguration *xmlCloudWatchAlarmConfiguration `xml:"CloudWatchAlarmConfiguration,omitempty"`
}

func toXMLHealthCheck(hc HealthCheck) xmlHealthCheck {
	c := hc.Config
	x := xmlHealthCheck{ID: hc.ID, CallerReference: hc.CallerReference, HealthCheckVersion: hc.Version,
		HealthCheckConfig: xmlHealthCheckConfig{Type: c.Type, Inverted: new(c.Inverted), Disabled: new(c.Disabled),
			InsufficientDataHealthStatus: c.InsufficientDataHealthStatus, RoutingControlArn: c.RoutingControlArn}}
	if c.Type == HealthCheckCloudWatchMetric {
		x.HealthCheckConfig.AlarmIdentifier = &xmlAlarmIdentifier{Region: c.AlarmRegion, Name: c.AlarmName}
	}
	if a := hc.alarm; a != nil {
		cw := &xmlCloudWatchAlarmConfiguration{EvaluationPeriods: a.EvaluationPeriods, Threshold: a.Threshold,
			ComparisonOperator: a.ComparisonOperator, Period: a.Period, MetricName: a.MetricName, Namespace: a.Namespace, Statistic: a.Statistic}
		for _, k := range sortedKeys(a.Dimensions) {
			cw.Dimensions = append(cw.Dimensions, xmlCWDimension{Name: k, Value: a.Dimensions[k]})
		}
		x.CloudWatchAlarmConfiguration = cw
	}
	return x
}

func fromXMLHealthCheckConfig(x xmlHealthCheckConfig) HealthCheckConfig {
	c := HealthCheckConfig{Type: x.Type, InsufficientDataHealthStatus: x.InsufficientDataHealthStatus, RoutingControlArn: x.RoutingControlArn}
	if x.AlarmIdentifier != nil {
		c.AlarmRegion, c.AlarmName = x.AlarmIdentifier.Region, x.AlarmIdentifier.Name
	}
	c.Inverted = x.Inverted != nil && *x.Inverted
	c.Disabled = x.Disabled != nil && *x.Disabled
	return c
}

// ---- operations ----

func r53NoSuchHealthCheck(id string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: "NoSuchHealthCheck", Message: "No health check exists with the specified ID " + id}
}

func (c *call) replyXMLStatus(status int, v any) error {
	b, err := xml.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s response: %w", c.op, err)
	}
	c.writeRaw(status, "application/xml", append([]byte(xml.Header), b...))
	return nil
}

func r53CreateHealthCheck(c *call) error {
	var in struct {
		CallerReference   string               `xml:"CallerReference"`
		HealthCheckConfig xmlHealthCheckConfig `xml:"HealthCheckConfig"`
	}
	if err := xml.Unmarshal(c.body, &in); err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidInput", Message: "Could not parse the request body: " + err.Error()}
	}
	if n := len(in.CallerReference); n < 1 || n > 64 {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidInput",
			Message: fmt.Sprintf("1 validation error detected: Value '%s' at 'callerReference' failed to satisfy constraint: Member must have length between 1 and 64", in.CallerReference)}
	}
	hc, _, ae := c.t.createHealthCheck(in.CallerReference, fromXMLHealthCheckConfig(in.HealthCheckConfig))
	if ae != nil {
		return ae
	}
	var out struct {
		XMLName     xml.Name       `xml:"https://route53.amazonaws.com/doc/2013-04-01/ CreateHealthCheckResponse"`
		HealthCheck xmlHealthCheck `xml:"HealthCheck"`
	}
	out.HealthCheck = toXMLHealthCheck(hc)
	// "HTTP/1.1 201 … Location: The unique URL representing the new health check."
	// (https://docs.aws.amazon.com/Route53/latest/APIReference/API_CreateHealthCheck.html#API_CreateHealthCheck_ResponseSyntax)
	c.w.Header().Set("Location", "https://route53.amazonaws.com/2013-04-01/healthcheck/"+hc.ID)
	return c.replyXMLStatus(http.StatusCreated, out)
}

func (c *call) healthCheck() (HealthCheck, *apiError) {
	s := c.t.r53
	s.mu.Lock()
	defer s.mu.Unlock()
	hc, ok := s.checks[c.labels[0]]
	if !ok {
		return HealthCheck{}, r53NoSuchHealthCheck(c.labels[0])
	}
	return *hc, nil
}

func r53GetHealthCheck(c *call) error {
	hc, ae := c.healthCheck()
	if ae != nil {
		return ae
	}
	var out struct {
		XMLName     xml.Name       `xml:"https://route53.amazonaws.com/doc/2013-04-01/ GetHealthCheckResponse"`
		HealthCheck xmlHealthCheck `xml:"HealthCheck"`
	}
	out.HealthCheck = toXMLHealthCheck(hc)
	return c.replyXML(out)
}

// r53GetHealthCheckStatus reports one observation per checker Region
// (https://docs.aws.amazon.com/Route53/latest/APIReference/API_GetHealthCheckStatus.html). The
// lab's checkers agree, so every Region reports the same status; the StatusReport wording for
// these types is the lab's ("Success: …"/"Failure: …", the prefixes Route 53 uses).
func r53GetHealthCheckStatus(c *call) error {
	if _, ae := c.healthCheck(); ae != nil {
		return ae
	}
	healthy, ok := c.t.HealthCheckHealthy(c.labels[0])
	if !ok {
		return r53NoSuchHealthCheck(c.labels[0])
	}
	hc, ae := c.healthCheck()
	if ae != nil {
		return ae
	}
	status := "Failure: the health check is unhealthy"
	if healthy {
		status = "Success: the health check is healthy"
	}
	switch hc.Config.Type {
	case HealthCheckCloudWatchMetric:
		status += fmt.Sprintf(" (CloudWatch alarm %s in %s)", hc.Config.AlarmName, hc.Config.AlarmRegion)
	case HealthCheckRecoveryControl:
		status += " (routing control " + hc.Config.RoutingControlArn + ")"
	}
	checked := hc.checked
	if checked.IsZero() {
		checked = c.t.now()
	}
	type xmlStatusReport struct {
		Status      string `xml:"Status"`
		CheckedTime string `xml:"CheckedTime"`
	}
	type xmlObservation struct {
		Region       string          `xml:"Region"`
		StatusReport xmlStatusReport `xml:"StatusReport"`
	}
	var out struct {
		XMLName      xml.Name         `xml:"https://route53.amazonaws.com/doc/2013-04-01/ GetHealthCheckStatusResponse"`
		Observations []xmlObservation `xml:"HealthCheckObservations>HealthCheckObservation"`
	}
	for _, r := range healthCheckerRegions {
		out.Observations = append(out.Observations, xmlObservation{Region: r, StatusReport: xmlStatusReport{Status: status, CheckedTime: formatISO(checked)}})
	}
	return c.replyXML(out)
}

func r53ListHealthChecks(c *call) error {
	q := c.r.URL.Query()
	maxItems, err := r53MaxItems(q.Get("maxitems"), 1000)
	if err != nil {
		return err
	}
	if q.Get("maxitems") == "" {
		maxItems = 100
	}
	s := c.t.r53
	s.mu.Lock()
	order := slices.Clone(s.checkOrder)
	checks := make([]HealthCheck, len(order))
	for i, id := range order {
		checks[i] = *s.checks[id]
	}
	s.mu.Unlock()
	start := 0
	if m := q.Get("marker"); m != "" {
		start = slices.Index(order, m)
		if start < 0 {
			return &apiError{Status: http.StatusBadRequest, Code: "InvalidInput", Message: "Invalid marker: " + m}
		}
	}
	var out struct {
		XMLName      xml.Name         `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListHealthChecksResponse"`
		HealthChecks []xmlHealthCheck `xml:"HealthChecks>HealthCheck"`
		Marker       string           `xml:"Marker,omitempty"`
		IsTruncated  bool             `xml:"IsTruncated"`
		NextMarker   string           `xml:"NextMarker,omitempty"`
		MaxItems     int              `xml:"MaxItems"`
	}
	// As ListHostedZones, Marker is echoed only when the request carried one (see the errata in
	// internal/lab/awsmodels_test.go).
	out.MaxItems, out.Marker = maxItems, q.Get("marker")
	out.HealthChecks = []xmlHealthCheck{}
	for i := start; i < len(checks); i++ {
		if len(out.HealthChecks) == maxItems {
			out.IsTruncated, out.NextMarker = true, checks[i].ID
			break
		}
		out.HealthChecks = append(out.HealthChecks, toXMLHealthCheck(checks[i]))
	}
	return c.replyXML(out)
}

// r53DeleteHealthCheck deletes a health check even when records still name it: "Route 53 does
// not prevent you from deleting a health check even if the health check is associated with one
// or more resource record sets. If you delete a health check and you don't update the
// associated resource record sets, the future status of the health check can't be predicted"
// (https://docs.aws.amazon.com/Route53/latest/APIReference/API_DeleteHealthCheck.html). The
// lab's prediction: such a record counts as healthy.
func r53DeleteHealthCheck(c *call) error {
	s := c.t.r53
	s.mu.Lock()
	_, ok := s.checks[c.labels[0]]
	if ok {
		delete(s.checks, c.labels[0])
		s.checkOrder = slices.DeleteFunc(s.checkOrder, func(id string) bool { return id == c.labels[0] })
	}
	s.mu.Unlock()
	if !ok {
		return r53NoSuchHealthCheck(c.labels[0])
	}
	var out struct {
		XMLName xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ DeleteHealthCheckResponse"`
	}
	return c.replyXML(out)
}
