package runbook

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// storeFolder copies testdata/good into a temporary folder with a trigger rules file, every file
// stamped an hour ago so the store's stat can prove them unchanged.
func storeFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, rel := range []string{"regional_failover.yaml", "verify.yaml", "environments/lab.yaml"} {
		text, err := os.ReadFile(filepath.Join("testdata/good", rel))
		if err != nil {
			t.Fatal(err)
		}
		writeAged(t, filepath.Join(dir, rel), string(text), time.Hour)
	}
	writeAged(t, filepath.Join(dir, TriggersDir, "lab.yaml"), "rules: []\n", time.Hour)
	return dir
}

// writeAged writes text to path and sets its modification time age ago.
func writeAged(t *testing.T, path, text string, age time.Duration) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-age)
	if err := os.Chtimes(path, at, at); err != nil {
		t.Fatal(err)
	}
}

func sum(text string) string {
	s := sha256.Sum256([]byte(text))
	return hex.EncodeToString(s[:])
}

func TestStoreReadsAndParsesOnlyWhatChanged(t *testing.T) {
	dir := storeFolder(t)
	st := NewStore(dir)
	cat := testCatalog()

	first, err := st.Load(cat)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	// Two runbooks and one environment parsed; the trigger file is only read (internal/triggers
	// parses it).
	if got := st.Stats(); got != (StoreStats{Reloads: 1, Reads: 4, Parses: 3}) {
		t.Fatalf("after the first load: %+v, want 1 reload, 4 reads, 3 parses", got)
	}
	if src := first.Sources["trigger:lab"]; src.SHA256 != sum("rules: []\n") || len(first.Triggers()) != 1 {
		t.Errorf("trigger source = %+v, Triggers() = %d files", src, len(first.Triggers()))
	}

	again, err := st.Load(cat)
	if err != nil || again != first {
		t.Fatalf("an unchanged folder gave a new Set (%p, %p) or %v", again, first, err)
	}
	// The environment asked for on its own is the one the Set holds: no read, no parse.
	env, src, err := st.Environment("lab")
	if err != nil || env != first.Environments["lab"] || src.SHA256 != first.Sources["environment:lab"].SHA256 {
		t.Fatalf("Environment(lab) = %p %+v %v, want the Set's", env, src, err)
	}
	if got := st.Stats(); got != (StoreStats{Reloads: 1, Reads: 4, Parses: 3}) {
		t.Fatalf("an unchanged folder was read or parsed again: %+v", got)
	}

	// A touched file is read again, but the same text is not parsed again and the Set stays.
	path := filepath.Join(dir, "verify.yaml")
	at := time.Now().Add(-30 * time.Minute)
	if err := os.Chtimes(path, at, at); err != nil {
		t.Fatal(err)
	}
	if set, _ := st.Load(cat); set != first {
		t.Error("a touched but unchanged file rebuilt the Set")
	}
	if got := st.Stats(); got != (StoreStats{Reloads: 1, Reads: 5, Parses: 3}) {
		t.Fatalf("after a touch: %+v, want one more read and nothing else", got)
	}

	// A changed environment is read and parsed again, alone, and the Set is rebuilt once.
	envPath := filepath.Join(dir, "environments", "lab.yaml")
	text, _ := os.ReadFile(envPath)
	changed := string(text) + "# edited\n"
	writeAged(t, envPath, changed, 20*time.Minute)
	set, err := st.Load(cat)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if set == first || set.Sources["environment:lab"].SHA256 != sum(changed) {
		t.Fatalf("the changed environment was not picked up: sha256 %s", set.Sources["environment:lab"].SHA256)
	}
	if set.Runbooks["verify"] != first.Runbooks["verify"] {
		t.Error("an unchanged runbook was parsed again")
	}
	if got := st.Stats(); got != (StoreStats{Reloads: 2, Reads: 6, Parses: 4}) {
		t.Fatalf("after an edit: %+v, want 2 reloads, 6 reads, 4 parses", got)
	}
	if _, src, _ := st.Environment("lab"); src.SHA256 != sum(changed) {
		t.Errorf("Environment(lab) sha256 = %s, want the edited file's", src.SHA256)
	}

	// A removed file leaves the Set.
	if err := os.Remove(filepath.Join(dir, "verify.yaml")); err != nil {
		t.Fatal(err)
	}
	set, _ = st.Load(cat)
	if _, ok := set.Runbooks["verify"]; ok {
		t.Error("a removed runbook is still in the Set")
	}
	if got := st.Stats().Reloads; got != 3 {
		t.Errorf("reloads = %d after a removal, want 3", got)
	}
}

// A file rewritten right after it was read, with the same size and modification time, is still
// noticed: its time was too close to the read for the stat to prove anything.
func TestStoreNoticesARewriteWithinTheSameTimestamp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "environments", "lab.yaml")
	text, err := os.ReadFile("testdata/good/environments/lab.yaml")
	if err != nil {
		t.Fatal(err)
	}
	writeAged(t, path, string(text), 0)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := NewStore(dir)
	if _, _, err := st.Environment("lab"); err != nil {
		t.Fatal(err)
	}
	// Same size, same modification time, different text.
	other := []byte(string(text[:len(text)-2]) + "#\n")
	if len(other) != len(text) {
		t.Fatal("test text must keep the size")
	}
	if err := os.WriteFile(path, other, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	if _, src, _ := st.Environment("lab"); src.SHA256 != sum(string(other)) {
		t.Errorf("sha256 = %s, want the rewritten file's %s", src.SHA256, sum(string(other)))
	}
}

func TestStoreEnvironmentErrors(t *testing.T) {
	dir := t.TempDir()
	st := NewStore(dir)
	if _, _, err := st.Environment("nosuch"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing environment: %v, want os.ErrNotExist", err)
	}
	writeAged(t, filepath.Join(dir, "environments", "bad.yaml"), "primary: [\n", time.Hour)
	_, _, err := st.Environment("bad")
	var el ErrorList
	if !errors.As(err, &el) || el[0].Pos.File != filepath.Join(dir, "environments", "bad.yaml") {
		t.Errorf("broken environment: %v, want an ErrorList naming the file", err)
	}
}
