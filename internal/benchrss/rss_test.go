package benchrss

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseVmHWM(t *testing.T) {
	require.Equal(t, int64(123456*1024), ParseVmHWM("Name:\tworker\nVmPeak:\t  999999 kB\nVmHWM:\t  123456 kB\nVmRSS:\t 1000 kB\n"))
	require.Zero(t, ParseVmHWM("Name:\tworker\n"))
	require.Zero(t, ParseVmHWM("VmHWM:\t12 MB\n"))
	require.Positive(t, Peak(), "this process, on Linux")
	require.Positive(t, Current())
	require.Zero(t, PeakOf("no-such-pid"))
}
