package activities

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/switchyard-dr/switchyard/internal/awsclients"
	"github.com/switchyard-dr/switchyard/internal/lab"
	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// startLabCloud starts a whole lab on free ports (opts.RandomPorts and a quiet logger are set
// here) and a Cloud whose runbooks folder holds the lab's environment as "lab".
func startLabCloud(t *testing.T, opts lab.Options) (*lab.Lab, *Cloud, func(*runbook.Environment)) {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	opts.RandomPorts, opts.Logger = true, quiet
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := lab.Start(ctx, opts)
	require.NoError(t, err)
	t.Cleanup(l.Close)
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "environments"), 0o755))
	// write adds an environment to the Cloud's folder, under its name.
	write := func(env *runbook.Environment) {
		t.Helper()
		b, err := yaml.Marshal(env)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "environments", env.Name+".yaml"), b, 0o644))
	}
	write(l.Environment())
	c := NewCloud(CloudOptions{RunbookDir: dir, Logger: quiet, AWS: awsclients.New(awsclients.Options{Logger: quiet,
		LoadOptions: []func(*config.LoadOptions) error{config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(lab.AccessKeyID, lab.SecretAccessKey, ""))}})})
	return l, c, write
}
