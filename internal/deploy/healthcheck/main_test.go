package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHTTPProbe(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /broken", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var out bytes.Buffer
	if err := run(context.Background(), []string{srv.URL + "/healthz"}, &out); err != nil {
		t.Fatalf("healthy endpoint: %v", err)
	}
	if !strings.Contains(out.String(), "200") {
		t.Errorf("output %q does not name the status", out.String())
	}
	err := run(context.Background(), []string{srv.URL + "/broken"}, &out)
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("503 endpoint: err = %v, want a failure naming the status", err)
	}
	if err := run(context.Background(), []string{srv.URL + "/missing"}, &out); err == nil {
		t.Error("404 endpoint passed the probe")
	}
}

func TestTCPProbe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	if err := run(context.Background(), []string{addr}, &bytes.Buffer{}); err != nil {
		t.Fatalf("listening port: %v", err)
	}
	_ = ln.Close()
	// The port was just released; nothing listens on it any more.
	if err := run(context.Background(), []string{addr}, &bytes.Buffer{}); err == nil {
		t.Errorf("closed port %s passed the probe", addr)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {""}, {"-h"}, {"a", "b"}, {"no-port"}} {
		if err := run(context.Background(), args, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%q) succeeded, want a usage error", args)
		}
	}
}
