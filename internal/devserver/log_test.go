package devserver

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/server/common/log/tag"
)

func TestServerLoggerFiltersAndKeepsTags(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	level := &serverLevel{base: slog.LevelWarn}
	logger := newServerLogger(base, level)

	logger.Info("chatty start-up detail", tag.NewStringTag("k", "v"))
	require.Empty(t, buf.String(), "Info must be dropped at the default Warn level")

	logger.With(tag.NewStringTag("service", "history")).Warn("shard slow", tag.NewInt64("shard-id", 1))
	line := buf.String()
	for _, want := range []string{"level=WARN", `msg="shard slow"`, "component=temporal-server", "service=history", "shard-id=1"} {
		require.Contains(t, line, want)
	}

	buf.Reset()
	logger.SLog().Warn("through slog", "x", 2)
	require.Contains(t, buf.String(), "x=2", "SLog must hand out the same filtered logger")

	buf.Reset()
	level.stopping.Store(true)
	logger.Error("context canceled while stopping")
	require.Empty(t, buf.String(), "shutdown noise must be silenced once Stop begins")
	logger.log(levelFatal, "fatal still shows", nil)
	require.Equal(t, 1, strings.Count(buf.String(), "fatal still shows"))
}
