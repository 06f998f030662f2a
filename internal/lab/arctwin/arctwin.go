// Package arctwin is the lab's twin of an Amazon Application Recovery Controller (ARC) cluster:
// the data plane that holds routing control states.
//
// A DR runbook that moves traffic with ARC routing controls must keep working while one Region
// (us-east-1 included) is impaired, because that is when it runs. ARC gives that property by
// serving every cluster on five Regional endpoints, any of which can read or change the state
// (https://docs.aws.amazon.com/r53recovery/latest/dg/introduction-components-routing.html,
// "a cluster is a set of five redundant Regional endpoints"), and by refusing updates that would
// break the operator's safety rules. The twin reproduces both, wire-compatible with the AWS SDK
// for Go's route53recoverycluster client, so a test can impair endpoints one by one and watch
// the client library (internal/arc) find one that answers, or watch a safety rule refuse a
// change exactly as ARC would.
//
// What it serves, per endpoint: awsJson1_0 on POST /, X-Amz-Target ToggleCustomerAPI.<Op> for
// GetRoutingControlState, ListRoutingControls, UpdateRoutingControlState and
// UpdateRoutingControlStates, SigV4-verified with the secrets of the keys it knows, signed for
// the service "route53-recovery-cluster" and the endpoint's own Region. All endpoints share one
// state, as a real cluster's do.
package arctwin

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultRegions are the Regions of the twin's five endpoints when Options.Regions is empty.
// A real cluster's endpoints are in five Regions AWS picks
// (https://docs.aws.amazon.com/r53recovery/latest/dg/introduction-regions-routing.html).
var DefaultRegions = []string{"us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1", "ap-southeast-2"}

// SigningService is the SigV4 service name ARC's cluster endpoints check (the SDK's
// route53recoverycluster client signs as "route53-recovery-cluster").
const SigningService = "route53-recovery-cluster"

// DefaultName is the cluster's name when Options.Name is empty.
const DefaultName = "switchyard"

// Impairment is how an endpoint fails when its Region is impaired.
type Impairment int

const (
	// Healthy endpoints answer.
	Healthy Impairment = iota
	// Refuse closes the endpoint's listener: new connections are refused and requests on
	// connections already open are dropped without an answer.
	Refuse
	// Blackhole accepts connections and never answers, until the client gives up (its
	// deadline) or the twin closes: what a client sees of a Region that is unreachable.
	Blackhole
	// Throttle answers every call with ThrottlingException (HTTP 429).
	Throttle
	// Unavailable answers every call with EndpointTemporarilyUnavailableException (HTTP 503),
	// ARC's "The cluster endpoint isn't available. Try another cluster endpoint."
	Unavailable
)

// Options configure a Cluster.
type Options struct {
	// Regions are the Regions of the cluster's endpoints, one endpoint each; empty means
	// DefaultRegions.
	Regions []string
	// Account is the AWS account id in the ARNs the twin makes; empty means "000000000000",
	// the lab's account.
	Account string
	// Credentials returns the secret access key of an access key id the endpoints accept. nil
	// accepts only the lab's own key pair (SWITCHYARDLAB / switchyard-lab, internal/lab's
	// AccessKeyID and SecretAccessKey, repeated here because the lab imports this package).
	Credentials func(accessKeyID string) (secret string, ok bool)
	// Name is the cluster's name; empty means DefaultName.
	Name string
	// ControlPlaneRegion is where the recovery-control-config API (DescribeCluster) answers;
	// empty means us-west-2, where AWS runs it ("the control plane API ... is hosted in US West
	// (Oregon)": https://docs.aws.amazon.com/r53recovery/latest/dg/introduction-regions-routing.html).
	// Impairing this Region takes it down with the Region's cluster endpoint.
	ControlPlaneRegion string
	// Addrs are the host:port each Region's endpoint listens on (a lab on fixed ports, whose
	// environment file names them); a Region left out gets a free loopback port.
	Addrs map[string]string
	// ControlPlaneAddr is where the recovery-control-config API listens; empty: a free port.
	ControlPlaneAddr string
	// ImpairWith is what Impair(region, true) does; zero means Refuse.
	ImpairWith Impairment
	// Now is the twin's clock (signature expiry, safety rule wait periods); nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Cluster is a running ARC cluster twin. It is safe for concurrent use.
type Cluster struct {
	opts      Options
	account   string
	endpoints map[string]*endpoint // by Region
	control   *endpoint            // the recovery-control-config API
	arn       string               // the cluster's ARN
	closed    chan struct{}
	closeOnce sync.Once

	mu         sync.Mutex
	panels     map[string]*controlPanel // by ARN
	controls   map[string]*routingControl
	order      []string // control ARNs in creation order
	rules      []*safetyRule
	lastChange map[string]time.Time // control ARN → when its state last changed
	updates    []Update

	// updateLatency delays update calls (SetUpdateLatency), in nanoseconds.
	updateLatency atomic.Int64
	// heldUpdates counts the update calls waiting out the latency now (HeldUpdates).
	heldUpdates atomic.Int64
}

// endpoint is one Regional endpoint: its own listener, so it can be refused on its own.
type endpoint struct {
	region string
	addr   string
	srv    *http.Server

	mu       sync.Mutex
	ln       net.Listener // nil while refused
	impaired Impairment
	requests int
}

// ErrNoEndpoint is returned for a Region in which the cluster has no endpoint.
var ErrNoEndpoint = errors.New("the ARC cluster has no endpoint in this Region")

// New starts the cluster's endpoints on loopback ports.
func New(opts Options) (*Cluster, error) {
	if len(opts.Regions) == 0 {
		opts.Regions = DefaultRegions
	}
	if opts.Account == "" {
		opts.Account = "000000000000"
	}
	if opts.Credentials == nil {
		opts.Credentials = func(id string) (string, bool) {
			if id == "SWITCHYARDLAB" {
				return "switchyard-lab", true
			}
			return "", false
		}
	}
	if opts.Name == "" {
		opts.Name = DefaultName
	}
	if opts.ControlPlaneRegion == "" {
		opts.ControlPlaneRegion = "us-west-2"
	}
	if opts.ImpairWith == Healthy {
		opts.ImpairWith = Refuse
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Cluster{
		opts: opts, account: opts.Account, endpoints: map[string]*endpoint{}, closed: make(chan struct{}),
		panels: map[string]*controlPanel{}, controls: map[string]*routingControl{}, lastChange: map[string]time.Time{},
	}
	c.arn = ClusterARN(c.account, opts.Name)
	for _, region := range opts.Regions {
		if _, dup := c.endpoints[region]; dup {
			c.Close()
			return nil, fmt.Errorf("arctwin: Region %s is listed twice", region)
		}
		ep, err := c.listen(region, opts.Addrs[region], c.handler)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.endpoints[region] = ep
	}
	ep, err := c.listen(opts.ControlPlaneRegion, opts.ControlPlaneAddr, c.controlHandler)
	if err != nil {
		c.Close()
		return nil, err
	}
	c.control = ep
	return c, nil
}

// listen starts one endpoint on addr, or a free loopback port when addr is empty.
func (c *Cluster) listen(region, addr string, handler func(*endpoint) http.Handler) (*endpoint, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("arctwin: listen for %s: %w", region, err)
	}
	ep := &endpoint{region: region, addr: ln.Addr().String(), ln: ln}
	ep.srv = &http.Server{Handler: handler(ep), ReadHeaderTimeout: 10 * time.Second}
	go ep.serve(ln)
	return ep, nil
}

func (ep *endpoint) serve(ln net.Listener) {
	// Serve returns when the listener closes (impairment or Close); nothing to report.
	_ = ep.srv.Serve(ln)
}

// Endpoints returns each Region's endpoint URL, what DescribeCluster's ClusterEndpoints list.
func (c *Cluster) Endpoints() map[string]string {
	out := make(map[string]string, len(c.endpoints))
	for r, ep := range c.endpoints {
		out[r] = "http://" + ep.addr
	}
	return out
}

// Impair makes region's endpoint fail as Options.ImpairWith says (true) or answer again
// (false).
func (c *Cluster) Impair(region string, impaired bool) error {
	m := Healthy
	if impaired {
		m = c.opts.ImpairWith
	}
	return c.SetImpairment(region, m)
}

// SetImpairment sets how region's endpoints fail: its cluster endpoint, and the
// recovery-control-config API when region is ControlPlaneRegion.
func (c *Cluster) SetImpairment(region string, m Impairment) error {
	var eps []*endpoint
	if ep, ok := c.endpoints[region]; ok {
		eps = append(eps, ep)
	}
	if c.control != nil && c.control.region == region {
		eps = append(eps, c.control)
	}
	if len(eps) == 0 {
		return fmt.Errorf("arctwin: impair %s: %w", region, ErrNoEndpoint)
	}
	for _, ep := range eps {
		if err := ep.set(m, c.closed); err != nil {
			return err
		}
	}
	return nil
}

func (ep *endpoint) set(m Impairment, closed <-chan struct{}) error {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.impaired = m
	switch {
	case m == Refuse && ep.ln != nil:
		_ = ep.ln.Close() // refusing connections is the point; a close error changes nothing
		ep.ln = nil
	case m != Refuse && ep.ln == nil:
		select {
		case <-closed:
			return nil
		default:
		}
		ln, err := net.Listen("tcp", ep.addr)
		if err != nil {
			return fmt.Errorf("arctwin: restore %s on %s: %w", ep.region, ep.addr, err)
		}
		ep.ln = ln
		go ep.serve(ln)
	}
	return nil
}

// Requests returns how many requests reached the twin's endpoints in region (the cluster
// endpoint, and the control plane when it is there), answered or not; endpoints that refuse
// connections see none.
func (c *Cluster) Requests(region string) int {
	n := 0
	for _, ep := range []*endpoint{c.endpoints[region], c.control} {
		if ep != nil && ep.region == region {
			ep.mu.Lock()
			n += ep.requests
			ep.mu.Unlock()
		}
	}
	return n
}

// ClusterARN is the cluster's ARN, arn:aws:route53-recovery-control::ACCOUNT:cluster/ID, what
// DescribeCluster takes.
func (c *Cluster) ClusterARN() string { return c.arn }

// ControlPlaneURL is where the recovery-control-config API (DescribeCluster) answers.
func (c *Cluster) ControlPlaneURL() string { return "http://" + c.control.addr }

// ControlPlaneEndpoint is the URL of the recovery-control-config API and the Region it is in.
func (c *Cluster) ControlPlaneEndpoint() (region, url string) {
	return c.control.region, "http://" + c.control.addr
}

// Close stops every endpoint.
func (c *Cluster) Close() {
	c.closeOnce.Do(func() { close(c.closed) })
	eps := make([]*endpoint, 0, len(c.endpoints)+1)
	for _, ep := range c.endpoints {
		eps = append(eps, ep)
	}
	if c.control != nil {
		eps = append(eps, c.control)
	}
	for _, ep := range eps {
		ep.mu.Lock()
		ep.ln = nil
		ep.mu.Unlock()
		_ = ep.srv.Close() // closes listeners and connections; the twin is going away
	}
}

func (ep *endpoint) impairment() Impairment {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.requests++
	return ep.impaired
}
