package kafkatwin

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// DefaultTopic is the topic the blog's producers write to and the OSI pipelines read.
const DefaultTopic = "opensearch-data"

// DefaultAccountID is the account the lab's ARNs name; it is AWS's documentation example account.
const DefaultAccountID = "123456789012"

// ClusterOptions configures a [Cluster].
type ClusterOptions struct {
	// Required fields.

	// Region is the AWS Region the cluster stands in for, e.g. "us-east-1".
	Region string
	// Name is the MSK cluster name, e.g. "lab-msk-primary"; it is also the kfake cluster ID.
	Name string

	// Optional fields.

	// NumBrokers is the number of brokers; 0 means 1, or len(Ports) when Ports is set.
	NumBrokers int
	// Ports are the brokers' listening ports on 127.0.0.1, one per broker; nil means free
	// ports chosen by the system. The lab pins them so an environment file can name them.
	Ports []int
	// Partitions is the partition count of the seeded topics and of auto-created ones; 0 means 3.
	Partitions int32
	// Topics are created at start; nil means [DefaultTopic].
	Topics []string
	// AccountID appears in the cluster ARN; "" means [DefaultAccountID].
	AccountID string
	// Logger receives reachability changes; nil means slog.Default().
	Logger *slog.Logger
}

// Cluster is one Region's Kafka cluster: a kfake cluster reachable over TCP on 127.0.0.1, plus
// an impairment switch that can take its listeners away.
type Cluster struct {
	opts ClusterOptions
	arn  string
	log  *slog.Logger
	kc   *kfake.Cluster

	mu        sync.Mutex
	listeners []*gateListener
	reachable bool
}

// NewCluster starts a cluster. Auto topic creation is on, as in the sample's MSK configuration
// (auto.create.topics.enable=true), so a producer to a new topic gets Partitions partitions.
func NewCluster(opts ClusterOptions) (*Cluster, error) {
	if opts.Region == "" || opts.Name == "" {
		return nil, errors.New("kafkatwin: cluster Region and Name are required")
	}
	if len(opts.Ports) > 0 {
		opts.NumBrokers = len(opts.Ports)
	}
	if opts.NumBrokers <= 0 {
		opts.NumBrokers = 1
	}
	if opts.Partitions <= 0 {
		opts.Partitions = 3
	}
	if opts.Topics == nil {
		opts.Topics = []string{DefaultTopic}
	}
	if opts.AccountID == "" {
		opts.AccountID = DefaultAccountID
	}
	c := &Cluster{
		opts:      opts,
		arn:       fmt.Sprintf("arn:aws:kafka:%s:%s:cluster/%s/%s", opts.Region, opts.AccountID, opts.Name, randomUUID()),
		log:       orDefaultLogger(opts.Logger).With("cluster", opts.Name, "region", opts.Region),
		reachable: true,
	}
	kfOpts := []kfake.Opt{
		kfake.NumBrokers(opts.NumBrokers),
		kfake.ClusterID(opts.Name),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(int(opts.Partitions)),
		// Every broker listener goes through a gate so SetReachable can close and reopen the
		// socket on the same port; kfake itself cannot restart a listener it has lost.
		kfake.ListenFn(c.listen),
	}
	if len(opts.Topics) > 0 {
		kfOpts = append(kfOpts, kfake.SeedTopics(opts.Partitions, opts.Topics...))
	}
	if len(opts.Ports) > 0 {
		kfOpts = append(kfOpts, kfake.Ports(opts.Ports...))
	}
	kc, err := kfake.NewCluster(kfOpts...)
	if err != nil {
		c.closeListeners()
		return nil, fmt.Errorf("start kafka cluster %s in %s: %w", opts.Name, opts.Region, err)
	}
	c.kc = kc
	return c, nil
}

// listen is kfake's ListenFn: it opens the real socket and hands kfake a gate in front of it.
func (c *Cluster) listen(network, address string) (net.Listener, error) {
	g, err := newGateListener(network, address)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.reachable {
		g.setDown()
	}
	c.listeners = append(c.listeners, g)
	return g, nil
}

// Name returns the MSK cluster name.
func (c *Cluster) Name() string { return c.opts.Name }

// Region returns the Region the cluster stands in for.
func (c *Cluster) Region() string { return c.opts.Region }

// ARN returns an MSK-shaped cluster ARN, unique per Cluster value.
func (c *Cluster) ARN() string { return c.arn }

// Partitions returns the partition count topics are created with.
func (c *Cluster) Partitions() int32 { return c.opts.Partitions }

// Bootstrap returns the brokers' host:port addresses. They stay the same across SetReachable
// cycles, so clients configured once keep working after the impairment ends.
func (c *Cluster) Bootstrap() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.listeners))
	for _, g := range c.listeners {
		out = append(out, g.addr)
	}
	return out
}

// Fake exposes the underlying kfake cluster for finer fault injection than reachability: kfake
// offers Control/ControlKey (intercept any request type, answer it, drop the connection or delay
// it with SleepControl), Fault (answer matching requests with a chosen Kafka error code) and
// RemoveNode/AddNode/MoveTopicPartition (broker loss and leader moves).
func (c *Cluster) Fake() *kfake.Cluster { return c.kc }

// Reachable reports whether clients can currently connect.
func (c *Cluster) Reachable() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reachable
}

// SetReachable impairs (false) or restores (true) the cluster. Impairing closes every broker's
// listening socket — new connections are refused — and closes the connections already open, so
// in-flight and future requests fail as they would behind a revoked security group. The data
// and committed offsets stay in the brokers: a restore behaves like the network coming back, not
// like a new cluster. Restoring reopens each socket on its original port.
func (c *Cluster) SetReachable(reachable bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reachable == reachable {
		return nil
	}
	var errs []error
	for _, g := range c.listeners {
		if reachable {
			if err := g.setUp(); err != nil {
				errs = append(errs, err)
			}
		} else {
			g.setDown()
		}
	}
	if err := errors.Join(errs...); err != nil {
		// Leave the cluster consistently down rather than half reachable.
		for _, g := range c.listeners {
			g.setDown()
		}
		return fmt.Errorf("restore cluster %s: %w", c.opts.Name, err)
	}
	c.reachable = reachable
	c.log.Info("kafka cluster reachability changed", "reachable", reachable)
	return nil
}

// Close shuts the cluster down; its data is gone afterwards.
func (c *Cluster) Close() {
	if c.kc != nil {
		c.kc.Close()
	}
	c.closeListeners()
}

func (c *Cluster) closeListeners() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, g := range c.listeners {
		_ = g.Close()
	}
}

// gateListener is the net.Listener kfake accepts from. Behind it, the real socket can be closed
// and reopened on the same address while kfake's accept loop keeps waiting on the gate.
type gateListener struct {
	network string
	addr    string
	tcpAddr net.Addr

	acceptCh chan net.Conn
	closed   chan struct{}

	mu        sync.Mutex
	ln        net.Listener // nil while down
	conns     map[net.Conn]struct{}
	isClosed  bool
	closeOnce sync.Once
}

func newGateListener(network, address string) (*gateListener, error) {
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", address, err)
	}
	g := &gateListener{
		network:  network,
		addr:     ln.Addr().String(),
		tcpAddr:  ln.Addr(),
		acceptCh: make(chan net.Conn),
		closed:   make(chan struct{}),
		ln:       ln,
		conns:    make(map[net.Conn]struct{}),
	}
	go g.acceptLoop(ln)
	return g, nil
}

func (g *gateListener) acceptLoop(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		g.mu.Lock()
		if g.isClosed || g.ln != ln {
			g.mu.Unlock()
			_ = conn.Close()
			continue
		}
		tc := &trackedConn{Conn: conn, g: g}
		g.conns[tc] = struct{}{}
		g.mu.Unlock()
		select {
		case g.acceptCh <- tc:
		case <-g.closed:
			_ = tc.Close()
			return
		}
	}
}

func (g *gateListener) setDown() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ln != nil {
		_ = g.ln.Close()
		g.ln = nil
	}
	for c := range g.conns {
		_ = c.(*trackedConn).Conn.Close()
		delete(g.conns, c)
	}
}

func (g *gateListener) setUp() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.isClosed {
		return net.ErrClosed
	}
	if g.ln != nil {
		return nil
	}
	// The port was ours a moment ago; a rebind can still race a lingering socket, so retry
	// briefly before giving up.
	var (
		ln  net.Listener
		err error
	)
	for range 50 {
		if ln, err = net.Listen(g.network, g.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("reopen listener on %s: %w", g.addr, err)
	}
	g.ln = ln
	go g.acceptLoop(ln)
	return nil
}

// Accept implements net.Listener.
func (g *gateListener) Accept() (net.Conn, error) {
	select {
	case c := <-g.acceptCh:
		return c, nil
	case <-g.closed:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener.
func (g *gateListener) Close() error {
	g.closeOnce.Do(func() {
		g.mu.Lock()
		g.isClosed = true
		g.mu.Unlock()
		close(g.closed)
		g.setDown()
	})
	return nil
}

// Addr implements net.Listener.
func (g *gateListener) Addr() net.Addr { return g.tcpAddr }

type trackedConn struct {
	net.Conn
	g *gateListener
}

func (c *trackedConn) Close() error {
	c.g.mu.Lock()
	delete(c.g.conns, c)
	c.g.mu.Unlock()
	return c.Conn.Close()
}

func orDefaultLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}

// randomUUID returns a version 4 UUID string; the lab uses it where AWS mints one (ARN suffixes,
// DLQ object keys).
func randomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
