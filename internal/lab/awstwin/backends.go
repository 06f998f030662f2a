package awstwin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Errors backends return, wrapped with detail; the twin maps each to the service's own error
// (MSK NotFoundException/BadRequestException, OSI ResourceNotFoundException/ConflictException).
var (
	// ErrNotFound: the named resource does not exist.
	ErrNotFound = errors.New("resource not found")
	// ErrVersionMismatch: an optimistic-concurrency version did not match the current one.
	ErrVersionMismatch = errors.New("current version does not match")
	// ErrInvalidState: the resource's state does not allow the operation (e.g. starting a
	// pipeline that is not STOPPED).
	ErrInvalidState = errors.New("operation not allowed in the current state")
	// ErrInvalidInput: the request is well formed but its values are not acceptable.
	ErrInvalidInput = errors.New("invalid input")
)

// MSK is one Region's Amazon MSK control plane as the engine uses it. The lab's Kafka twins
// implement it; [InMemoryMSK] is the default.
type MSK interface {
	Clusters(ctx context.Context) ([]Cluster, error)
	Replicators(ctx context.Context) ([]Replicator, error)
	// UpdateReplicationInfo applies an update if in.CurrentVersion is the replicator's current
	// version (else ErrVersionMismatch) and returns the replicator as it is afterwards, which
	// MSK reports as UPDATING until the change is applied.
	UpdateReplicationInfo(ctx context.Context, in ReplicationInfoUpdate) (Replicator, error)
}

// Cluster mirrors the parts of kafka types.Cluster the engine reads.
type Cluster struct {
	ARN            string
	Name           string
	Type           string // PROVISIONED or SERVERLESS; "" means PROVISIONED
	State          string // ACTIVE, CREATING, UPDATING, ...
	CurrentVersion string
	CreationTime   time.Time
	KafkaVersion   string
	BrokerNodes    int
	Tags           map[string]string
	// InstanceType, ClientSubnets and SecurityGroups are the broker node group's; MSK always
	// reports the first two for a provisioned cluster. "" means kafka.m5.large.
	InstanceType   string
	ClientSubnets  []string
	SecurityGroups []string
}

// Replicator mirrors kafka DescribeReplicator's output.
type Replicator struct {
	ARN                     string
	Name                    string
	Description             string
	CurrentVersion          string
	State                   string // RUNNING, CREATING, UPDATING, DELETING, FAILED
	StateInfoCode           string
	StateInfoMessage        string
	CreationTime            time.Time
	ServiceExecutionRoleARN string
	KafkaClusters           []ReplicatorCluster
	ReplicationInfo         []ReplicationInfo
	Tags                    map[string]string
}

// ReplicatorCluster is one of a replicator's two clusters.
type ReplicatorCluster struct {
	Alias            string
	MSKClusterARN    string
	SubnetIDs        []string
	SecurityGroupIDs []string
}

// ReplicationInfo is one source→target flow of a replicator.
type ReplicationInfo struct {
	SourceAlias              string
	TargetAlias              string
	TargetCompressionType    string
	TopicReplication         TopicReplication
	ConsumerGroupReplication ConsumerGroupReplication
}

// TopicReplication mirrors kafka types.TopicReplication.
type TopicReplication struct {
	TopicsToReplicate               []string
	TopicsToExclude                 []string
	CopyAccessControlListsForTopics bool
	CopyTopicConfigurations         bool
	DetectAndCopyNewTopics          bool
	StartingPosition                string // LATEST or EARLIEST; immutable after creation
	TopicNameConfiguration          string // IDENTICAL or PREFIXED_WITH_SOURCE_CLUSTER_ALIAS; immutable
}

// ConsumerGroupReplication mirrors kafka types.ConsumerGroupReplication.
type ConsumerGroupReplication struct {
	ConsumerGroupsToReplicate       []string
	ConsumerGroupsToExclude         []string
	DetectAndCopyNewConsumerGroups  bool
	SynchroniseConsumerGroupOffsets bool
	ConsumerGroupOffsetSyncMode     string // LEGACY or ENHANCED; "" when unset
}

// ReplicationInfoUpdate mirrors kafka UpdateReplicationInfoInput. Source and target name the
// flow to change by cluster ARN; MSK does not allow changing them, only what flows.
type ReplicationInfoUpdate struct {
	ReplicatorARN            string
	CurrentVersion           string
	SourceKafkaClusterARN    string
	TargetKafkaClusterARN    string
	TopicReplication         *TopicReplicationUpdate
	ConsumerGroupReplication *ConsumerGroupReplicationUpdate
}

// TopicReplicationUpdate mirrors kafka types.TopicReplicationUpdate (every field required).
type TopicReplicationUpdate struct {
	TopicsToReplicate               []string
	TopicsToExclude                 []string
	CopyAccessControlListsForTopics bool
	CopyTopicConfigurations         bool
	DetectAndCopyNewTopics          bool
}

// ConsumerGroupReplicationUpdate mirrors kafka types.ConsumerGroupReplicationUpdate.
type ConsumerGroupReplicationUpdate struct {
	ConsumerGroupsToReplicate       []string
	ConsumerGroupsToExclude         []string
	DetectAndCopyNewConsumerGroups  bool
	SynchroniseConsumerGroupOffsets bool
}

// OSIS is one Region's OpenSearch Ingestion control plane.
type OSIS interface {
	Pipelines(ctx context.Context) ([]Pipeline, error)
	// StartPipeline and StopPipeline return the pipeline as it is right after the request
	// (STARTING / STOPPING); ErrInvalidState when the pipeline is not STOPPED / ACTIVE.
	StartPipeline(ctx context.Context, name string) (Pipeline, error)
	StopPipeline(ctx context.Context, name string) (Pipeline, error)
}

// Pipeline mirrors osis types.Pipeline.
type Pipeline struct {
	Name               string
	ARN                string
	Status             string // ACTIVE, STARTING, STOPPING, STOPPED, ...
	StatusReason       string
	MinUnits, MaxUnits int
	CreatedAt          time.Time
	LastUpdatedAt      time.Time
	ConfigurationBody  string
	IngestEndpointURLs []string
	Destinations       []PipelineDestination
	Tags               map[string]string
	// PersistentBufferEnabled is BufferOptions.PersistentBufferEnabled; LogPublishing is
	// LogPublishingOptions (nil: none configured); KMSKeyARN is EncryptionAtRestOptions.KmsKeyArn.
	// The twin's UpdatePipeline overrides them (osis_settings.go).
	PersistentBufferEnabled bool
	LogPublishing           *PipelineLogPublishing
	KMSKeyARN               string
}

// PipelineDestination mirrors osis types.PipelineDestination.
type PipelineDestination struct {
	ServiceName string // e.g. "OpenSearch_Serverless"
	Endpoint    string
}

// AOSS is one Region's OpenSearch Serverless control plane, reduced to collection reads.
type AOSS interface {
	Collections(ctx context.Context) ([]Collection, error)
}

// Collection mirrors opensearchserverless types.CollectionDetail.
type Collection struct {
	ID                 string
	Name               string
	ARN                string
	Status             string // ACTIVE, CREATING, ...
	Type               string // SEARCH, TIMESERIES, VECTORSEARCH
	Description        string
	CollectionEndpoint string
	DashboardEndpoint  string
	StandbyReplicas    string // ENABLED or DISABLED
	KMSKeyARN          string
	CreatedDate        time.Time
	LastModifiedDate   time.Time
}

// ---- in-memory MSK ----

// InMemoryMSKOptions configures an [InMemoryMSK].
type InMemoryMSKOptions struct {
	// UpdateDelay is how long a replicator stays UPDATING after UpdateReplicationInfo; 0 means
	// it is RUNNING again on the next read.
	UpdateDelay time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// InMemoryMSK is a map-backed [MSK] for tests and for lab setups without Kafka twins. Its
// replicators model MSK's update cycle: a new CurrentVersion at once, UPDATING for
// UpdateDelay, then RUNNING.
type InMemoryMSK struct {
	opts InMemoryMSKOptions
	mu   sync.Mutex
	cl   []Cluster
	reps []*memReplicator
}

type memReplicator struct {
	r         Replicator
	version   int
	updatedAt time.Time
	updating  bool
}

// NewInMemoryMSK returns an empty InMemoryMSK.
func NewInMemoryMSK(opts InMemoryMSKOptions) *InMemoryMSK {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &InMemoryMSK{opts: opts}
}

// PutCluster adds or replaces a cluster by ARN.
func (m *InMemoryMSK) PutCluster(c Cluster) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.cl {
		if m.cl[i].ARN == c.ARN {
			m.cl[i] = c
			return
		}
	}
	m.cl = append(m.cl, c)
}

// PutReplicator adds or replaces a replicator by ARN. An empty CurrentVersion or State gets
// MSK-like defaults.
func (m *InMemoryMSK) PutReplicator(r Replicator) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mr := &memReplicator{r: r, version: 1}
	if r.CurrentVersion == "" {
		mr.r.CurrentVersion = versionString(1)
	}
	if r.State == "" {
		mr.r.State = "RUNNING"
	}
	for i := range m.reps {
		if m.reps[i].r.ARN == r.ARN {
			m.reps[i] = mr
			return
		}
	}
	m.reps = append(m.reps, mr)
}

// versionString imitates MSK's opaque version strings (e.g. "K3AEGXETSR30VB").
func versionString(n int) string {
	return fmt.Sprintf("K%013s", strconv.FormatInt(int64(n)*7919+1000003, 36))
}

// Clusters implements [MSK].
func (m *InMemoryMSK) Clusters(context.Context) ([]Cluster, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.cl), nil
}

// Replicators implements [MSK].
func (m *InMemoryMSK) Replicators(context.Context) ([]Replicator, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Replicator, 0, len(m.reps))
	for _, r := range m.reps {
		m.settle(r)
		out = append(out, r.r)
	}
	return out, nil
}

func (m *InMemoryMSK) settle(r *memReplicator) {
	if r.updating && !m.opts.Now().Before(r.updatedAt.Add(m.opts.UpdateDelay)) {
		r.updating = false
		r.r.State = "RUNNING"
	}
}

// UpdateReplicationInfo implements [MSK].
func (m *InMemoryMSK) UpdateReplicationInfo(_ context.Context, in ReplicationInfoUpdate) (Replicator, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var r *memReplicator
	for _, e := range m.reps {
		if e.r.ARN == in.ReplicatorARN {
			r = e
		}
	}
	if r == nil {
		return Replicator{}, fmt.Errorf("replicator %s: %w", in.ReplicatorARN, ErrNotFound)
	}
	m.settle(r)
	if in.CurrentVersion != r.r.CurrentVersion {
		return Replicator{}, fmt.Errorf("replicator %s is at version %s, not %s: %w", r.r.Name, r.r.CurrentVersion, in.CurrentVersion, ErrVersionMismatch)
	}
	if r.r.State != "RUNNING" {
		return Replicator{}, fmt.Errorf("replicator %s is %s: %w", r.r.Name, r.r.State, ErrInvalidState)
	}
	if in.TopicReplication == nil && in.ConsumerGroupReplication == nil {
		return Replicator{}, fmt.Errorf("one of topicReplication or consumerGroupReplication is required: %w", ErrInvalidInput)
	}
	idx, err := flowIndex(r.r, in.SourceKafkaClusterARN, in.TargetKafkaClusterARN)
	if err != nil {
		return Replicator{}, err
	}
	// Copy-on-write so replicators returned earlier do not change under their holders.
	infos := slices.Clone(r.r.ReplicationInfo)
	ri := infos[idx]
	if u := in.TopicReplication; u != nil {
		ri.TopicReplication.TopicsToReplicate = slices.Clone(u.TopicsToReplicate)
		ri.TopicReplication.TopicsToExclude = slices.Clone(u.TopicsToExclude)
		ri.TopicReplication.CopyAccessControlListsForTopics = u.CopyAccessControlListsForTopics
		ri.TopicReplication.CopyTopicConfigurations = u.CopyTopicConfigurations
		ri.TopicReplication.DetectAndCopyNewTopics = u.DetectAndCopyNewTopics
	}
	if u := in.ConsumerGroupReplication; u != nil {
		ri.ConsumerGroupReplication.ConsumerGroupsToReplicate = slices.Clone(u.ConsumerGroupsToReplicate)
		ri.ConsumerGroupReplication.ConsumerGroupsToExclude = slices.Clone(u.ConsumerGroupsToExclude)
		ri.ConsumerGroupReplication.DetectAndCopyNewConsumerGroups = u.DetectAndCopyNewConsumerGroups
		ri.ConsumerGroupReplication.SynchroniseConsumerGroupOffsets = u.SynchroniseConsumerGroupOffsets
	}
	infos[idx] = ri
	r.r.ReplicationInfo = infos
	r.version++
	r.r.CurrentVersion = versionString(r.version)
	r.r.State = "UPDATING"
	r.updating = true
	r.updatedAt = m.opts.Now()
	return r.r, nil
}

// flowIndex finds the replication flow between two cluster ARNs; with neither given, a
// replicator's single flow.
func flowIndex(r Replicator, source, target string) (int, error) {
	if source == "" && target == "" {
		if len(r.ReplicationInfo) == 1 {
			return 0, nil
		}
		return 0, fmt.Errorf("replicator %s has %d flows; name source and target clusters: %w", r.Name, len(r.ReplicationInfo), ErrInvalidInput)
	}
	alias := func(arn string) string {
		for _, kc := range r.KafkaClusters {
			if kc.MSKClusterARN == arn {
				return kc.Alias
			}
		}
		return ""
	}
	sa, ta := alias(source), alias(target)
	for i, ri := range r.ReplicationInfo {
		if (source == "" || ri.SourceAlias == sa) && (target == "" || ri.TargetAlias == ta) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("replicator %s has no flow from %q to %q: %w", r.Name, source, target, ErrInvalidInput)
}

// ---- in-memory OSIS ----

// InMemoryOSISOptions configures an [InMemoryOSIS].
type InMemoryOSISOptions struct {
	// TransitionDelay is how long STARTING and STOPPING last; 0 means one read.
	TransitionDelay time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// InMemoryOSIS is a map-backed [OSIS] whose pipelines go STOPPED → STARTING → ACTIVE and
// ACTIVE → STOPPING → STOPPED.
type InMemoryOSIS struct {
	opts InMemoryOSISOptions
	mu   sync.Mutex
	ps   []*memPipeline
}

type memPipeline struct {
	p       Pipeline
	changed time.Time
}

// NewInMemoryOSIS returns an empty InMemoryOSIS.
func NewInMemoryOSIS(opts InMemoryOSISOptions) *InMemoryOSIS {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &InMemoryOSIS{opts: opts}
}

// PutPipeline adds or replaces a pipeline by name; an empty Status means ACTIVE.
func (o *InMemoryOSIS) PutPipeline(p Pipeline) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if p.Status == "" {
		p.Status = "ACTIVE"
	}
	for _, e := range o.ps {
		if e.p.Name == p.Name {
			e.p = p
			return
		}
	}
	o.ps = append(o.ps, &memPipeline{p: p})
}

func (o *InMemoryOSIS) settle(mp *memPipeline) {
	if o.opts.Now().Before(mp.changed.Add(o.opts.TransitionDelay)) {
		return
	}
	switch mp.p.Status {
	case "STARTING":
		mp.p.Status = "ACTIVE"
	case "STOPPING":
		mp.p.Status = "STOPPED"
	}
}

// Pipelines implements [OSIS].
func (o *InMemoryOSIS) Pipelines(context.Context) ([]Pipeline, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]Pipeline, 0, len(o.ps))
	for _, mp := range o.ps {
		o.settle(mp)
		out = append(out, mp.p)
	}
	return out, nil
}

// StartPipeline implements [OSIS].
func (o *InMemoryOSIS) StartPipeline(_ context.Context, name string) (Pipeline, error) {
	return o.transition(name, "STOPPED", "STARTING")
}

// StopPipeline implements [OSIS].
func (o *InMemoryOSIS) StopPipeline(_ context.Context, name string) (Pipeline, error) {
	return o.transition(name, "ACTIVE", "STOPPING")
}

func (o *InMemoryOSIS) transition(name, from, to string) (Pipeline, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, mp := range o.ps {
		if mp.p.Name != name {
			continue
		}
		o.settle(mp)
		if mp.p.Status != from {
			return Pipeline{}, fmt.Errorf("pipeline %s is %s, not %s: %w", name, mp.p.Status, from, ErrInvalidState)
		}
		mp.p.Status = to
		mp.changed = o.opts.Now()
		mp.p.LastUpdatedAt = mp.changed
		out := mp.p
		return out, nil
	}
	return Pipeline{}, fmt.Errorf("pipeline %s: %w", name, ErrNotFound)
}

// ---- in-memory AOSS ----

// InMemoryAOSS is a slice-backed [AOSS].
type InMemoryAOSS struct {
	mu sync.Mutex
	cs []Collection
}

// NewInMemoryAOSS returns an empty InMemoryAOSS.
func NewInMemoryAOSS() *InMemoryAOSS { return &InMemoryAOSS{} }

// PutCollection adds or replaces a collection by ID.
func (a *InMemoryAOSS) PutCollection(c Collection) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range a.cs {
		if a.cs[i].ID == c.ID {
			a.cs[i] = c
			return
		}
	}
	a.cs = append(a.cs, c)
}

// Collections implements [AOSS].
func (a *InMemoryAOSS) Collections(context.Context) ([]Collection, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.cs), nil
}
