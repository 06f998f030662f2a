package slackapp

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.temporal.io/api/serviceerror"
)

// noWorker decides when a click falls back to the durable signal: nobody answered the query or
// update in time, or a worker that was stopping took the query and failed it (seen in CI: the
// query came back "context canceled" 80 ms after the worker was stopped, and the click was
// refused instead of recorded). Everything else is said as it is.
func TestNoWorker(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("query progress: %w", context.DeadlineExceeded), true},
		{serviceerror.NewDeadlineExceeded("no poller"), true},
		{fmt.Errorf("query progress of x: %w", serviceerror.NewQueryFailed("context canceled")), true},
		{fmt.Errorf("query progress of x: %w", serviceerror.NewCanceled("context canceled")), true},
		{serviceerror.NewNotFound("workflow not found"), false},
		{serviceerror.NewInvalidArgument("bad query"), false},
		{errors.New("connection refused"), false},
	} {
		if got := noWorker(c.err); got != c.want {
			t.Errorf("noWorker(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
