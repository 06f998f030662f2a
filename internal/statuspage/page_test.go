package statuspage

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/runbook"
)

func TestRenderShowsEachPartAndWorksWithoutScript(t *testing.T) {
	t0 := time.Now().Add(-time.Hour)
	env := Env{Name: "lab", Regions: []string{"us-east-1", "us-west-2"},
		Traffic: Traffic{Lever: "arc_routing_control", Summary: "us-west-2 in, us-east-1 out", Record: "ingest.lab", Resolver: "127.0.0.1:5353", Samples: 40,
			Shares: []Share{{Region: "us-east-1", Answers: 0, Percent: 0}, {Region: "us-west-2", Answers: 40, Percent: 100}}},
		Lag:         Plot([]Line{{Label: "into us-east-1", Class: "lag0", Points: []Point{{t0, 5}, {t0.Add(time.Hour), 0}}}}, t0, t0.Add(time.Hour), 560, 150),
		LagLines:    []LagLine{{Into: "us-east-1", Replicator: "lab-secondary-to-primary", Class: "lag0", HasLast: true}},
		Pipelines:   []Resource{{Region: "us-east-1", Name: "lab-osi-primary", Status: "ACTIVE", OK: true}},
		Collections: []Resource{{Region: "us-east-1", Name: "lab-opensearch-primary", Status: "ACTIVE", OK: true}},
		Lock: &Lock{WorkflowID: "switchyard/lab", Runbook: "failover", URL: "http://127.0.0.1:8233/namespaces/default/workflows/switchyard%2Flab/r1/history",
			Steps: []StepLine{{Path: "approve", Status: "waiting", What: ""}}},
	}
	b, err := Render(Page{GeneratedAt: time.Now(), Refresh: 15, Environments: []Env{env}})
	require.NoError(t, err)
	html := string(b)
	for _, want := range []string{
		`<meta http-equiv="refresh" content="15">`,
		`us-west-2</td><td><div class="bar"><span style="width:100%">`,
		`<polyline class="lag0" points="44.0,8.0`,
		`lab-secondary-to-primary`, `now 0 (caught up)`,
		`href="http://127.0.0.1:8233/namespaces/default/workflows/switchyard%2Flab/r1/history"`,
		`<code>approve</code>`,
		`not evaluated yet`, `No drill has run on this environment yet.`,
	} {
		require.Contains(t, html, want)
	}
	require.NotContains(t, html, "<script", "the page works without JavaScript")
}

func TestHandlerIsReadOnly(t *testing.T) {
	h := &Handler{}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("x")))
	require.Equal(t, http.StatusMethodNotAllowed, w.Code)
}

// starter dev limits the page to the lab's environment: the folder's example.yaml names a real
// account the machine cannot read, and its errors would fill the page.
func TestEnvironmentsListsTheFolderOrOnlyTheOnesAsked(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "environments"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"lab", "example"} {
		src, err := os.ReadFile(filepath.Join("..", "..", "runbooks", "environments", name+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "environments", name+".yaml"), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := &Collector{Store: runbook.NewStore(dir)}
	all, err := c.Environments()
	if err != nil || !slices.Equal(all, []string{"example", "lab"}) {
		t.Fatalf("every environment: %v, %v", all, err)
	}
	c.Only = []string{"lab"}
	only, err := c.Environments()
	if err != nil || !slices.Equal(only, []string{"lab"}) {
		t.Fatalf("only lab: %v, %v", only, err)
	}
}
