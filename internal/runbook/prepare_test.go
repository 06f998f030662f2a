package runbook

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/catalog"
)

// TestPrepare: the decision whether a run may start, as the worker's loader and the starter CLI
// both make it. With the catalog (the worker) and without it (the CLI, which does not build the
// activity registry), a wrong request gets the same message and is marked as bad input.
func TestPrepare(t *testing.T) {
	dir := filepath.Join("testdata", "good")
	for _, cat := range []struct {
		name string
		cat  *catalog.Catalog
	}{
		{"with catalog", testCatalog()},
		{"without catalog", nil},
	} {
		set, loadErr := LoadDir(dir, cat.cat)
		if loadErr != nil {
			t.Fatalf("%s: load %s: %v", cat.name, dir, loadErr)
		}
		for _, tt := range []struct {
			name string
			req  RunRequest
			want string // "" when the run may start
		}{
			{"ok", RunRequest{Runbook: "verify", Environment: "lab", Params: map[string]any{"region": "us-west-2"}}, ""},
			{"unknown runbook", RunRequest{Runbook: "nosuch", Environment: "lab"},
				`no runbook "nosuch" in testdata/good (have: regional_failover, verify)`},
			{"unknown environment", RunRequest{Runbook: "verify", Environment: "prod", Params: map[string]any{"region": "us-west-2"}},
				`no environment "prod" in testdata/good/environments (have: lab)`},
			{"param of the wrong type", RunRequest{Runbook: "regional_failover", Environment: "lab", Params: map[string]any{"target_region": "us-west-2", "max_lag": "lots"}},
				`invalid params for runbook "regional_failover": param "max_lag"`},
			{"Region outside the environment", RunRequest{Runbook: "verify", Environment: "lab", Params: map[string]any{"region": "eu-west-1"}},
				`invalid params for runbook "verify": param "region": "eu-west-1" is not a Region of environment lab (its Regions: us-east-1, us-west-2)`},
		} {
			p, err := Prepare(dir, set, loadErr, tt.req, cat.cat)
			if tt.want == "" {
				if err != nil {
					t.Errorf("%s/%s: %v", cat.name, tt.name, err)
				} else if p.Params["region"] != "us-west-2" || p.RunbookSource.SHA256 == "" {
					t.Errorf("%s/%s: prepared %+v", cat.name, tt.name, p)
				}
				continue
			}
			var se *StartError
			if !errors.As(err, &se) || !se.BadInput || !strings.HasPrefix(err.Error(), filepath.FromSlash(tt.want)) {
				t.Errorf("%s/%s: err = %v (%T), want bad input starting %q", cat.name, tt.name, err, err, tt.want)
			}
		}
	}
	// A folder that cannot be read is not the caller's mistake.
	_, err := Prepare("nowhere", nil, errors.New("no such directory"), RunRequest{Runbook: "verify", Environment: "lab"}, nil)
	var se *StartError
	if !errors.As(err, &se) || se.BadInput || err.Error() != "load runbooks from nowhere: no such directory" {
		t.Errorf("unreadable folder: err = %v", err)
	}
}
