package kafkatwin

import (
	"context"
	"errors"
	"net"
	"sync"
)

// Link is the network path from a replicator to its source cluster in the other Region. Taking
// it down models a partition between the Regions: the replicator's dials fail and its open
// connections are closed, while the cluster stays reachable from inside its own Region, so local
// producers and the local pipeline carry on. That is the difference from [Cluster.SetReachable],
// which takes a cluster away from everyone.
type Link struct {
	mu    sync.Mutex
	down  bool
	conns map[*linkConn]struct{}
}

// ErrLinkDown is the dial error while a [Link] is down.
var ErrLinkDown = errors.New("kafkatwin: network path between Regions is down")

// NewLink returns a Link that is up.
func NewLink() *Link { return &Link{conns: map[*linkConn]struct{}{}} }

// SetUp restores (true) or cuts (false) the link. Cutting closes every connection made through
// it, so requests in flight fail as they would when a route disappears.
func (l *Link) SetUp(up bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down = !up
	if up {
		return
	}
	for c := range l.conns {
		_ = c.Conn.Close() // the point is to break the connection
		delete(l.conns, c)
	}
}

// Up reports whether the link carries traffic.
func (l *Link) Up() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.down
}

// dial is a kgo.Dialer.
func (l *Link) dial(ctx context.Context, network, host string) (net.Conn, error) {
	if !l.Up() {
		return nil, ErrLinkDown
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, host)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.down { // cut while dialing
		_ = c.Close()
		return nil, ErrLinkDown
	}
	lc := &linkConn{Conn: c, l: l}
	l.conns[lc] = struct{}{}
	return lc, nil
}

type linkConn struct {
	net.Conn
	l *Link
}

func (c *linkConn) Close() error {
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}
