package devserver

import (
	"context"
	"log/slog"
	"os"
	"sync/atomic"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// serverLogger adapts the server's tag-based log.Logger to slog, so the embedded server writes
// through the caller's handler (one format, one destination) instead of its own zap logger on
// stdout.
type serverLogger struct {
	l *slog.Logger
}

var (
	_ log.Logger      = serverLogger{}
	_ log.WithLogger  = serverLogger{}
	_ log.SLogWrapper = serverLogger{}
	_ slog.Handler    = minLevelHandler{}
)

// newServerLogger wraps base so that server records below min are dropped before any tag is
// converted: the server logs a lot at Info and Debug, and converting tags costs allocations.
func newServerLogger(base *slog.Logger, minLevel slog.Leveler) serverLogger {
	h := minLevelHandler{next: base.Handler(), min: minLevel}
	return serverLogger{l: slog.New(h).With("component", "temporal-server")}
}

func (s serverLogger) log(level slog.Level, msg string, tags []tag.Tag) {
	ctx := context.Background()
	if !s.l.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, len(tags))
	for _, t := range tags {
		attrs = append(attrs, slog.Any(t.Key(), t.Value()))
	}
	s.l.LogAttrs(ctx, level, msg, attrs...)
}

func (s serverLogger) Debug(msg string, tags ...tag.Tag) { s.log(slog.LevelDebug, msg, tags) }
func (s serverLogger) Info(msg string, tags ...tag.Tag)  { s.log(slog.LevelInfo, msg, tags) }
func (s serverLogger) Warn(msg string, tags ...tag.Tag)  { s.log(slog.LevelWarn, msg, tags) }
func (s serverLogger) Error(msg string, tags ...tag.Tag) { s.log(slog.LevelError, msg, tags) }

// DPanic panics only in zap's development mode; a dev server should keep running, so it logs.
func (s serverLogger) DPanic(msg string, tags ...tag.Tag) { s.log(slog.LevelError, msg, tags) }

// Panic keeps the server's contract: callers rely on it not returning.
func (s serverLogger) Panic(msg string, tags ...tag.Tag) {
	s.log(levelFatal, msg, tags)
	panic(msg)
}

// Fatal keeps the server's contract (the zap logger exits): code after a Fatal call assumes it
// never returns and would continue with broken state.
func (s serverLogger) Fatal(msg string, tags ...tag.Tag) {
	s.log(levelFatal, msg, tags)
	os.Exit(1)
}

// With lets the server pre-attach tags (service name, shard) once per component.
func (s serverLogger) With(tags ...tag.Tag) log.Logger {
	args := make([]any, 0, len(tags))
	for _, t := range tags {
		args = append(args, slog.Any(t.Key(), t.Value()))
	}
	return serverLogger{l: s.l.With(args...)}
}

// SLog hands server code that logs through slog the same filtered logger directly, instead of
// the server's slog-over-zap bridge.
func (s serverLogger) SLog() *slog.Logger { return s.l }

// minLevelHandler drops records below min and otherwise defers to next, so the server's
// verbosity can be lower than the caller's without a second handler configuration.
type minLevelHandler struct {
	next slog.Handler
	min  slog.Leveler
}

func (h minLevelHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= h.min.Level() && h.next.Enabled(ctx, level)
}

func (h minLevelHandler) Handle(ctx context.Context, r slog.Record) error {
	return h.next.Handle(ctx, r)
}

func (h minLevelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevelHandler{next: h.next.WithAttrs(attrs), min: h.min}
}

func (h minLevelHandler) WithGroup(name string) slog.Handler {
	return minLevelHandler{next: h.next.WithGroup(name), min: h.min}
}

// levelFatal marks the server's Panic and Fatal records. It sits above Error so they still show
// while Stop silences everything else.
const levelFatal = slog.LevelError + 4

// serverLevel is the server's minimum log level, raised above Error once Stop begins: shutting
// down makes internal pollers and clients log Warns and Errors about closed connections and
// cancelled contexts, a screenful of noise on each Ctrl-C that says nothing about a problem.
type serverLevel struct {
	base     slog.Leveler
	stopping atomic.Bool
}

func (l *serverLevel) Level() slog.Level {
	if l.stopping.Load() {
		return max(l.base.Level(), levelFatal)
	}
	return l.base.Level()
}
