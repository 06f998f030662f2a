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

// Router says where producers send writes: the weights of the Route 53 weighted records by Region.
// A traffic shift changes the weights, and so really moves the writes.
type Router interface {
	Weights(ctx context.Context) (map[string]int64, error)
}

// ProducerOptions configures a Producer.
type ProducerOptions struct {
	// Bootstrap maps each Region to its Kafka bootstrap addresses (required).
	Bootstrap map[string][]string
	Topic     string
	Router    Router
	// Rate is events per second across all Regions; 0 means 20.
	Rate float64
	// TestID tags the events, as the seed's producer does.
	TestID string
	// WithEventIDs adds a unique event_id to every event.
	WithEventIDs bool
	// RefreshWeights is how often the weights are re-read; 0 means 500 ms (the lab's DNS TTL).
	RefreshWeights time.Duration
	Logger         *slog.Logger
}

// Producer writes events at a steady rate to the Region the weights choose. It records what each
// Region acknowledged: the ground truth that tests and the demo compare the collections against.
type Producer struct {
	opts    ProducerOptions
	clients map[string]*kgo.Client
	seq     atomic.Uint64

	mu      sync.Mutex
	weights map[string]int64
	acked   map[string]int64
	failed  map[string]int64
	lastErr map[string]string

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	started   atomic.Bool
}

// NewProducer connects one Kafka client per Region.
func NewProducer(opts ProducerOptions) (*Producer, error) {
	if opts.Rate <= 0 {
		opts.Rate = 20
	}
	if opts.RefreshWeights <= 0 {
		opts.RefreshWeights = 500 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.TestID == "" {
		opts.TestID = "lab"
	}
	p := &Producer{opts: opts, clients: map[string]*kgo.Client{}, acked: map[string]int64{}, failed: map[string]int64{},
		lastErr: map[string]string{}, stop: make(chan struct{}), done: make(chan struct{})}
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
	refresh := time.NewTicker(p.opts.RefreshWeights)
	defer refresh.Stop()
	p.refresh(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.stop:
			return
		case <-refresh.C:
			p.refresh(ctx)
		case <-tick.C:
			p.produceOne(ctx)
		}
	}
}

func (p *Producer) refresh(ctx context.Context) {
	if p.opts.Router == nil {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	w, err := p.opts.Router.Weights(rctx)
	if err != nil {
		// Like a real client, keep the last answer when DNS cannot be refreshed.
		p.opts.Logger.Debug("producer: weights unavailable", "err", err)
		return
	}
	p.mu.Lock()
	p.weights = w
	p.mu.Unlock()
}

// pick chooses a Region by weight, deterministically spread by sequence number.
func (p *Producer) pick(n uint64) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	regions := make([]string, 0, len(p.clients))
	for r := range p.clients {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	var total int64
	for _, r := range regions {
		total += p.weights[r]
	}
	if total == 0 {
		if len(p.weights) == 0 && len(regions) > 0 {
			return regions[0] // no routing information yet: the first Region, as a static config would
		}
		return ""
	}
	x := int64(mix(n^0xabcdef) % uint64(total))
	for _, r := range regions {
		x -= p.weights[r]
		if x < 0 {
			return r
		}
	}
	return regions[len(regions)-1]
}

func (p *Producer) produceOne(ctx context.Context) {
	n := p.seq.Add(1)
	region := p.pick(n)
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
	Weights map[string]int64  `json:"weights"`
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
	return ProducerStats{Weights: cp(p.weights), Acked: cp(p.acked), Failed: cp(p.failed), LastErr: errs}
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
