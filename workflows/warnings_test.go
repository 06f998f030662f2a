package workflows

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestResultWarningsAndSummary(t *testing.T) {
	// As a result arrives from an activity payload, and as an in-process result holds it.
	require.Equal(t, []string{"a", "b"}, ResultWarnings(map[string]any{"warnings": []any{"a", "", 3, "b"}}))
	require.Equal(t, []string{"a"}, ResultWarnings(map[string]any{"warnings": []string{"", "a"}}))
	require.Nil(t, ResultWarnings(map[string]any{"warnings": "not a list"}))
	require.Nil(t, ResultWarnings(nil))

	require.Equal(t, "cluster is HEALING: still serves", WithWarnings("cluster is HEALING: still serves", []string{"cluster is HEALING: still serves"}),
		"a summary that says the warning already is left alone")
	require.Equal(t, "domain ok — warning: change in progress — warning: upgrade", WithWarnings("domain ok", []string{"change in progress", "upgrade"}))
	require.Equal(t, "warning: x", WithWarnings("", []string{"x"}))
}
