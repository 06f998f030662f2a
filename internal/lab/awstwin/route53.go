package awstwin

import (
	"crypto/rand"
	"encoding/xml"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Route 53 speaks restXml. It is a global service: the twin serves it from every Region's
// endpoint against one state, as the SDK reaches the one global endpoint from any Region. Its
// control plane — every API call, record changes and health-check CRUD alike — is hosted in
// us-east-1: "the Route 53 control plane … is hosted in us-east-1" and "you should not rely on
// the Route 53 control plane in your recovery path" (AWS Fault Isolation Boundaries whitepaper,
// Global services, https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/global-services.html;
// the endpoint route53.amazonaws.com is signed for us-east-1,
// https://docs.aws.amazon.com/general/latest/gr/r53.html). [Twin.SetRoute53Home] makes the
// fault hook see each call as a call into that Region, whichever endpoint received it. Its data
// plane — DNS answers and the health checkers — runs everywhere and is read without the API
// (route53_health.go; the lab's Route53Router).

const route53NS = "https://route53.amazonaws.com/doc/2013-04-01/"

func route53Service() *service {
	return &service{
		name:         ServiceRoute53,
		namespace:    "com.amazonaws.route53",
		xmlns:        route53NS,
		global:       true,
		defaultProto: protoRestXML,
		resolve:      resolveRoute53,
		ops: map[string]func(*call) error{
			"ListHostedZones":          r53ListHostedZones,
			"ListResourceRecordSets":   r53ListResourceRecordSets,
			"ChangeResourceRecordSets": r53ChangeResourceRecordSets,
			"GetChange":                r53GetChange,
			"CreateHealthCheck":        r53CreateHealthCheck,
			"GetHealthCheck":           r53GetHealthCheck,
			"GetHealthCheckStatus":     r53GetHealthCheckStatus,
			"ListHealthChecks":         r53ListHealthChecks,
			"DeleteHealthCheck":        r53DeleteHealthCheck,
		},
		throttle: apiError{Status: http.StatusBadRequest, Code: "Throttling", Message: "Rate exceeded"},
		internal: apiError{Status: http.StatusInternalServerError, Code: "InternalFailure", Receiver: true},
	}
}

func resolveRoute53(c *call) *apiError {
	seg := segments(c.r)
	m := c.r.Method
	if len(seg) >= 2 && seg[0] == "2013-04-01" {
		switch {
		case m == http.MethodGet && len(seg) == 2 && seg[1] == "hostedzone":
			c.op = "ListHostedZones"
			return nil
		case len(seg) == 4 && seg[1] == "hostedzone" && seg[3] == "rrset" && m == http.MethodGet:
			c.op, c.labels = "ListResourceRecordSets", seg[2:3]
			return nil
		case len(seg) == 4 && seg[1] == "hostedzone" && seg[3] == "rrset" && m == http.MethodPost:
			c.op, c.labels = "ChangeResourceRecordSets", seg[2:3]
			return nil
		case m == http.MethodGet && len(seg) == 3 && seg[1] == "change":
			c.op, c.labels = "GetChange", seg[2:3]
			return nil
		case len(seg) == 2 && seg[1] == "healthcheck" && m == http.MethodPost:
			c.op = "CreateHealthCheck"
			return nil
		case len(seg) == 2 && seg[1] == "healthcheck" && m == http.MethodGet:
			c.op = "ListHealthChecks"
			return nil
		case len(seg) == 3 && seg[1] == "healthcheck" && m == http.MethodGet:
			c.op, c.labels = "GetHealthCheck", seg[2:3]
			return nil
		case len(seg) == 3 && seg[1] == "healthcheck" && m == http.MethodDelete:
			c.op, c.labels = "DeleteHealthCheck", seg[2:3]
			return nil
		case len(seg) == 4 && seg[1] == "healthcheck" && seg[3] == "status" && m == http.MethodGet:
			c.op, c.labels = "GetHealthCheckStatus", seg[2:3]
			return nil
		}
	}
	return &apiError{Status: http.StatusNotFound, Code: "UnknownOperation", Message: fmt.Sprintf("the lab twin does not implement route53 %s %s", m, c.r.URL.Path)}
}

// RecordSet is a Route 53 resource record set, as ListResourceRecordSets returns it.
type RecordSet struct {
	Name             string // fully qualified, lower case, with the trailing dot
	Type             string
	SetIdentifier    string
	Weight           *int64
	Region           string
	Failover         string
	MultiValueAnswer *bool
	TTL              *int64
	Values           []string
	AliasTarget      *AliasTarget
	HealthCheckID    string
}

// AliasTarget mirrors route53 types.AliasTarget.
type AliasTarget struct {
	HostedZoneID         string
	DNSName              string
	EvaluateTargetHealth bool
}

type route53State struct {
	mu      sync.Mutex
	zones   []*hostedZone
	changes map[string]time.Time // change ID → submitted at
	// log holds every accepted change batch in order, for Route53ChangeLog.
	log []Route53Change
	// processing is Options.Route53ProcessingTime: how long a zone stays busy with an accepted
	// change request.
	processing time.Duration
	// home is the Region hosting the control plane ("" = wherever a call arrives); see
	// [Twin.SetRoute53Home].
	home string
	// strand is how many of a zone's next accepted change batches are stranded; see
	// [Twin.StrandRoute53Changes].
	strand map[string]int

	// Health checks by ID, their IDs by CallerReference (kept after deletion: a deleted
	// check's reference cannot be reused), and the IDs in creation order.
	checks      map[string]*HealthCheck
	checksByRef map[string]string
	checkOrder  []string
	hooks       HealthCheckHooks
}

// SetRoute53ProcessingTime sets how long Route 53 takes to process an accepted change request
// for a hosted zone; a ChangeResourceRecordSets for the same zone arriving sooner gets HTTP 400
// PriorRequestNotComplete. Requests already accepted keep the time they were given; 0 makes
// every later request be processed at once.
func (t *Twin) SetRoute53ProcessingTime(d time.Duration) {
	t.r53.mu.Lock()
	defer t.r53.mu.Unlock()
	t.r53.processing = d
}

// StrandRoute53Changes strands the next n change batches accepted for a hosted zone: each is
// answered as usual (a change id, PENDING) and logged with Stranded set, but its records are
// never changed, and GetChange answers NoSuchChange for it. That is what Route 53 documents for a
// control-plane failover to us-west-2 under accelerated recovery: "the US East (N. Virginia)
// Region may accept some changes that are not replicated to the US West (Oregon) Region. These
// in-flight changes are called stranded changes", and Route 53 recommends resubmitting them
// (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/accelerated-recovery.html,
// "Resubmitting DNS changes after failover"). How GetChange answers for a stranded change is not
// documented; the lab answers as the surviving copy would, which never saw it.
func (t *Twin) StrandRoute53Changes(zoneID string, n int) {
	zoneID = strings.TrimPrefix(zoneID, "/hostedzone/")
	t.r53.mu.Lock()
	defer t.r53.mu.Unlock()
	if t.r53.strand == nil {
		t.r53.strand = map[string]int{}
	}
	t.r53.strand[zoneID] = n
}

// SetRoute53Home sets the Region hosting Route 53's control plane: from then on the fault hook
// sees every Route 53 API call with FaultContext.Region set to it (FaultContext.Endpoint keeps
// the Region of the endpoint that received it), so impairing that Region takes the control
// plane down and per-Region call counts count the calls there, as on AWS. "" (the default)
// reports each call in the Region of the endpoint it reached.
func (t *Twin) SetRoute53Home(region string) {
	t.r53.mu.Lock()
	defer t.r53.mu.Unlock()
	t.r53.home = region
}

// Route53Home returns the Region set by [Twin.SetRoute53Home].
func (t *Twin) Route53Home() string {
	t.r53.mu.Lock()
	defer t.r53.mu.Unlock()
	return t.r53.home
}

// faultRegion is the Region a call is made into: the control plane's home for a global
// service that has one, otherwise the Region of the endpoint that received the call.
func (t *Twin) faultRegion(svc *service, endpoint string) string {
	if svc.name == ServiceIAM {
		return IAMHome // iam.go: IAM's control plane is in us-east-1
	}
	if svc.name == ServiceRoute53 {
		if home := t.Route53Home(); home != "" {
			return home
		}
	}
	return endpoint
}

// Route53Change is one change batch that ChangeResourceRecordSets accepted. The log of them is
// the lab's ground truth for "how often did DNS really change": a runbook step that is retried
// after a worker dies must find the weights already set and submit nothing, so a test can
// count batches to prove each shift happened exactly once. Seeding through UpsertRecordSet is
// not an API call and is not logged.
type Route53Change struct {
	// ID is the change ID without the "/change/" prefix.
	ID string
	// ZoneID is the hosted zone's ID without the "/hostedzone/" prefix.
	ZoneID      string
	SubmittedAt time.Time
	Comment     string
	Changes     []Route53RecordChange
	// Stranded says the batch was accepted and then lost (see [Twin.StrandRoute53Changes]).
	Stranded bool
}

// Route53RecordChange is one change of a batch: the action and the record set it named.
type Route53RecordChange struct {
	Action        string
	Name          string
	Type          string
	SetIdentifier string
	// Weight is nil for a record set without weighted routing.
	Weight *int64
}

// Weights returns the weight each change of the batch set, by set identifier; changes without
// a weight or a set identifier are left out.
func (c Route53Change) Weights() map[string]int64 {
	out := map[string]int64{}
	for _, ch := range c.Changes {
		if ch.Weight != nil && ch.SetIdentifier != "" {
			out[ch.SetIdentifier] = *ch.Weight
		}
	}
	return out
}

// Route53ChangeLog returns the change batches accepted for a hosted zone, oldest first. It is
// a copy: callers may keep it while runbooks go on changing the zone.
func (t *Twin) Route53ChangeLog(zoneID string) []Route53Change {
	zoneID = strings.TrimPrefix(zoneID, "/hostedzone/")
	t.r53.mu.Lock()
	defer t.r53.mu.Unlock()
	var out []Route53Change
	for _, c := range t.r53.log {
		if c.ZoneID != zoneID {
			continue
		}
		c.Changes = slices.Clone(c.Changes)
		for i := range c.Changes {
			if w := c.Changes[i].Weight; w != nil {
				c.Changes[i].Weight = new(*w)
			}
		}
		out = append(out, c)
	}
	return out
}

type hostedZone struct {
	id        string
	name      string
	callerRef string
	private   bool
	records   []RecordSet
	// busyUntil is when Route 53 is done processing the zone's last accepted change request.
	busyUntil time.Time
}

func newRoute53State() *route53State {
	return &route53State{changes: map[string]time.Time{}, checks: map[string]*HealthCheck{}, checksByRef: map[string]string{}}
}

func randomID(prefix string, n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return prefix + string(b)
}

// CreateHostedZone creates a hosted zone with Route 53's default SOA and NS records and
// returns its ID (without the "/hostedzone/" prefix).
func (t *Twin) CreateHostedZone(name string, private bool) string {
	name = canonicalName(name)
	z := &hostedZone{id: randomID("Z", 13), name: name, callerRef: randomID("lab-", 8), private: private}
	ttl900, ttl172800 := int64(900), int64(172800)
	z.records = []RecordSet{
		{Name: name, Type: "NS", TTL: &ttl172800, Values: []string{"ns-1.awsdns-00.com.", "ns-2.awsdns-00.net.", "ns-3.awsdns-00.org.", "ns-4.awsdns-00.co.uk."}},
		{Name: name, Type: "SOA", TTL: &ttl900, Values: []string{"ns-1.awsdns-00.com. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}},
	}
	t.r53.mu.Lock()
	defer t.r53.mu.Unlock()
	t.r53.zones = append(t.r53.zones, z)
	return z.id
}

// PutHostedZone creates a hosted zone with a chosen ID (without the "/hostedzone/" prefix), so
// that an environment file can name it; it fails if the ID is taken.
func (t *Twin) PutHostedZone(id, name string, private bool) error {
	id = strings.TrimPrefix(id, "/hostedzone/")
	if id == "" {
		return fmt.Errorf("put hosted zone %s: an ID is required: %w", name, ErrInvalidInput)
	}
	t.r53.mu.Lock()
	taken := t.r53.zone(id) != nil
	t.r53.mu.Unlock()
	if taken {
		return fmt.Errorf("put hosted zone %s: ID %s is taken: %w", name, id, ErrInvalidInput)
	}
	generated := t.CreateHostedZone(name, private)
	t.r53.mu.Lock()
	defer t.r53.mu.Unlock()
	t.r53.zone(generated).id = id
	return nil
}

// RecordSets returns a hosted zone's record sets in ListResourceRecordSets order.
func (t *Twin) RecordSets(zoneID string) ([]RecordSet, error) {
	t.r53.mu.Lock()
	defer t.r53.mu.Unlock()
	z := t.r53.zone(zoneID)
	if z == nil {
		return nil, fmt.Errorf("hosted zone %s: %w", zoneID, ErrNotFound)
	}
	out := slices.Clone(z.records)
	sortRecords(out)
	return out, nil
}

// UpsertRecordSet creates or replaces a record set with Route 53's validation, for seeding.
func (t *Twin) UpsertRecordSet(zoneID string, rs RecordSet) error {
	t.r53.mu.Lock()
	defer t.r53.mu.Unlock()
	z := t.r53.zone(zoneID)
	if z == nil {
		return fmt.Errorf("hosted zone %s: %w", zoneID, ErrNotFound)
	}
	changes := []xmlChange{{Action: "UPSERT", ResourceRecordSet: toXMLRecord(rs)}}
	if ae := t.r53.unknownHealthCheck(changes); ae != nil {
		return fmt.Errorf("upsert %s %s: %w", rs.Type, rs.Name, ae)
	}
	if ae := applyChanges(z, changes); ae != nil {
		return fmt.Errorf("upsert %s %s: %w", rs.Type, rs.Name, ae)
	}
	return nil
}

func (s *route53State) zone(id string) *hostedZone {
	id = strings.TrimPrefix(id, "/hostedzone/")
	for _, z := range s.zones {
		if z.id == id {
			return z
		}
	}
	return nil
}

// canonicalName lower-cases a DNS name, adds the trailing dot and decodes Route 53's octal
// escape for '*', so names compare the way Route 53 compares them.
func canonicalName(n string) string {
	n = strings.ToLower(strings.ReplaceAll(n, `\052`, "*"))
	if !strings.HasSuffix(n, ".") {
		n += "."
	}
	return n
}

// wireName is how Route 53 returns a name: a leading wildcard as \052.
func wireName(n string) string {
	if strings.HasPrefix(n, "*") {
		return `\052` + n[1:]
	}
	return n
}

// recordOrder is Route 53's listing order: names by reversed labels (com.example.www), then
// type, then set identifier.
func recordOrder(name, typ, setID string) string {
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	slices.Reverse(labels)
	return strings.Join(labels, ".") + "\x00" + typ + "\x00" + setID
}

func sortRecords(rs []RecordSet) {
	slices.SortFunc(rs, func(a, b RecordSet) int {
		return strings.Compare(recordOrder(a.Name, a.Type, a.SetIdentifier), recordOrder(b.Name, b.Type, b.SetIdentifier))
	})
}

// ---- XML shapes ----

type xmlResourceRecord struct {
	Value string `xml:"Value"`
}

type xmlRecordList struct {
	Items []xmlResourceRecord `xml:"ResourceRecord"`
}

type xmlAliasTarget struct {
	HostedZoneID         string `xml:"HostedZoneId"`
	DNSName              string `xml:"DNSName"`
	EvaluateTargetHealth bool   `xml:"EvaluateTargetHealth"`
}

type xmlGeoLocation struct {
	ContinentCode   string `xml:"ContinentCode,omitempty"`
	CountryCode     string `xml:"CountryCode,omitempty"`
	SubdivisionCode string `xml:"SubdivisionCode,omitempty"`
}

type xmlRecordSet struct {
	Name             string          `xml:"Name"`
	Type             string          `xml:"Type"`
	SetIdentifier    string          `xml:"SetIdentifier,omitempty"`
	Weight           *int64          `xml:"Weight,omitempty"`
	Region           string          `xml:"Region,omitempty"`
	GeoLocation      *xmlGeoLocation `xml:"GeoLocation,omitempty"`
	Failover         string          `xml:"Failover,omitempty"`
	MultiValueAnswer *bool           `xml:"MultiValueAnswer,omitempty"`
	TTL              *int64          `xml:"TTL,omitempty"`
	ResourceRecords  *xmlRecordList  `xml:"ResourceRecords,omitempty"`
	AliasTarget      *xmlAliasTarget `xml:"AliasTarget,omitempty"`
	HealthCheckID    string          `xml:"HealthCheckId,omitempty"`
}

type xmlChange struct {
	Action            string       `xml:"Action"`
	ResourceRecordSet xmlRecordSet `xml:"ResourceRecordSet"`
}

type xmlChangeInfo struct {
	ID          string `xml:"Id"`
	Status      string `xml:"Status"`
	SubmittedAt string `xml:"SubmittedAt"`
	Comment     string `xml:"Comment,omitempty"`
}

func toXMLRecord(r RecordSet) xmlRecordSet {
	x := xmlRecordSet{Name: wireName(r.Name), Type: r.Type, SetIdentifier: r.SetIdentifier, Weight: r.Weight, Region: r.Region,
		Failover: r.Failover, MultiValueAnswer: r.MultiValueAnswer, TTL: r.TTL, HealthCheckID: r.HealthCheckID}
	if r.AliasTarget != nil {
		x.AliasTarget = &xmlAliasTarget{HostedZoneID: r.AliasTarget.HostedZoneID, DNSName: r.AliasTarget.DNSName, EvaluateTargetHealth: r.AliasTarget.EvaluateTargetHealth}
	} else {
		rrs := &xmlRecordList{}
		for _, v := range r.Values {
			rrs.Items = append(rrs.Items, xmlResourceRecord{Value: v})
		}
		x.ResourceRecords = rrs
	}
	return x
}

func fromXMLRecord(x xmlRecordSet) RecordSet {
	r := RecordSet{Name: canonicalName(x.Name), Type: strings.ToUpper(x.Type), SetIdentifier: x.SetIdentifier, Weight: x.Weight,
		Region: x.Region, Failover: x.Failover, MultiValueAnswer: x.MultiValueAnswer, TTL: x.TTL, HealthCheckID: x.HealthCheckID}
	if x.AliasTarget != nil {
		r.AliasTarget = &AliasTarget{HostedZoneID: x.AliasTarget.HostedZoneID, DNSName: canonicalName(x.AliasTarget.DNSName), EvaluateTargetHealth: x.AliasTarget.EvaluateTargetHealth}
	}
	if x.ResourceRecords != nil {
		for _, v := range x.ResourceRecords.Items {
			r.Values = append(r.Values, v.Value)
		}
	}
	return r
}

// ---- operations ----

func r53ListHostedZones(c *call) error {
	q := c.r.URL.Query()
	maxItems, err := r53MaxItems(q.Get("maxitems"), 100)
	if err != nil {
		return err
	}
	type xmlZone struct {
		ID              string `xml:"Id"`
		Name            string `xml:"Name"`
		CallerReference string `xml:"CallerReference"`
		Config          struct {
			PrivateZone bool `xml:"PrivateZone"`
		} `xml:"Config"`
		ResourceRecordSetCount int `xml:"ResourceRecordSetCount"`
	}
	var out struct {
		XMLName     xml.Name  `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListHostedZonesResponse"`
		HostedZones []xmlZone `xml:"HostedZones>HostedZone"`
		Marker      string    `xml:"Marker,omitempty"`
		IsTruncated bool      `xml:"IsTruncated"`
		NextMarker  string    `xml:"NextMarker,omitempty"`
		MaxItems    int       `xml:"MaxItems"`
	}
	out.MaxItems, out.Marker = maxItems, q.Get("marker")
	c.t.r53.mu.Lock()
	zones := slices.Clone(c.t.r53.zones)
	counts := make([]int, len(zones))
	for i, z := range zones {
		counts[i] = len(z.records)
	}
	c.t.r53.mu.Unlock()
	start := 0
	if m := q.Get("marker"); m != "" {
		start = slices.IndexFunc(zones, func(z *hostedZone) bool { return z.id == m })
		if start < 0 {
			return &apiError{Status: http.StatusBadRequest, Code: "InvalidInput", Message: "Invalid marker: " + m}
		}
	}
	out.HostedZones = []xmlZone{}
	for i := start; i < len(zones); i++ {
		if len(out.HostedZones) == maxItems {
			out.IsTruncated, out.NextMarker = true, zones[i].id
			break
		}
		z := xmlZone{ID: "/hostedzone/" + zones[i].id, Name: zones[i].name, CallerReference: zones[i].callerRef, ResourceRecordSetCount: counts[i]}
		z.Config.PrivateZone = zones[i].private
		out.HostedZones = append(out.HostedZones, z)
	}
	return c.replyXML(out)
}

func r53MaxItems(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, &apiError{Status: http.StatusBadRequest, Code: "InvalidInput", Message: fmt.Sprintf("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint", s)}
	}
	return min(n, def), nil
}

func r53NoSuchZone(id string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: "NoSuchHostedZone", Message: "No hosted zone found with ID: " + id}
}

func r53ListResourceRecordSets(c *call) error {
	q := c.r.URL.Query()
	maxItems, err := r53MaxItems(q.Get("maxitems"), 300)
	if err != nil {
		return err
	}
	startName, startType, startID := q.Get("name"), strings.ToUpper(q.Get("type")), q.Get("identifier")
	if startType != "" && startName == "" {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidInput", Message: "The input is not valid: StartRecordType requires StartRecordName"}
	}
	if startID != "" && startType == "" {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidInput", Message: "The input is not valid: StartRecordIdentifier requires StartRecordType"}
	}
	c.t.r53.mu.Lock()
	z := c.t.r53.zone(c.labels[0])
	var records []RecordSet
	if z != nil {
		records = slices.Clone(z.records)
	}
	c.t.r53.mu.Unlock()
	if z == nil {
		return r53NoSuchZone(c.labels[0])
	}
	sortRecords(records)
	from := ""
	if startName != "" {
		from = recordOrder(canonicalName(startName), startType, startID)
	}
	var out struct {
		XMLName              xml.Name       `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListResourceRecordSetsResponse"`
		ResourceRecordSets   []xmlRecordSet `xml:"ResourceRecordSets>ResourceRecordSet"`
		IsTruncated          bool           `xml:"IsTruncated"`
		NextRecordName       string         `xml:"NextRecordName,omitempty"`
		NextRecordType       string         `xml:"NextRecordType,omitempty"`
		NextRecordIdentifier string         `xml:"NextRecordIdentifier,omitempty"`
		MaxItems             int            `xml:"MaxItems"`
	}
	out.MaxItems = maxItems
	out.ResourceRecordSets = []xmlRecordSet{}
	for _, r := range records {
		if recordOrder(r.Name, r.Type, r.SetIdentifier) < from {
			continue
		}
		if len(out.ResourceRecordSets) == maxItems {
			out.IsTruncated = true
			out.NextRecordName, out.NextRecordType, out.NextRecordIdentifier = wireName(r.Name), r.Type, r.SetIdentifier
			break
		}
		out.ResourceRecordSets = append(out.ResourceRecordSets, toXMLRecord(r))
	}
	return c.replyXML(out)
}

func r53ChangeResourceRecordSets(c *call) error {
	var in struct {
		ChangeBatch struct {
			Comment string      `xml:"Comment"`
			Changes []xmlChange `xml:"Changes>Change"`
		} `xml:"ChangeBatch"`
	}
	if err := xml.Unmarshal(c.body, &in); err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidInput", Message: "Could not parse the request body: " + err.Error()}
	}
	if len(in.ChangeBatch.Changes) == 0 {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidInput", Message: "Invalid request: Expected at least one change in ChangeBatch"}
	}
	c.t.r53.mu.Lock()
	defer c.t.r53.mu.Unlock()
	z := c.t.r53.zone(c.labels[0])
	if z == nil {
		return r53NoSuchZone(c.labels[0])
	}
	now := c.t.now()
	if now.Before(z.busyUntil) {
		// "If Amazon Route 53 can't process a request before the next request arrives, it will
		// reject subsequent requests for the same hosted zone and return an HTTP 400 error (Bad
		// request)" — the PriorRequestNotComplete error of ChangeResourceRecordSets
		// (https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html#API_ChangeResourceRecordSets_Errors).
		// The message is the one Route 53 sends. A refused request does not extend the wait.
		return &apiError{Status: http.StatusBadRequest, Code: "PriorRequestNotComplete",
			Message: "The request was rejected because Route 53 was still processing a prior request."}
	}
	if ae := c.t.r53.unknownHealthCheck(in.ChangeBatch.Changes); ae != nil {
		return ae
	}
	stranded := c.t.r53.strand[z.id] > 0
	if stranded {
		c.t.r53.strand[z.id]--
	} else if ae := applyChanges(z, in.ChangeBatch.Changes); ae != nil {
		if ae.Code == "InvalidChangeBatch" {
			ae.rawXML = fmt.Sprintf(`<InvalidChangeBatch xmlns="%s"><Messages>%s</Messages><RequestId>%s</RequestId></InvalidChangeBatch>`,
				route53NS, ae.rawXML, c.reqID)
		}
		return ae
	}
	id := randomID("C", 13)
	z.busyUntil = now.Add(c.t.r53.processing)
	if !stranded {
		c.t.r53.changes[id] = now
	}
	entry := Route53Change{ID: id, ZoneID: z.id, SubmittedAt: now, Comment: in.ChangeBatch.Comment, Stranded: stranded}
	for _, ch := range in.ChangeBatch.Changes {
		r := fromXMLRecord(ch.ResourceRecordSet)
		rc := Route53RecordChange{Action: ch.Action, Name: r.Name, Type: r.Type, SetIdentifier: r.SetIdentifier}
		if r.Weight != nil {
			rc.Weight = new(*r.Weight) // not the pointer the zone's record keeps
		}
		entry.Changes = append(entry.Changes, rc)
	}
	c.t.r53.log = append(c.t.r53.log, entry)
	var out struct {
		XMLName    xml.Name      `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ChangeResourceRecordSetsResponse"`
		ChangeInfo xmlChangeInfo `xml:"ChangeInfo"`
	}
	out.ChangeInfo = xmlChangeInfo{ID: "/change/" + id, Status: "PENDING", SubmittedAt: formatISO(now), Comment: in.ChangeBatch.Comment}
	return c.replyXML(out)
}

func r53GetChange(c *call) error {
	id := strings.TrimPrefix(c.labels[0], "/change/")
	c.t.r53.mu.Lock()
	submitted, ok := c.t.r53.changes[id]
	c.t.r53.mu.Unlock()
	if !ok {
		return &apiError{Status: http.StatusNotFound, Code: "NoSuchChange", Message: "A change with the specified change ID does not exist: " + id}
	}
	status := "PENDING"
	if !c.t.now().Before(submitted.Add(c.t.opts.Route53ChangeDelay)) {
		status = "INSYNC"
	}
	var out struct {
		XMLName    xml.Name      `xml:"https://route53.amazonaws.com/doc/2013-04-01/ GetChangeResponse"`
		ChangeInfo xmlChangeInfo `xml:"ChangeInfo"`
	}
	out.ChangeInfo = xmlChangeInfo{ID: "/change/" + id, Status: status, SubmittedAt: formatISO(submitted)}
	return c.replyXML(out)
}

// unknownHealthCheck refuses a change that attaches a health check that does not exist:
// NoSuchHealthCheck, "No health check exists with the specified ID", is among
// ChangeResourceRecordSets' errors
// (https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html#API_ChangeResourceRecordSets_Errors).
// Callers hold s.mu.
func (s *route53State) unknownHealthCheck(changes []xmlChange) *apiError {
	for _, ch := range changes {
		id := ch.ResourceRecordSet.HealthCheckID
		if ch.Action == "DELETE" || id == "" {
			continue
		}
		if _, ok := s.checks[id]; !ok {
			return r53NoSuchHealthCheck(id)
		}
	}
	return nil
}

var validRRTypes = []string{"A", "AAAA", "CAA", "CNAME", "DS", "HTTPS", "MX", "NAPTR", "NS", "PTR", "SOA", "SPF", "SRV", "SSHFP", "SVCB", "TLSA", "TXT"}

// applyChanges validates a change batch as Route 53 does and applies it atomically. Batch
// errors are InvalidChangeBatch with every message (collected in rawXML as <Message>
// elements); malformed individual changes are InvalidInput.
func applyChanges(z *hostedZone, changes []xmlChange) *apiError {
	records := slices.Clone(z.records)
	var msgs []string
	touched := map[string]bool{}
	for _, ch := range changes {
		r := fromXMLRecord(ch.ResourceRecordSet)
		desc := fmt.Sprintf("[Action=%s, Name=%s, Type=%s, SetIdentifier=%s]", ch.Action, r.Name, r.Type, orNull(r.SetIdentifier))
		if ae := validateRecord(r, desc); ae != nil {
			return ae
		}
		ident := fmt.Sprintf("[name='%s', type='%s'", r.Name, r.Type)
		if r.SetIdentifier != "" {
			ident += fmt.Sprintf(", set-identifier='%s'", r.SetIdentifier)
		}
		ident += "]"
		if r.Name != z.name && !strings.HasSuffix(r.Name, "."+z.name) {
			msgs = append(msgs, fmt.Sprintf("RRSet with DNS name %s is not permitted in zone %s", r.Name, z.name))
			continue
		}
		idx := slices.IndexFunc(records, func(e RecordSet) bool {
			return e.Name == r.Name && e.Type == r.Type && e.SetIdentifier == r.SetIdentifier
		})
		key := r.Name + "|" + r.Type + "|" + r.SetIdentifier
		switch ch.Action {
		case "CREATE", "UPSERT":
			if touched[key] {
				msgs = append(msgs, fmt.Sprintf("The request contains an invalid set of changes for a resource record set '%s %s'", r.Type, r.Name))
				continue
			}
			touched[key] = true
			if ch.Action == "CREATE" && idx >= 0 {
				msgs = append(msgs, fmt.Sprintf("Tried to create resource record set %s but it already exists", ident))
				continue
			}
			if m := conflict(records, r, z.name); m != "" {
				msgs = append(msgs, m)
				continue
			}
			if idx >= 0 {
				records[idx] = r
			} else {
				records = append(records, r)
			}
		case "DELETE":
			if idx < 0 {
				msgs = append(msgs, fmt.Sprintf("Tried to delete resource record set %s but it was not found", ident))
				continue
			}
			if !sameRecord(records[idx], r) {
				msgs = append(msgs, fmt.Sprintf("Tried to delete resource record set %s but the values provided do not match the current values", ident))
				continue
			}
			if r.Name == z.name && (r.Type == "SOA" || r.Type == "NS") {
				msgs = append(msgs, fmt.Sprintf("A HostedZone must contain at least one %s record for the zone itself.", r.Type))
				continue
			}
			records = slices.Delete(records, idx, idx+1)
		default:
			return &apiError{Status: http.StatusBadRequest, Code: "InvalidInput",
				Message: fmt.Sprintf("Invalid request: Value '%s' at 'changeBatch.changes.member.action' failed to satisfy constraint: Member must satisfy enum value set: [CREATE, DELETE, UPSERT]", ch.Action)}
		}
	}
	if len(msgs) > 0 {
		var b strings.Builder
		for _, m := range msgs {
			b.WriteString("<Message>" + xmlEscape(m) + "</Message>")
		}
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidChangeBatch", Message: strings.Join(msgs, "; "), rawXML: b.String()}
	}
	z.records = records
	return nil
}

func orNull(s string) string {
	if s == "" {
		return "null"
	}
	return s
}

func validateRecord(r RecordSet, desc string) *apiError {
	invalid := func(msg string) *apiError {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidInput", Message: "Invalid request: " + msg + " in Change with " + desc}
	}
	if !slices.Contains(validRRTypes, r.Type) {
		return invalid(fmt.Sprintf("Unsupported record type %q", r.Type))
	}
	withRecords := r.TTL != nil && len(r.Values) > 0
	partial := (r.TTL != nil || len(r.Values) > 0) && !withRecords
	if partial || (r.AliasTarget != nil) == withRecords {
		return invalid("Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none or more than one")
	}
	if r.TTL != nil && (*r.TTL < 0 || *r.TTL > 2147483647) {
		return invalid("TTL must be between 0 and 2147483647")
	}
	policies := 0
	for _, set := range []bool{r.Weight != nil, r.Region != "", r.Failover != "", r.MultiValueAnswer != nil} {
		if set {
			policies++
		}
	}
	switch {
	case policies > 1:
		return invalid("A resource record set can have only one routing policy")
	case policies == 1 && r.SetIdentifier == "":
		return invalid("Missing field 'SetIdentifier'")
	case policies == 0 && r.SetIdentifier != "":
		return invalid("Unexpected field 'SetIdentifier' for a record set without a routing policy")
	}
	if r.Weight != nil && (*r.Weight < 0 || *r.Weight > 255) {
		return invalid("Weight must be between 0 and 255")
	}
	if r.Failover != "" && r.Failover != "PRIMARY" && r.Failover != "SECONDARY" {
		return invalid("Failover must be PRIMARY or SECONDARY")
	}
	return nil
}

// conflict reports Route 53's same-name rules: CNAME neither at the apex nor beside other
// types, and one routing policy per name and type.
func conflict(records []RecordSet, r RecordSet, zone string) string {
	if r.Type == "CNAME" && r.Name == zone {
		return fmt.Sprintf("RRSet of type CNAME with DNS name %s is not permitted at apex in zone %s", r.Name, zone)
	}
	for _, e := range records {
		if e.Name != r.Name {
			continue
		}
		if (e.Type == "CNAME") != (r.Type == "CNAME") {
			return fmt.Sprintf("RRSet of type %s with DNS name %s is not permitted because a conflicting RRSet of type %s with the same DNS name already exists in zone %s",
				r.Type, r.Name, e.Type, zone)
		}
		if e.Type == r.Type && e.SetIdentifier != r.SetIdentifier && policyOf(e) != policyOf(r) {
			return fmt.Sprintf("RRSet with DNS name %s, type %s, SetIdentifier %s cannot be created because a %s set exists with the same name and type.",
				r.Name, r.Type, orNull(r.SetIdentifier), policyName(e))
		}
	}
	return ""
}

func policyOf(r RecordSet) string {
	switch {
	case r.Weight != nil:
		return "weighted"
	case r.Region != "":
		return "latency"
	case r.Failover != "":
		return "failover"
	case r.MultiValueAnswer != nil:
		return "multivalue"
	}
	return "simple"
}

func policyName(r RecordSet) string {
	if p := policyOf(r); p != "simple" {
		return p
	}
	return "non-weighted"
}

func sameRecord(a, b RecordSet) bool {
	eqPtr := func(x, y *int64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	if !eqPtr(a.TTL, b.TTL) || !eqPtr(a.Weight, b.Weight) || a.Region != b.Region || a.Failover != b.Failover || a.HealthCheckID != b.HealthCheckID {
		return false
	}
	if (a.AliasTarget == nil) != (b.AliasTarget == nil) || (a.AliasTarget != nil && *a.AliasTarget != *b.AliasTarget) {
		return false
	}
	av, bv := slices.Clone(a.Values), slices.Clone(b.Values)
	slices.Sort(av)
	slices.Sort(bv)
	return slices.Equal(av, bv)
}
