package devserver

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// PortInUseError reports a fixed port that something else already listens on. It is returned by
// Start before any service starts, so the caller can print it and exit cleanly instead of dying
// inside ui-server's Logger.Fatal or getting an fx start-up error from the server.
type PortInUseError struct {
	What string // "frontend", "frontend HTTP" or "UI"
	IP   string
	Port int
	Hint string // what the user can do about it
}

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("%s port %d on %s is already in use (%s)", e.What, e.Port, e.IP, e.Hint)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Another process may take
// it before the caller binds it, which is acceptable for tests and dev tools, not for production.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("release free port %d: %w", port, err)
	}
	return port, nil
}

// checkFixedPorts binds and releases every port the caller chose, so a clash is reported with a
// clear message before the server or UI tries (and, for the UI, kills the process).
func checkFixedPorts(o Options) error {
	type fixed struct {
		what, hint string
		port       int
	}
	ports := []fixed{{
		what: "frontend", port: o.Port,
		hint: "is another Temporal server running? choose another with --port",
	}}
	if o.HTTPPort != 0 {
		ports = append(ports, fixed{
			what: "frontend HTTP", port: o.HTTPPort,
			hint: "choose another HTTP port, or 0 to pick a free one",
		})
	}
	if o.UIPort >= 0 {
		ports = append(ports, fixed{
			what: "UI", port: o.UIPort,
			hint: "is another Temporal UI running? choose another with --ui-port, or -1 to run without the UI",
		})
	}
	for _, p := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort(o.IP, strconv.Itoa(p.port)))
		if errors.Is(err, syscall.EADDRINUSE) {
			return &PortInUseError{What: p.what, IP: o.IP, Port: p.port, Hint: p.hint}
		}
		if err != nil {
			return fmt.Errorf("%s port %d on %s cannot be used: %w", p.what, p.port, o.IP, err)
		}
		if err := l.Close(); err != nil {
			return fmt.Errorf("release %s port %d after checking it: %w", p.what, p.port, err)
		}
	}
	return nil
}

// internalPorts are the ports nobody outside the process needs to know in advance.
type internalPorts struct {
	http, history, matching, worker int
}

// pickInternalPorts chooses distinct free ports that differ from the caller's fixed ports; two
// quick FreePort calls can return the same number, and a collision would fail start-up.
func pickInternalPorts(o Options) (internalPorts, error) {
	used := map[int]bool{o.Port: true}
	if o.UIPort >= 0 {
		used[o.UIPort] = true
	}
	if o.HTTPPort != 0 {
		used[o.HTTPPort] = true
	}
	next := func() (int, error) {
		for range 20 {
			p, err := FreePort()
			if err != nil {
				return 0, err
			}
			if !used[p] {
				used[p] = true
				return p, nil
			}
		}
		return 0, errors.New("no distinct free port found after 20 tries")
	}
	var ip internalPorts
	var err error
	ip.http = o.HTTPPort
	if ip.http == 0 {
		if ip.http, err = next(); err != nil {
			return ip, fmt.Errorf("pick frontend HTTP port: %w", err)
		}
	}
	for _, dst := range []*int{&ip.history, &ip.matching, &ip.worker} {
		if *dst, err = next(); err != nil {
			return ip, fmt.Errorf("pick internal service port: %w", err)
		}
	}
	return ip, nil
}

// dialIP is the address clients use to reach a listener bound to ip: a wildcard bind is reached
// through loopback.
func dialIP(ip string) string {
	parsed := net.ParseIP(ip)
	switch {
	case parsed == nil || !parsed.IsUnspecified():
		return ip
	case parsed.To4() != nil:
		return "127.0.0.1"
	default:
		return "::1"
	}
}
