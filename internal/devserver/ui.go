package devserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
)

// startUI serves the Web UI from the assets embedded in the ui-server module and returns once it
// answers its health route. News fetching is off so the browser makes no outside requests.
func (s *Server) startUI(ctx context.Context) error {
	host := s.opts.IP
	if strings.Contains(host, ":") {
		// ui-server joins host and port with "%s:%d", which needs brackets for IPv6.
		host = "[" + host + "]"
	}
	cfg := &uiconfig.Config{
		Host:                host,
		Port:                s.opts.UIPort,
		TemporalGRPCAddress: s.frontend,
		EnableUI:            true,
		DefaultNamespace:    s.opts.Namespaces[0],
		// The UI is served over plain HTTP on localhost; a Secure CSRF cookie would never be
		// sent back and every write action would fail.
		CORS:             uiconfig.CORS{CookieInsecure: true},
		HideLogs:         true,
		DisableNewsFetch: true,
	}
	ui, err := newUIServer(cfg)
	if err != nil {
		return err
	}
	s.ui = ui
	s.uiDone = make(chan struct{})
	go func() {
		defer close(s.uiDone)
		// Start blocks until Stop. On a bind error it calls Logger.Fatal and ends the process;
		// checkFixedPorts makes that a narrow race rather than the normal failure mode.
		if err := ui.Start(); err != nil {
			s.log.Error("temporal UI server stopped", "err", err)
		}
	}()

	url := "http://" + net.JoinHostPort(dialIP(s.opts.IP), strconv.Itoa(s.opts.UIPort))
	httpClient := &http.Client{}
	err = retry(ctx, "wait for the Temporal UI at "+url, func(ctx context.Context) error {
		select {
		case <-s.uiDone:
			return permanentError{errors.New("UI server exited during start-up")}
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/healthz", nil)
		if err != nil {
			return err
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("health check answered %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.uiURL = url
	return nil
}

// newUIServer turns ui-server's constructor panics (bad config, missing assets) into errors, so a
// UI problem fails Start instead of the process.
func newUIServer(cfg *uiconfig.Config) (ui *uiserver.Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("create temporal UI server: %v", r)
		}
	}()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("temporal UI config: %w", err)
	}
	return uiserver.NewServer(uiserveroptions.WithConfigProvider(cfg)), nil
}
