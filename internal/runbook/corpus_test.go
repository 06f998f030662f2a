package runbook

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// brokenCase is one file or folder of testdata/broken and the golden file of its exact messages.
type brokenCase struct {
	name, golden string
	load         func() error
}

func brokenCases(t *testing.T) []brokenCase {
	t.Helper()
	cat := testCatalog()
	var cases []brokenCase
	runbooks, _ := filepath.Glob("testdata/broken/*.yaml")
	for _, p := range runbooks {
		cases = append(cases, brokenCase{p, strings.TrimSuffix(p, ".yaml") + ".errors", func() error {
			_, err := LoadFile(p, cat)
			return err
		}})
	}
	envs, _ := filepath.Glob("testdata/broken/environments/*.yaml")
	for _, p := range envs {
		cases = append(cases, brokenCase{p, strings.TrimSuffix(p, ".yaml") + ".errors", func() error {
			_, err := LoadEnvironmentFile(p)
			return err
		}})
	}
	dirs, _ := filepath.Glob("testdata/broken/dirs/*")
	for _, d := range dirs {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			continue
		}
		cases = append(cases, brokenCase{d, d + ".errors", func() error {
			set, err := LoadDir(d, cat)
			if set == nil {
				t.Fatalf("LoadDir(%s) returned no set: %v", d, err)
			}
			return err
		}})
	}
	return cases
}

var lineFormat = regexp.MustCompile(`^testdata/broken/[a-z_/]+\.yaml:[1-9][0-9]*:[1-9][0-9]*: \S`)

// TestBrokenCorpus loads every broken example and compares ALL its messages, in order, with the
// golden .errors file. Run with -update to rewrite the goldens, then review the diff.
func TestBrokenCorpus(t *testing.T) {
	cases := brokenCases(t)
	if len(cases) < 15 {
		t.Fatalf("only %d broken cases; the corpus must cover at least 15", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.load()
			if err == nil {
				t.Fatal("loaded without error")
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error is %T, want an ErrorList: %v", err, err)
			}
			got := err.Error() + "\n"
			for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
				if !lineFormat.MatchString(line) {
					t.Errorf("message not formatted path:line:col: message: %q", line)
				}
			}
			if *update {
				if err := os.WriteFile(c.golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(c.golden)
			if err != nil {
				t.Fatalf("missing golden file (run go test -update): %v", err)
			}
			if got != string(want) {
				t.Errorf("messages differ from %s\n--- got\n%s--- want\n%s", c.golden, got, want)
			}
		})
	}
}
