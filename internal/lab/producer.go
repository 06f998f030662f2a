package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Resolver answers DNS queries for the producers' ingest record: the lab's Route 53 data plane
// ([Route53Router]). A traffic shift changes the weights, and so really moves the writes — once
// the answers the producers hold have expired.
type Resolver interface {
	Resolve(ctx context.Context) (Answer, error)
}

// ProducerOptions configures a Producer.
type ProducerOptions struct {
	// Bootstrap maps each Region to its Kafka bootstrap addresses (required).
	Bootstrap map[string][]string
	Topic     string
	// Resolver answers for the weighted ingest record; nil sends every write to the first Region.
	Resolver Resolver
	// Rate is events per second across all Regions; 0 means 20.
	Rate float64
	// Clients is how many application instances the producer plays, each with its own DNS
	// cache; events go to them in turn. 0 means 8.
	Clients int
	// TestID tags the events, as the seed's producer does.
	TestID string
	// WithEventIDs adds a unique event_id to every event.
	WithEventIDs bool
	// Now is the clock DNS answers expire by; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Producer writes events at a steady rate to the Region its DNS answers name. Like the
// application instances it stands for, each of its clients resolves the weighted record and
// keeps the answer for the record's TTL, so after Route 53 reports a change INSYNC writes still
// reach the old Region for up to a TTL — which the runbooks' write checks must allow for. It
// records what each Region acknowledged: the ground truth that tests and the demo compare the
// collections against.
type Producer struct {
	opts    ProducerOptions
	clients map[string]*kgo.Client
	regions []string // sorted
	seq     atomic.Uint64
	// caches are the clients' DNS caches; only the producing goroutine touches them.
	caches []dnsCache

	mu      sync.Mutex
	weights map[string]int64
	routing map[string]int
	acked   map[string]int64
	failed  map[string]int64
	lastErr map[string]string

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	started   atomic.Bool
}

// dnsCache is one client's cached answer.
type dnsCache struct {
	region  string
	expires time.Time
}

// NewProducer connects one Kafka client per Region.
func NewProducer(opts ProducerOptions) (*Producer, error) {
	if opts.Rate <= 0 {
		opts.Rate = 20
	}
	if opts.Clients <= 0 {
		opts.Clients = 8
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.TestID == "" {
		opts.TestID = "lab"
	}
	p := &Producer{opts: opts, clients: map[string]*kgo.Client{}, acked: map[string]int64{}, failed: map[string]int64{},
		lastErr: map[string]string{}, routing: map[string]int{}, caches: make([]dnsCache, opts.Clients),
		stop: make(chan struct{}), done: make(chan struct{})}
	for region := range opts.Bootstrap {
		p.regions = append(p.regions, region)
	}
	sort.Strings(p.regions)
	for region, seeds := range opts.Bootstrap {
		c, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(opts.Topic),
			kgo.RecordDeliveryTimeout(5*time.Second), kgo.ProducerLinger(5*time.Millisecond))
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("kafka client for %s: %w", region, err)
		}
		p.clients[region] = c
	}
	return p, nil
}

// Start begins producing until Close.
func (p *Producer) Start(ctx context.Context) {
	p.started.Store(true)
	go p.loop(ctx)
}

func (p *Producer) loop(ctx context.Context) {
	defer close(p.done)
	interval := time.Duration(float64(time.Second) / p.opts.Rate)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.stop:
			return
		case <-tick.C:
			p.produceOne(ctx)
		}
	}
}

// route picks the Region of the n-th event: the answer its client holds, resolved again once the
// record's TTL has passed. A failed lookup keeps the last answer, as a client whose resolver
// cannot be reached keeps using the address it has; a client with no answer yet writes to the
// first Region, as a static configuration would.
func (p *Producer) route(ctx context.Context, n uint64) string {
	if len(p.regions) == 0 {
		return ""
	}
	c := &p.caches[n%uint64(len(p.caches))]
	now := p.opts.Now()
	if p.opts.Resolver != nil && (c.region == "" || !now.Before(c.expires)) {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		a, err := p.opts.Resolver.Resolve(rctx)
		cancel()
		switch {
		case err != nil:
			p.opts.Logger.Debug("producer: DNS answer unavailable", "err", err)
		case p.clients[a.Region] == nil:
			p.opts.Logger.Debug("producer: DNS answer names no Region the producer writes to", "region", a.Region)
		default:
			p.mu.Lock()
			if c.region != "" {
				p.routing[c.region]--
			}
			p.routing[a.Region]++
			p.weights = a.Weights
			p.mu.Unlock()
			c.region, c.expires = a.Region, now.Add(a.TTL)
		}
	}
	if c.region == "" {
		return p.regions[0]
	}
	return c.region
}

func (p *Producer) produceOne(ctx context.Context) {
	n := p.seq.Add(1)
	region := p.route(ctx, n)
	if region == "" {
		return
	}
	ev := NewEvent(n, time.Now(), region, p.opts.TestID, p.opts.WithEventIDs)
	body, _ := json.Marshal(ev)
	p.clients[region].Produce(ctx, &kgo.Record{Value: body}, func(_ *kgo.Record, err error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if err != nil {
			p.failed[region]++
			p.lastErr[region] = err.Error()
			return
		}
		p.acked[region]++
	})
}

// ProducerStats is what the producer sent and what Kafka acknowledged, per Region.
type ProducerStats struct {
	// Weights are the record group's weights in the latest DNS answer.
	Weights map[string]int64 `json:"weights"`
	// Routing is how many of the producer's clients hold an answer for each Region now.
	Routing map[string]int    `json:"routing"`
	Acked   map[string]int64  `json:"acked"`
	Failed  map[string]int64  `json:"failed"`
	LastErr map[string]string `json:"last_error,omitempty"`
}

// Stats returns a snapshot.
func (p *Producer) Stats() ProducerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	cp := func(m map[string]int64) map[string]int64 {
		out := make(map[string]int64, len(m))
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	errs := make(map[string]string, len(p.lastErr))
	for k, v := range p.lastErr {
		errs[k] = v
	}
	routing := make(map[string]int, len(p.routing))
	for k, v := range p.routing {
		if v > 0 {
			routing[k] = v
		}
	}
	return ProducerStats{Weights: cp(p.weights), Routing: routing, Acked: cp(p.acked), Failed: cp(p.failed), LastErr: errs}
}

// Close stops producing and flushes what is in flight; Stats stay readable. It is safe to call
// more than once.
func (p *Producer) Close() {
	p.closeOnce.Do(func() {
		close(p.stop)
		if p.started.Load() {
			<-p.done
		}
		for _, c := range p.clients {
			fctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			_ = c.Flush(fctx)
			cancel()
			c.Close()
		}
	})
}
