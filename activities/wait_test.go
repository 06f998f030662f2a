package activities

import (
	"context"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/wire"
)

// The wait interval is the loader's to fill in (runbook.DefaultWaitInterval); a request without
// one is refused rather than defaulted a second time here, or polled without pause.
func TestWaitUntilRefusesAnIntervalOfZero(t *testing.T) {
	r := NewRegistry()
	RegisterCore(r, &Core{})
	e := &Engine{Registry: r}
	_, err := e.WaitUntil(context.Background(), wire.WaitRequest{Check: "core.assert", Args: map[string]any{"that": true}})
	requireNonRetryable(t, err, ErrBadArguments, "core.assert", "interval 0s must be longer than 0s")
}
