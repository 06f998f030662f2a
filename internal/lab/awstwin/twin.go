package awstwin

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Signing names of the services the twin serves; [FaultContext.Service] carries one of these.
const (
	ServiceKafka      = "kafka"
	ServiceOSIS       = "osis"
	ServiceAOSS       = "aoss"
	ServiceRoute53    = "route53"
	ServiceCloudWatch = "monitoring"
	ServiceS3         = "s3"
	ServiceSQS        = "sqs"
	// ServiceOpenSearch ("es") and ServiceSSM ("ssm") are declared with their services.
)

// DefaultAccountID is the account the twin's ARNs and queue URLs name: AWS's documentation
// example account, the same one the lab's Kafka twins use.
const DefaultAccountID = "123456789012"

// maxBody bounds request bodies; the lab's largest are DLQ objects of a few MiB.
const maxBody = 64 << 20

// Options configures a [Twin]. The zero value is usable.
type Options struct {
	// AccountID appears in ARNs and queue URLs; "" means [DefaultAccountID].
	AccountID string
	// Logger receives one debug record per request and warnings for injected faults; nil means
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock for timestamps and for delayed state changes (Route 53 INSYNC, the
	// in-memory backends' transitions); nil means time.Now. SQS visibility and long polls and
	// fault delays gate real waits, so they always use the wall clock.
	Now func() time.Time
	// Route53ChangeDelay is how long a change stays PENDING before GetChange reports INSYNC.
	// Real Route 53 takes tens of seconds; 0 means INSYNC on the first GetChange.
	Route53ChangeDelay time.Duration
	// Route53ProcessingTime is how long Route 53 takes to process an accepted
	// ChangeResourceRecordSets request for a hosted zone; another change request for the same
	// zone that arrives sooner is refused with HTTP 400 PriorRequestNotComplete, as Route 53
	// does. 0 (the default) processes every request at once. [Twin.SetRoute53ProcessingTime]
	// changes it while the twin runs.
	Route53ProcessingTime time.Duration
	// EvaluateAlarms makes CloudWatch evaluate metric alarms against the metrics PutMetricData
	// writes, as AWS does (see cloudwatch_eval.go); alarms marked [Alarm.Driven] are left to
	// SetAlarmState. Off (the zero value), only SetAlarmState changes an alarm's state, which
	// tests that script alarm states rely on. The lab turns it on.
	EvaluateAlarms bool
	// Regions seeds per-Region backends for the services other lab components own. A Region
	// not listed, or a nil field, gets an empty in-memory implementation.
	Regions map[string]Backends
}

// Backends are the per-Region services whose state lives outside this package: the lab's
// Kafka, OSI and collection twins implement these interfaces.
type Backends struct {
	MSK  MSK
	OSIS OSIS
	AOSS AOSS
	// OpenSearch serves managed domains (DescribeDomain, DescribeDomainHealth).
	OpenSearch OpenSearchService
}

// FaultHook decides, before every operation, whether to inject a fault. It runs on the request
// goroutine and must be safe for concurrent use.
type FaultHook func(FaultContext) Fault

// Twin is the lab's AWS control plane. It owns the state of Route 53 (global), CloudWatch, S3
// and SQS (per Region) and fronts the MSK, OSI and OpenSearch Serverless backends of each
// Region. One [http.Handler] per Region serves every service, routed by the service in the
// request's SigV4 credential scope, so a single endpoint URL works for all clients.
type Twin struct {
	opts Options
	log  *slog.Logger
	now  func() time.Time
	done chan struct{}
	once sync.Once

	mu      sync.Mutex
	hook    FaultHook
	regions map[string]*regionState
	r53     *route53State
	plog    pipelineLog
	// iam and sts are global / per-Region identity state (iam.go, sts.go).
	iam *iamState
	sts *stsState
}

type regionState struct {
	name     string
	backends Backends
	cw       *cloudwatchState
	s3       *s3State
	sqs      *sqsState
	ssm      *ssmState
	// osis, aossAccount and quotas: readiness and pre-scaling state (osis_settings.go,
	// aoss_account.go, servicequotas.go).
	osis        *osisState
	aossAccount *aossAccountState
	quotas      *quotaState
}

// New returns a Twin with no hosted zones, metrics, buckets or queues.
func New(opts Options) *Twin {
	if opts.AccountID == "" {
		opts.AccountID = DefaultAccountID
	}
	t := &Twin{
		opts:    opts,
		log:     opts.Logger,
		now:     opts.Now,
		done:    make(chan struct{}),
		regions: map[string]*regionState{},
	}
	if t.log == nil {
		t.log = slog.Default()
	}
	if t.now == nil {
		t.now = time.Now
	}
	t.r53 = newRoute53State()
	t.iam = newIAMState()
	t.sts = &stsState{callers: map[string]string{}}
	t.r53.processing = opts.Route53ProcessingTime
	return t
}

// Close releases requests held by timeout faults and long polls. Servers using the Twin's
// handlers should be closed after it, since http.Server.Close waits for handlers to return.
func (t *Twin) Close() {
	t.once.Do(func() { close(t.done) })
}

// SetFaultHook installs the hook consulted before every operation; nil removes it.
func (t *Twin) SetFaultHook(h FaultHook) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.hook = h
}

// SetBackends replaces a Region's backends; nil fields keep the current ones.
func (t *Twin) SetBackends(region string, b Backends) {
	rs := t.region(region)
	t.mu.Lock()
	defer t.mu.Unlock()
	if b.MSK != nil {
		rs.backends.MSK = b.MSK
	}
	if b.OSIS != nil {
		rs.backends.OSIS = b.OSIS
	}
	if b.AOSS != nil {
		rs.backends.AOSS = b.AOSS
	}
	if b.OpenSearch != nil {
		rs.backends.OpenSearch = b.OpenSearch
	}
}

// Backends returns a Region's backends, creating the in-memory defaults on first use.
func (t *Twin) Backends(region string) Backends {
	rs := t.region(region)
	t.mu.Lock()
	defer t.mu.Unlock()
	return rs.backends
}

func (t *Twin) region(name string) *regionState {
	t.mu.Lock()
	defer t.mu.Unlock()
	if rs, ok := t.regions[name]; ok {
		return rs
	}
	b := t.opts.Regions[name]
	if b.MSK == nil {
		b.MSK = NewInMemoryMSK(InMemoryMSKOptions{Now: t.now})
	}
	if b.OSIS == nil {
		b.OSIS = NewInMemoryOSIS(InMemoryOSISOptions{Now: t.now})
	}
	if b.AOSS == nil {
		b.AOSS = NewInMemoryAOSS()
	}
	if b.OpenSearch == nil {
		b.OpenSearch = NewInMemoryOpenSearch()
	}
	rs := &regionState{
		name:     name,
		backends: b,
		cw:       newCloudWatchState(),
		s3:       newS3State(),
		sqs:      newSQSState(),
		ssm:      newSSMState(),

		osis:        newOSISState(),
		aossAccount: newAOSSAccountState(),
		quotas:      newQuotaState(),
	}
	t.regions[name] = rs
	return rs
}

// backends reads the Region's backends under the lock SetBackends takes.
func (c *call) backends() Backends {
	c.t.mu.Lock()
	defer c.t.mu.Unlock()
	return c.rs.backends
}

func (t *Twin) faultHook() FaultHook {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.hook
}

// Handler serves every service for one Region. Route 53 is served from every Region's handler
// against the one global state, and its requests may be scoped to any Region: SDKs sign it for
// us-east-1 against AWS but with their configured Region once given a custom endpoint.
func (t *Twin) Handler(region string) http.Handler {
	return &regionHandler{t: t, rs: t.region(region)}
}

type regionHandler struct {
	t  *Twin
	rs *regionState
}

// call is one request in flight: what was routed, decoded and, at the end, written.
type call struct {
	ctx    context.Context
	t      *Twin
	rs     *regionState
	svc    *service
	w      http.ResponseWriter
	r      *http.Request
	body   []byte
	reqID  string
	op     string
	proto  protocol
	labels []string   // restJson/restXml path parameters, unescaped
	form   url.Values // awsQuery parameters
	status int
}

func (h *regionHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{ctx: r.Context(), t: h.t, rs: h.rs, w: w, r: r, reqID: newRequestID()}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		c.svc = guessService(r, nil)
		c.proto = c.svc.defaultProto
		c.fail(&apiError{Status: http.StatusBadRequest, Code: "SerializationException", Query: "MalformedInput", Message: fmt.Sprintf("read request body: %v", err)})
		return
	}
	c.body = body

	auth, authErr := parseSigV4(r)
	if authErr == nil {
		c.svc = services[auth.Service]
		if c.svc == nil {
			c.svc = guessService(r, body)
			c.proto = c.svc.defaultProto
			c.fail(&apiError{Status: http.StatusBadRequest, Code: "UnrecognizedClientException", Query: "InvalidClientTokenId",
				Message: fmt.Sprintf("the lab twin does not serve service %q named in the credential scope", auth.Service)})
			h.logDone(c)
			return
		}
	} else {
		// Without a scope, infer the service from the request's shape so the refusal below
		// uses the error format that service's clients parse.
		c.svc = guessService(r, body)
	}
	c.proto = c.svc.defaultProto
	if err := c.decompressBody(); err != nil {
		c.fail(err)
		h.logDone(c)
		return
	}
	if aerr := c.svc.resolve(c); aerr != nil {
		// AWS authenticates before it routes: an unsigned request for an unknown operation is
		// refused for its signature, not its path.
		switch {
		case errors.Is(authErr, errNoAuth):
			aerr = authError(c, authMissing, "")
		case authErr != nil:
			aerr = authError(c, authMalformed, authErr.Error())
		}
		c.fail(aerr)
		h.logDone(c)
		return
	}

	if hook := h.t.faultHook(); hook != nil {
		f := hook(FaultContext{Region: h.t.faultRegion(c.svc, h.rs.name), Endpoint: h.rs.name, Service: c.svc.name, Operation: c.op, Protocol: c.proto.String()})
		if f.AfterCommit && f.Kind != NoFault {
			h.serveThenLose(c, auth, authErr, f)
			h.logDone(c)
			return
		}
		if !h.t.applyFault(c, f) {
			h.logDone(c)
			return
		}
	}
	h.serve(c, auth, authErr)
	h.logDone(c)
}

// decompressBody inflates a gzip request body for the one operation the twin serves whose model
// accepts one: CloudWatch PutMetricData ("You can send a payload compressed by gzip",
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html; the
// model's requestCompression trait), which aws-sdk-go-v2 gzips from RequestMinCompressSizeBytes
// (10 KiB by default, every body when it is 0). S3 is left alone: there Content-Encoding is
// object metadata, and the body is stored as sent.
func (c *call) decompressBody() *apiError {
	if c.svc.name != ServiceCloudWatch || !strings.EqualFold(c.r.Header.Get("Content-Encoding"), "gzip") {
		return nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(c.body))
	if err == nil {
		var b []byte
		if b, err = io.ReadAll(io.LimitReader(zr, maxBody)); err == nil {
			c.body = b
			return nil
		}
	}
	return &apiError{Status: http.StatusBadRequest, Code: "SerializationException", Query: "MalformedInput", Message: fmt.Sprintf("read gzip request body: %v", err)}
}

// serve authenticates the call and runs its operation.
func (h *regionHandler) serve(c *call, auth sigV4, authErr error) {
	switch {
	case errors.Is(authErr, errNoAuth):
		c.fail(authError(c, authMissing, ""))
	case authErr != nil:
		c.fail(authError(c, authMalformed, authErr.Error()))
	case !c.svc.global && auth.Region != h.rs.name:
		c.fail(authError(c, authWrongRegion, auth.Region+"|"+h.rs.name))
	default:
		if !h.t.authorize(c) { // iam_enforce.go
			return
		}
		op := c.svc.ops[c.op]
		if err := op(c); err != nil {
			c.fail(err)
		}
	}
}

// serveThenLose runs the operation to completion — its change is committed — and throws its
// answer away, then answers as f says: the ambiguous failure a client of a distributed service
// must expect, where it cannot tell whether its request was carried out (AWS Builders' Library,
// "Making retries safe with idempotent APIs":
// https://aws.amazon.com/builders-library/making-retries-safe-with-idempotent-APIs/).
func (h *regionHandler) serveThenLose(c *call, auth sigV4, authErr error, f Fault) {
	answer := c.w
	c.w = &discardWriter{header: http.Header{}}
	h.serve(c, auth, authErr)
	committed := c.status
	c.w, c.status = answer, 0
	h.t.log.Warn("aws twin lost the answer of a served call", "region", c.rs.name, "service", c.svc.name, "operation", c.op,
		"served_status", committed, "lost_as", f.Kind.String())
	f.AfterCommit = false
	h.t.applyFault(c, f)
}

// discardWriter takes a served call's answer and drops it.
type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

func (h *regionHandler) logDone(c *call) {
	h.t.log.Debug("aws twin request", "region", h.rs.name, "service", c.svc.name, "operation", c.op,
		"protocol", c.proto.String(), "status", c.status, "request_id", c.reqID)
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// sleepCtx waits for d, the request's cancellation or the Twin's closing, whichever is first,
// and reports whether the full duration elapsed.
func (t *Twin) sleepCtx(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	case <-t.done:
		return false
	}
}

func (t *Twin) arn(service, region, resource string) string {
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, region, t.opts.AccountID, resource)
}
