package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

// pollInterval paces readiness polls: short enough to add little to start-up, long enough not
// to spin on a busy two-core machine.
const pollInterval = 50 * time.Millisecond

// permanentError marks an attempt's error as final, so retry stops waiting for a component
// that is known to be gone.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// retry calls fn until it succeeds, fails permanently or ctx ends, returning the last error with
// what failed. temporal.Server.Start returns once the services run, but the frontend and the
// namespace registry become usable a little later, so readiness is observed, not assumed.
func retry(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	var last error
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		last = fn(attemptCtx)
		cancel()
		if last == nil {
			return nil
		}
		var perm permanentError
		if errors.As(last, &perm) {
			return fmt.Errorf("%s: %w", what, perm.err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last error: %w)", what, ctx.Err(), last)
		case <-time.After(pollInterval):
		}
	}
}

// waitReady returns once an SDK client can connect and every namespace answers, then makes
// sure the namespaces carry the requested search attributes.
func (s *Server) waitReady(ctx context.Context) error {
	// The SDK client's own logs are as noisy as the server's; filter them the same way.
	clientLog := slog.New(minLevelHandler{next: s.opts.Logger.Handler(), min: s.level}).
		With("component", "devserver-client")
	var c client.Client
	err := retry(ctx, "wait for the Temporal frontend at "+s.frontend, func(ctx context.Context) error {
		var err error
		c, err = client.DialContext(ctx, client.Options{
			HostPort:  s.frontend,
			Namespace: s.opts.Namespaces[0],
			Logger:    sdklog.NewStructuredLogger(clientLog),
		})
		return err
	})
	if err != nil {
		return err
	}
	defer c.Close()

	for _, ns := range s.opts.Namespaces {
		err := retry(ctx, "wait for namespace "+ns, func(ctx context.Context) error {
			_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
			return err
		})
		if err != nil {
			return err
		}
		if err := ensureSearchAttributes(ctx, c.OperatorService(), ns, s.opts.SearchAttributes); err != nil {
			return err
		}
	}
	return nil
}

// ensureSearchAttributes adds the requested search attributes that a namespace lacks. A fresh
// database already has them (registered before start); a reused file may predate a newly added
// attribute, and failing later at workflow start would be far more confusing. A name that exists
// with another type is an error, because the type of a search attribute cannot be changed.
func ensureSearchAttributes(ctx context.Context, op operatorservice.OperatorServiceClient, ns string, want map[string]enumspb.IndexedValueType) error {
	if len(want) == 0 {
		return nil
	}
	resp, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		return fmt.Errorf("list search attributes of namespace %q: %w", ns, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		typ := want[name]
		if got, ok := resp.GetSystemAttributes()[name]; ok {
			return fmt.Errorf("search attribute %q is a system attribute of type %v; choose another name", name, got)
		}
		got, ok := resp.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = typ
		case got != typ:
			return fmt.Errorf("search attribute %q exists in namespace %q as %v, not %v (types cannot change; use a new name or a new database file)", name, ns, got, typ)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        ns,
		SearchAttributes: missing,
	})
	if err != nil {
		return fmt.Errorf("add search attributes %v to namespace %q: %w", slices.Sorted(maps.Keys(missing)), ns, err)
	}
	return nil
}
