package lab

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// gatedServer serves an HTTP handler on a fixed address and can take the address away: an
// impaired Region's collection should refuse connections, as an endpoint behind a dead network
// does, not answer them with an error a client could mistake for a live service.
type gatedServer struct {
	addr string
	srv  *http.Server
	log  *slog.Logger

	mu     sync.Mutex
	ln     net.Listener // nil while unreachable
	conns  map[net.Conn]struct{}
	closed bool
}

func serveGated(host string, port int, h http.Handler, log *slog.Logger) (*gatedServer, error) {
	ln, err := net.Listen("tcp", hostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", hostPort(host, port), err)
	}
	g := &gatedServer{addr: ln.Addr().String(), log: log, conns: map[net.Conn]struct{}{}}
	g.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ConnState: g.track,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	g.serve(ln)
	return g, nil
}

func (g *gatedServer) serve(ln net.Listener) {
	g.ln = ln
	go func() {
		if err := g.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			g.log.Debug("lab server stopped", "addr", g.addr, "err", err)
		}
	}()
}

func (g *gatedServer) track(c net.Conn, s http.ConnState) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch s {
	case http.StateNew:
		g.conns[c] = struct{}{}
	case http.StateClosed, http.StateHijacked:
		delete(g.conns, c)
	}
}

// URL is the server's base URL.
func (g *gatedServer) URL() string { return "http://" + g.addr }

// Addr is the server's host:port.
func (g *gatedServer) Addr() string { return g.addr }

// Reachable reports whether the address accepts connections.
func (g *gatedServer) Reachable() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ln != nil
}

// SetReachable closes the listener and every open connection (false), or listens again on the
// same address (true).
func (g *gatedServer) SetReachable(up bool) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return errors.New("server closed")
	}
	if !up {
		if g.ln != nil {
			_ = g.ln.Close() // Serve returns; the server stays usable
			g.ln = nil
		}
		for c := range g.conns {
			_ = c.Close()
			delete(g.conns, c)
		}
		return nil
	}
	if g.ln != nil {
		return nil
	}
	// The port was ours a moment ago; rebinding can race a socket still closing.
	var err error
	for range 50 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", g.addr); err == nil {
			g.serve(ln)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("listen again on %s: %w", g.addr, err)
}

// Close stops the server for good.
func (g *gatedServer) Close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	_ = g.srv.Close()
}
