package controlplane

import (
	"context"
	"fmt"
	"net"
	"strconv"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
)

// uiServer is the Temporal Web UI (ui-server with its embedded assets) served by the process that
// runs the topology, as compose's temporal-ui service serves it in a container of its own.
type uiServer struct {
	srv  *uiserver.Server
	done chan struct{}
	url  string
}

// startUI serves the UI and waits until /healthz answers. ui-server's Start ends the whole
// process on a bind error, so the port is checked first.
func startUI(ctx context.Context, ip string, port int, frontend, namespace string, freePorts bool) (*uiServer, error) {
	if freePorts {
		var err error
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("UI port %s is in use (is another Temporal UI running?): %w", addr, err)
	}
	_ = l.Close()
	cfg := &uiconfig.Config{
		Host: ip, Port: port, TemporalGRPCAddress: frontend, EnableUI: true, DefaultNamespace: namespace,
		// Plain HTTP on the machine: a Secure CSRF cookie would never be sent back.
		CORS: uiconfig.CORS{CookieInsecure: true}, HideLogs: true, DisableNewsFetch: true,
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("temporal UI config: %w", err)
	}
	u := &uiServer{srv: uiserver.NewServer(uiserveroptions.WithConfigProvider(cfg)), done: make(chan struct{}), url: "http://" + addr}
	go func() {
		defer close(u.done)
		_ = u.srv.Start()
	}()
	if err := retry(ctx, "wait for the Temporal UI at "+u.url, func(ctx context.Context) error {
		return httpOK(ctx, u.url+"/healthz")
	}); err != nil {
		u.srv.Stop()
		return nil, err
	}
	return u, nil
}

func (u *uiServer) stop() error {
	u.srv.Stop()
	<-u.done
	return nil
}
