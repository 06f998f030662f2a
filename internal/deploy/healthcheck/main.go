// Command healthcheck is the container health probe of Switchyard's image. The image is
// distroless (no shell, no wget, no nc), so docker-compose's healthcheck has nothing to run
// unless the image ships its own probe: this one exits 0 when an HTTP URL answers 2xx or a TCP
// address accepts a connection, and 1 otherwise.
//
//	healthcheck http://127.0.0.1:8081/healthz
//	healthcheck temporal:7233
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// timeout bounds one probe; compose's own healthcheck timeout kills a probe that hangs anyway,
// but a probe that ends by itself reports why.
const timeout = 3 * time.Second

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) != 1 || args[0] == "" || strings.HasPrefix(args[0], "-") {
		return errors.New("usage: healthcheck http://HOST:PORT/PATH | HOST:PORT")
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	target := args[0]
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		return probeHTTP(ctx, target, stdout)
	}
	return probeTCP(ctx, target, stdout)
}

func probeHTTP(ctx context.Context, url string, stdout io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("probe %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("probe %s: status %s", url, resp.Status)
	}
	fmt.Fprintf(stdout, "%s: %s\n", url, resp.Status)
	return nil
}

func probeTCP(ctx context.Context, addr string, stdout io.Writer) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("probe %s: want HOST:PORT or an http:// URL: %w", addr, err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("probe %s: %w", addr, err)
	}
	_ = conn.Close()
	fmt.Fprintf(stdout, "%s: accepting connections\n", addr)
	return nil
}
