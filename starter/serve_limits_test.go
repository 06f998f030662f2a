package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-dr/switchyard/internal/triggers"
)

// unreachableTemporal is a Temporal the alarm intake never gets to call in these tests.
type unreachableTemporal struct{}

func (unreachableTemporal) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return nil, errors.New("unreachable")
}
func (unreachableTemporal) SignalWorkflow(context.Context, string, string, string, any) error {
	return errors.New("unreachable")
}
func (unreachableTemporal) SignalWithStartWorkflow(context.Context, string, string, any, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	return nil, errors.New("unreachable")
}

// The intake server applies serve's limits on /alarms/*: a body over --alarm-max-body gets 413,
// a source over --rate-limit gets 429 with Retry-After (counted in the intake's stats), and a
// client that sends its request slower than --read-timeout is cut off.
func TestIntakeServerLimits(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := triggers.NewService(context.Background(), triggers.ServiceOptions{RunbookDir: "../runbooks", Temporal: unreachableTemporal{}, Logger: quiet})
	require.NoError(t, err)
	limits := defaultIntakeLimits
	limits.alarmMaxBody, limits.rate, limits.burst, limits.readTimeout = 64, 0.001, 2, 300*time.Millisecond
	require.NoError(t, limits.validate())
	srv := newIntakeServer(nil, svc, quiet, limits, nil)
	require.Equal(t, 300*time.Millisecond, srv.ReadTimeout)
	require.Equal(t, 300*time.Millisecond, srv.ReadHeaderTimeout)
	require.Equal(t, limits.writeTimeout, srv.WriteTimeout)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	url := "http://" + ln.Addr().String() + "/alarms/sns"
	post := func(body string) *http.Response {
		resp, err := http.Post(url, "text/plain", strings.NewReader(body))
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp
	}

	require.Equal(t, http.StatusRequestEntityTooLarge, post(strings.Repeat("x", 65)).StatusCode)
	require.Equal(t, int64(1), svc.Intake().Stats().Invalid)
	// Unsigned bodies: refused by the handler (400), each spending the address's budget.
	require.Equal(t, http.StatusBadRequest, post("{not json").StatusCode)
	require.Equal(t, http.StatusBadRequest, post("{not json").StatusCode)
	resp := post("{not json")
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	st := svc.Intake().Stats()
	require.Equal(t, int64(1), st.RateLimited)
	require.Equal(t, int64(3), st.Invalid, "the 429 is not counted as an invalid message")

	// A client that sends half its body and stops is disconnected by the read timeout.
	conn, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /alarms/sns HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n{\"Type\":")
	require.NoError(t, err)
	// Our own deadline only bounds the test; the server must close first.
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(30*time.Second)))
	_, err = bufio.NewReader(conn).ReadString('\n')
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server kept a stalled request open: %v", err)
}

func TestIntakeLimitsValidate(t *testing.T) {
	require.NoError(t, defaultIntakeLimits.validate())
	bad := defaultIntakeLimits
	bad.slackMaxBody, bad.alarmMaxBody, bad.readTimeout, bad.rate, bad.burst = 2<<20, 0, 0, -1, 0
	err := bad.validate()
	require.Error(t, err)
	for _, want := range []string{"--slack-max-body 2097152: want 1 to 1048576 bytes", "--alarm-max-body 0: want 1 to 524288 bytes",
		"--read-timeout 0s: want a positive duration", "--rate-limit -1: want 0 (off)"} {
		require.ErrorContains(t, err, want)
	}
	bad = defaultIntakeLimits
	bad.burst = 0
	require.ErrorContains(t, bad.validate(), "--rate-burst 0: want at least 1")
}
