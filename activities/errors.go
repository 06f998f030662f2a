package activities

import (
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-dr/switchyard/internal/wire"
)

// ErrPermanent is the error type of failures that no retry can fix.
const ErrPermanent = wire.ErrPermanent

// Permanent marks err as not worth retrying.
func Permanent(err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		return err
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), ErrPermanent, err)
}

// IsRetryable reports whether Temporal would retry err: everything but non-retryable
// application errors.
func IsRetryable(err error) bool {
	var appErr *temporal.ApplicationError
	return !errors.As(err, &appErr) || !appErr.NonRetryable()
}
