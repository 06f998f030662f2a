package kafkatwin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
	"github.com/opensearch-project/opensearch-go/v4/signer"
	"github.com/twmb/franz-go/pkg/kgo"
)

// PipelineStatus mirrors the OSI PipelineStatus enum (service/osis types.PipelineStatus).
type PipelineStatus string

// OSI pipeline statuses. The twin moves through CREATING, ACTIVE, STOPPING, STOPPED and
// STARTING; the others exist so the lab can map every SDK value.
const (
	PipelineCreating     PipelineStatus = "CREATING"
	PipelineActive       PipelineStatus = "ACTIVE"
	PipelineUpdating     PipelineStatus = "UPDATING"
	PipelineDeleting     PipelineStatus = "DELETING"
	PipelineCreateFailed PipelineStatus = "CREATE_FAILED"
	PipelineUpdateFailed PipelineStatus = "UPDATE_FAILED"
	PipelineStarting     PipelineStatus = "STARTING"
	PipelineStartFailed  PipelineStatus = "START_FAILED"
	PipelineStopping     PipelineStatus = "STOPPING"
	PipelineStopped      PipelineStatus = "STOPPED"
)

// DefaultIndexTemplate is the blog's daily index, written with Data Prepper's date syntax.
const DefaultIndexTemplate = "application-logs-%{yyyy.MM.dd}"

// DefaultSubPipeline is the sub-pipeline name in the sample's pipeline body; OSI prefixes its
// metric names with it (kafka-pipeline.opensearch.documentsSuccess.count).
const DefaultSubPipeline = "kafka-pipeline"

// ErrValidation is what StartPipeline/StopPipeline answer with ValidationException: the
// requested transition is not allowed from the pipeline's current status.
var ErrValidation = errors.New("ValidationException")

// TransitionError reports a refused Start or Stop; it unwraps to [ErrValidation].
type TransitionError struct {
	Pipeline string
	Op       string // "start" or "stop"
	Status   PipelineStatus
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("ValidationException: cannot %s pipeline %s while it is %s", e.Op, e.Pipeline, e.Status)
}

// Unwrap lets errors.Is(err, ErrValidation) match.
func (e *TransitionError) Unwrap() error { return ErrValidation }

// PipelineOptions configures a [Pipeline].
type PipelineOptions struct {
	// Required fields.

	// Name is the OSI pipeline name, e.g. "lab-osi-primary".
	Name string
	// Cluster is the Region's Kafka cluster the pipeline reads.
	Cluster *Cluster
	// GroupID is the consumer group, e.g. "osi-consumer-group-primary".
	GroupID string
	// OpenSearchURL is the collection endpoint, e.g. an httptest server's URL.
	OpenSearchURL string

	// Optional fields.

	// Region defaults to the cluster's Region.
	Region string
	// Topic defaults to [DefaultTopic].
	Topic string
	// Signer signs every OpenSearch request (SigV4 for aoss in AWS); nil sends them unsigned.
	Signer signer.Signer
	// Transport carries the OpenSearch requests; nil means http.DefaultTransport.
	Transport http.RoundTripper
	// IndexTemplate defaults to [DefaultIndexTemplate]. Its %{...} date is taken from each
	// record's JSON "timestamp" field (RFC 3339, or ISO 8601 without offset read as UTC).
	// Data Prepper itself fills %{...} from the time of indexing; the lab uses the event time
	// so that a cross-Region comparison by daily index is deterministic even when a backlog
	// drains after midnight.
	IndexTemplate string
	// DLQ receives failed documents; nil logs and drops them, as Data Prepper does without a
	// dlq block.
	DLQ DLQ
	// DLQBucket is the S3 bucket name given to DLQ.PutObject.
	DLQBucket string
	// DLQKeyPathPrefix is Data Prepper's key_path_prefix; "" means none.
	DLQKeyPathPrefix string
	// SubPipeline is the Data Prepper pipeline name inside the OSI pipeline; "" means
	// [DefaultSubPipeline]. Data Prepper puts this name — not the OSI pipeline's — into DLQ
	// object keys and bodies, and OSI into metric names.
	SubPipeline string
	// CreateDelay, StartDelay and StopDelay are how long CREATING, STARTING and STOPPING last.
	CreateDelay, StartDelay, StopDelay time.Duration
	// BatchSize caps the records per bulk request; 0 means 500 (the Kafka source's
	// max_poll_records default).
	BatchSize int
	// MaxItemRetries is how often a document the bulk API answered with 429 or 5xx is resent
	// before it goes to the DLQ; 0 means 3.
	MaxItemRetries int
	// RetryBackoff is the pause before resending a failed bulk request or DLQ write; 0 means
	// 200 ms.
	RetryBackoff time.Duration
	// Logger receives status changes and errors; nil means slog.Default().
	Logger *slog.Logger
}

// PipelineMetrics is a snapshot of the pipeline's counters; see [PipelineMetrics.CloudWatch]
// for the AWS/OSIS names.
type PipelineMetrics struct {
	RecordsIn           int64
	DocumentsSuccess    int64
	DocumentErrors      int64
	BulkRequestErrors   int64
	DLQS3RecordsSuccess int64
	DLQS3RecordsFailed  int64
}

// CloudWatch returns the counters under their AWS/OSIS metric names (dimension PipelineName),
// e.g. "kafka-pipeline.opensearch.documentsSuccess.count"; subPipeline "" means
// [DefaultSubPipeline].
func (m PipelineMetrics) CloudWatch(subPipeline string) map[string]float64 {
	if subPipeline == "" {
		subPipeline = DefaultSubPipeline
	}
	p := subPipeline + ".opensearch."
	return map[string]float64{
		p + "recordsIn.count":              float64(m.RecordsIn),
		p + "documentsSuccess.count":       float64(m.DocumentsSuccess),
		p + "documentErrors.count":         float64(m.DocumentErrors),
		p + "bulkRequestErrors.count":      float64(m.BulkRequestErrors),
		p + "s3.dlqS3RecordsSuccess.count": float64(m.DLQS3RecordsSuccess),
		p + "s3.dlqS3RecordsFailed.count":  float64(m.DLQS3RecordsFailed),
	}
}

// Pipeline is the OSI pipeline twin: Kafka source with acknowledgments, OpenSearch bulk sink,
// S3 DLQ.
type Pipeline struct {
	opts   PipelineOptions
	log    *slog.Logger
	arn    string
	os     *opensearchapi.Client
	index  *indexTemplate
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu           sync.Mutex
	status       PipelineStatus
	changed      chan struct{}
	stopConsumer context.CancelFunc // cancels the running consumer's polling
	consumerDone chan struct{}

	dlqShare atomic.Uint64 // math.Float64bits

	recordsIn           atomic.Int64
	documentsSuccess    atomic.Int64
	documentErrors      atomic.Int64
	bulkRequestErrors   atomic.Int64
	dlqS3RecordsSuccess atomic.Int64
	dlqS3RecordsFailed  atomic.Int64
}

// NewPipeline creates the pipeline in CREATING; it turns ACTIVE and starts consuming after
// CreateDelay, as CreatePipeline does.
func NewPipeline(opts PipelineOptions) (*Pipeline, error) {
	if opts.Name == "" || opts.Cluster == nil || opts.GroupID == "" || opts.OpenSearchURL == "" {
		return nil, errors.New("kafkatwin: pipeline Name, Cluster, GroupID and OpenSearchURL are required")
	}
	if opts.Region == "" {
		opts.Region = opts.Cluster.Region()
	}
	if opts.Topic == "" {
		opts.Topic = DefaultTopic
	}
	if opts.IndexTemplate == "" {
		opts.IndexTemplate = DefaultIndexTemplate
	}
	if opts.SubPipeline == "" {
		opts.SubPipeline = DefaultSubPipeline
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	if opts.MaxItemRetries <= 0 {
		opts.MaxItemRetries = 3
	}
	opts.RetryBackoff = orDuration(opts.RetryBackoff, 200*time.Millisecond)
	idx, err := parseIndexTemplate(opts.IndexTemplate)
	if err != nil {
		return nil, fmt.Errorf("kafkatwin: pipeline %s: %w", opts.Name, err)
	}
	osc, err := opensearchapi.NewClient(opensearchapi.Config{Client: opensearch.Config{
		Addresses: []string{opts.OpenSearchURL},
		Signer:    opts.Signer,
		Transport: opts.Transport,
		// The pipeline's own loop retries and counts every failed bulk request, as Data
		// Prepper's bulkRequestErrors does; client-side retries would hide them.
		DisableRetry:   true,
		RequestTimeout: 10 * time.Second,
	}})
	if err != nil {
		return nil, fmt.Errorf("kafkatwin: pipeline %s: opensearch client: %w", opts.Name, err)
	}
	p := &Pipeline{
		opts:    opts,
		log:     orDefaultLogger(opts.Logger).With("pipeline", opts.Name, "region", opts.Region),
		arn:     fmt.Sprintf("arn:aws:osis:%s:%s:pipeline/%s", opts.Region, DefaultAccountID, opts.Name),
		os:      osc,
		index:   idx,
		status:  PipelineCreating,
		changed: make(chan struct{}),
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if !sleepCtx(p.ctx, opts.CreateDelay) {
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		p.startConsumerLocked()
		p.setStatusLocked(PipelineActive)
	}()
	p.log.Info("pipeline created", "status", PipelineCreating)
	return p, nil
}

// Name returns the OSI pipeline name.
func (p *Pipeline) Name() string { return p.opts.Name }

// ARN returns an OSI-shaped pipeline ARN.
func (p *Pipeline) ARN() string { return p.arn }

// Status returns the pipeline's OSI status.
func (p *Pipeline) Status() PipelineStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

func (p *Pipeline) setStatusLocked(s PipelineStatus) {
	p.status = s
	close(p.changed)
	p.changed = make(chan struct{})
	p.log.Info("pipeline status changed", "status", s)
}

// WaitForStatus blocks until the pipeline reports want or ctx ends.
func (p *Pipeline) WaitForStatus(ctx context.Context, want PipelineStatus) error {
	for {
		p.mu.Lock()
		st, ch := p.status, p.changed
		p.mu.Unlock()
		if st == want {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("pipeline %s: wait for %s (status %s): %w", p.opts.Name, want, st, ctx.Err())
		}
	}
}

// Start is StartPipeline. From STOPPED the pipeline turns STARTING and, after StartDelay,
// ACTIVE, consuming again from the group's committed offsets. Starting an ACTIVE or STARTING
// pipeline succeeds without effect. From CREATING or STOPPING it fails with [ErrValidation]:
// OSI only starts a pipeline that is stopped. The returned status is the one StartPipeline's
// response would carry.
func (p *Pipeline) Start(ctx context.Context) (PipelineStatus, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("pipeline %s: start: %w", p.opts.Name, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.status {
	case PipelineActive, PipelineStarting:
		return p.status, nil
	case PipelineStopped:
	default:
		return p.status, &TransitionError{Pipeline: p.opts.Name, Op: "start", Status: p.status}
	}
	p.setStatusLocked(PipelineStarting)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if !sleepCtx(p.ctx, p.opts.StartDelay) {
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		p.startConsumerLocked()
		p.setStatusLocked(PipelineActive)
	}()
	return PipelineStarting, nil
}

// Stop is StopPipeline. From ACTIVE the pipeline turns STOPPING and stops polling at once —
// the batch in hand is finished and committed first, so nothing is half-acknowledged — and
// reports STOPPED once the consumer has left its group and StopDelay has passed. Stopping a
// STOPPED or STOPPING pipeline succeeds without effect. From CREATING or STARTING it fails
// with [ErrValidation], as OSI refuses to stop a pipeline that is still coming up.
func (p *Pipeline) Stop(ctx context.Context) (PipelineStatus, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("pipeline %s: stop: %w", p.opts.Name, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.status {
	case PipelineStopped, PipelineStopping:
		return p.status, nil
	case PipelineActive:
	default:
		return p.status, &TransitionError{Pipeline: p.opts.Name, Op: "stop", Status: p.status}
	}
	p.setStatusLocked(PipelineStopping)
	done := p.consumerDone
	if p.stopConsumer != nil {
		p.stopConsumer()
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		delayOK := sleepCtx(p.ctx, p.opts.StopDelay)
		if done != nil {
			select {
			case <-done:
			case <-p.ctx.Done():
				return
			}
		}
		if !delayOK {
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		p.setStatusLocked(PipelineStopped)
	}()
	return PipelineStopping, nil
}

// SetDLQShare diverts the share f (clamped to [0,1]) of documents to the DLQ instead of
// indexing them, counted as document errors. The choice hashes the record value, so it is
// deterministic: the same record is diverted every time it is delivered.
func (p *Pipeline) SetDLQShare(f float64) {
	f = math.Max(0, math.Min(1, f))
	p.dlqShare.Store(math.Float64bits(f))
}

// Metrics returns a snapshot of the pipeline's counters.
func (p *Pipeline) Metrics() PipelineMetrics {
	return PipelineMetrics{
		RecordsIn:           p.recordsIn.Load(),
		DocumentsSuccess:    p.documentsSuccess.Load(),
		DocumentErrors:      p.documentErrors.Load(),
		BulkRequestErrors:   p.bulkRequestErrors.Load(),
		DLQS3RecordsSuccess: p.dlqS3RecordsSuccess.Load(),
		DLQS3RecordsFailed:  p.dlqS3RecordsFailed.Load(),
	}
}

// Close stops the pipeline's goroutines without the status machine; the group's committed
// offsets stay with the cluster.
func (p *Pipeline) Close() {
	p.mu.Lock()
	if p.stopConsumer != nil {
		p.stopConsumer()
	}
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
}

// startConsumerLocked starts a consumer goroutine. Callers hold p.mu.
func (p *Pipeline) startConsumerLocked() {
	pollCtx, stop := context.WithCancel(p.ctx)
	done := make(chan struct{})
	p.stopConsumer, p.consumerDone = stop, done
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(done)
		for {
			err := p.consume(pollCtx)
			if pollCtx.Err() != nil {
				return
			}
			p.log.Warn("pipeline consumer restarting", "err", err)
			if !sleepCtx(pollCtx, p.opts.RetryBackoff) {
				return
			}
		}
	}()
}

// errStopping abandons a batch without committing it: the records are delivered again after
// the next Start.
var errStopping = errors.New("pipeline stopping")

// consume reads the topic with the pipeline's group until pollCtx ends. Offsets are committed
// only after a batch was indexed or dead-lettered (the sample's acknowledgments: true).
func (p *Pipeline) consume(pollCtx context.Context) error {
	cl, err := kgo.NewClient(clientOpts(p.opts.Cluster.Bootstrap(), append(groupOpts(p.opts.GroupID),
		kgo.ConsumeTopics(p.opts.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.FetchMaxWait(500*time.Millisecond),
	)...)...)
	if err != nil {
		return fmt.Errorf("create consumer: %w", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = cl.LeaveGroupContext(ctx)
		cl.Close()
	}()
	for {
		fetches := cl.PollRecords(pollCtx, p.opts.BatchSize)
		if pollCtx.Err() != nil || fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(t string, part int32, err error) {
			p.log.Debug("fetch error", "topic", t, "partition", part, "err", err)
		})
		recs := fetches.Records()
		if len(recs) == 0 {
			continue
		}
		p.recordsIn.Add(int64(len(recs)))
		if err := p.processBatch(pollCtx, recs); err != nil {
			// Uncommitted: the group's successor re-reads the batch.
			return fmt.Errorf("process batch: %w", err)
		}
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		err := cl.CommitRecords(ctx, recs...)
		cancel()
		if err != nil {
			// The batch is in OpenSearch; a failed commit only means it may be indexed twice.
			p.log.Warn("offset commit failed", "err", err)
		}
	}
}

type bulkDoc struct {
	index string
	doc   []byte
	ts    time.Time
}

// processBatch indexes a batch and dead-letters what cannot be indexed. It keeps retrying a
// failing bulk request or DLQ write until it succeeds or the pipeline is stopped (stopCtx done),
// because committing past documents that went nowhere would lose them.
func (p *Pipeline) processBatch(stopCtx context.Context, recs []*kgo.Record) error {
	var failed []DLQObject
	now := time.Now()
	share := math.Float64frombits(p.dlqShare.Load())
	docs := make([]bulkDoc, 0, len(recs))
	for _, rec := range recs {
		doc, ts, err := parseEvent(rec.Value)
		switch {
		case err != nil && doc == nil:
			failed = append(failed, p.dlqObject("", 400, "failed to parse record as a JSON event: "+err.Error(), rawDocument(rec.Value), now))
			continue
		case err != nil:
			failed = append(failed, p.dlqObject("", 400, "cannot resolve the index name: "+err.Error(), doc, now))
			continue
		}
		index := p.index.resolve(ts)
		if share > 0 && divert(rec.Value, share) {
			failed = append(failed, p.dlqObject(index, 400, "document diverted to the DLQ by the lab's DLQ share fault", doc, now))
			continue
		}
		docs = append(docs, bulkDoc{index: index, doc: doc, ts: ts})
	}

	pending := docs
	for attempt := 0; len(pending) > 0; attempt++ {
		var retry []bulkDoc
		items, err := p.bulk(pending)
		if err != nil {
			p.bulkRequestErrors.Add(1)
			p.log.Warn("bulk request failed", "err", err, "documents", len(pending))
			if !sleepCtx(stopCtx, p.opts.RetryBackoff) {
				return errStopping
			}
			continue
		}
		for i, item := range items {
			d := pending[i]
			switch {
			case item.Status >= 200 && item.Status < 300:
				p.documentsSuccess.Add(1)
			case (item.Status == 429 || item.Status >= 500) && attempt < p.opts.MaxItemRetries:
				retry = append(retry, d)
			default:
				failed = append(failed, p.dlqObject(d.index, item.Status, item.message(), d.doc, time.Now()))
			}
		}
		pending = retry
		if len(pending) > 0 && !sleepCtx(stopCtx, p.opts.RetryBackoff) {
			return errStopping
		}
	}

	if len(failed) == 0 {
		return nil
	}
	p.documentErrors.Add(int64(len(failed)))
	if p.opts.DLQ == nil {
		p.log.Warn("documents failed and no DLQ is configured; dropping them", "documents", len(failed))
		return nil
	}
	body, err := json.Marshal(DLQFile{DLQObjects: failed})
	if err != nil {
		return fmt.Errorf("encode DLQ object: %w", err)
	}
	key := DLQKey(p.opts.DLQKeyPathPrefix, p.opts.SubPipeline, "opensearch", time.Now(), randomUUID())
	for {
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		err := p.opts.DLQ.PutObject(ctx, p.opts.DLQBucket, key, body)
		cancel()
		if err == nil {
			p.dlqS3RecordsSuccess.Add(int64(len(failed)))
			return nil
		}
		p.dlqS3RecordsFailed.Add(int64(len(failed)))
		p.log.Warn("DLQ write failed", "bucket", p.opts.DLQBucket, "key", key, "err", err)
		if !sleepCtx(stopCtx, p.opts.RetryBackoff) {
			return errStopping
		}
	}
}

type bulkItem struct {
	Status    int
	ErrType   string
	ErrReason string
}

func (i bulkItem) message() string {
	if i.ErrType == "" && i.ErrReason == "" {
		return fmt.Sprintf("bulk item failed with status %d", i.Status)
	}
	return i.ErrType + ": " + i.ErrReason
}

// bulk sends one _bulk request with the index action — no _id, since TIMESERIES collections
// assign ids themselves — and returns one result per document, in order.
func (p *Pipeline) bulk(docs []bulkDoc) ([]bulkItem, error) {
	var body bytes.Buffer
	for _, d := range docs {
		action, _ := json.Marshal(map[string]map[string]string{"index": {"_index": d.index}})
		body.Write(action)
		body.WriteByte('\n')
		body.Write(d.doc)
		body.WriteByte('\n')
	}
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	resp, err := p.os.Bulk(ctx, opensearchapi.BulkReq{Body: &body})
	if err != nil {
		return nil, fmt.Errorf("bulk %d documents: %w", len(docs), err)
	}
	if len(resp.Items) != len(docs) {
		return nil, fmt.Errorf("bulk %d documents: response has %d items", len(docs), len(resp.Items))
	}
	out := make([]bulkItem, len(docs))
	for i, m := range resp.Items {
		for _, it := range m {
			out[i].Status = it.Status
			if it.Error != nil {
				out[i].ErrType, out[i].ErrReason = it.Error.Type, it.Error.Reason
			}
		}
	}
	return out, nil
}

func (p *Pipeline) dlqObject(index string, status int, msg string, doc []byte, now time.Time) DLQObject {
	return DLQObject{
		PluginID:     "opensearch",
		PluginName:   "opensearch",
		PipelineName: p.opts.SubPipeline,
		FailedData: FailedData{
			Index:    index,
			Status:   status,
			Message:  msg,
			Document: json.RawMessage(doc),
		},
		Timestamp: dlqTimestamp(now),
	}
}

// parseEvent checks that a record is a JSON object with a usable timestamp and returns it
// compacted to one line, as a bulk body needs. The document is nil only when the record is not
// a JSON object at all.
func parseEvent(v []byte) ([]byte, time.Time, error) {
	var ev struct {
		Timestamp *string `json:"timestamp"`
	}
	if err := json.Unmarshal(v, &ev); err != nil {
		return nil, time.Time{}, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, v); err != nil {
		return nil, time.Time{}, err
	}
	if ev.Timestamp == nil {
		return compact.Bytes(), time.Time{}, errors.New(`no "timestamp" field to resolve the index date from`)
	}
	ts, err := parseTimestamp(*ev.Timestamp)
	if err != nil {
		return compact.Bytes(), time.Time{}, err
	}
	return compact.Bytes(), ts, nil
}

func parseTimestamp(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	// Python's datetime.isoformat() on a naive UTC time, as the sample's producer writes it.
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("timestamp %q is neither RFC 3339 nor ISO 8601", s)
}

// rawDocument keeps an unparseable record in the DLQ as a JSON string.
func rawDocument(v []byte) []byte {
	b, _ := json.Marshal(string(v))
	return b
}

// divert decides by hash whether a record goes to the DLQ under a DLQ share.
func divert(v []byte, share float64) bool {
	h := fnv.New64a()
	_, _ = h.Write(v)
	return float64(h.Sum64()>>11)/(1<<53) < share
}
