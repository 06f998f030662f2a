package runbook

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/switchyard-dr/switchyard/internal/catalog"
)

// TriggersDir is the folder of trigger rules inside a runbooks folder; the store reads its files
// as sources ("trigger:<environment>") and internal/triggers parses them.
const TriggersDir = "triggers"

// Store is the one reader of a runbooks folder: runbooks (dir/*.yaml), environments
// (dir/environments/*.yaml) and trigger rules (dir/triggers/*.yaml). The engine's loader, the
// catalog entries (which resolve names from the environment on every call) and the alarm intake
// all read through one Store, so a file is parsed once per change however many callers ask, and
// every caller sees the same text with the same sha256.
//
// A file is read again only when its size or modification time changed (or its modification time
// is too close to when it was read to tell a later write apart, as git's "racily clean" entries),
// and parsed again only when its sha256 changed. A Set is rebuilt (a reload, counted in Stats)
// only when a file was added, removed or changed. Sets and the values in them are shared: callers
// must not modify them.
type Store struct {
	dir string

	mu    sync.Mutex
	files map[string]*storeFile
	sets  map[*catalog.Catalog]*storeSet
	stats StoreStats
}

// StoreStats are a store's counters since it was made; telemetry exports them.
type StoreStats struct {
	// Reloads counts Sets built because the folder changed (the first load included).
	Reloads int64
	// Reads counts file reads; Parses counts files parsed (a read whose sha256 was new).
	Reads, Parses int64
}

// racyWindow is how close to the moment a file was read its modification time may be before the
// stat alone cannot prove it unchanged: file systems stamp times with a coarse clock (1-2 s on
// some), so a write just after the read can leave size and time as they were.
const racyWindow = 2 * time.Second

// storeFile is one file as last read, with its parses.
type storeFile struct {
	size   int64
	mod    time.Time
	readAt time.Time
	src    Source

	envDone bool
	env     *Environment
	envErrs ErrorList

	runbooks map[*catalog.Catalog]runbookParse
}

type runbookParse struct {
	p    *parsed
	errs ErrorList
}

// storeSet is the Set last built for one catalog and the files (path and sha256) it was built from.
type storeSet struct {
	key string
	set *Set
	err error
}

// NewStore returns a store of the runbooks folder dir. Nothing is read until asked.
func NewStore(dir string) *Store {
	return &Store{dir: dir, files: map[string]*storeFile{}, sets: map[*catalog.Catalog]*storeSet{}}
}

// Dir is the folder the store reads.
func (s *Store) Dir() string { return s.dir }

// Stats returns the store's counters.
func (s *Store) Stats() StoreStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// read returns path's entry, reading the file again only when the stat says it may have changed.
// An entry whose text is unchanged keeps its parses. Callers hold s.mu.
func (s *Store) read(path string) (*storeFile, error) {
	info, err := os.Stat(path)
	if err != nil {
		delete(s.files, path)
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	f := s.files[path]
	if f != nil && f.size == info.Size() && f.mod.Equal(info.ModTime()) && f.mod.Before(f.readAt.Add(-racyWindow)) {
		return f, nil
	}
	readAt := time.Now()
	text, err := os.ReadFile(path)
	if err != nil {
		delete(s.files, path)
		return nil, err
	}
	s.stats.Reads++
	sum := sha256.Sum256(text)
	if f != nil && f.src.SHA256 == hex.EncodeToString(sum[:]) {
		f.size, f.mod, f.readAt = info.Size(), info.ModTime(), readAt
		return f, nil
	}
	f = &storeFile{size: info.Size(), mod: info.ModTime(), readAt: readAt, src: newSource(path, text)}
	s.files[path] = f
	return f, nil
}

// environment parses f as an environment once.
func (s *Store) environment(f *storeFile) (*Environment, ErrorList) {
	if !f.envDone {
		s.stats.Parses++
		env, err := ParseEnvironment(f.src.Path, f.src.Text)
		var el ErrorList
		if err != nil && !errors.As(err, &el) {
			el = ErrorList{{Pos: Pos{File: f.src.Path, Line: 1, Col: 1}, Msg: err.Error()}}
		}
		f.env, f.envErrs, f.envDone = env, el, true
	}
	return f.env, f.envErrs
}

// runbook parses f as a runbook once per catalog (catalog checks and what the catalog fills in,
// such as read-only flags, depend on it).
func (s *Store) runbook(f *storeFile, cat *catalog.Catalog) runbookParse {
	if rp, ok := f.runbooks[cat]; ok {
		return rp
	}
	s.stats.Parses++
	p, errs := parseRunbook(f.src.Path, f.src.Text, cat)
	rp := runbookParse{p: p, errs: errs}
	if f.runbooks == nil {
		f.runbooks = map[*catalog.Catalog]runbookParse{}
	}
	f.runbooks[cat] = rp
	return rp
}

// Environment returns environment name (dir/environments/<name>.yaml) and its source, reading and
// parsing the file only when it changed. A file that does not exist gives an error matching
// os.ErrNotExist; one that does not parse, its ErrorList. The environment is shared: callers must
// not modify it.
func (s *Store) Environment(name string) (*Environment, Source, error) {
	path := filepath.Join(s.dir, "environments", name+".yaml")
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.read(path)
	if err != nil {
		return nil, Source{}, fmt.Errorf("read environment: %w", err)
	}
	env, errs := s.environment(f)
	if len(errs) > 0 {
		return env, f.src, errs
	}
	return env, f.src, nil
}

// Load returns every runbook, environment and trigger rules file of the folder, checked with cat
// (nil skips catalog checks), as LoadDir describes. An unchanged folder returns the Set of the
// previous call for that catalog.
func (s *Store) Load(cat *catalog.Catalog) (*Set, error) {
	info, err := os.Stat(s.dir)
	if err != nil {
		return nil, fmt.Errorf("load runbooks: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("load runbooks: %s is not a directory", s.dir)
	}
	var kinds [3][]string
	for i, dir := range []string{s.dir, filepath.Join(s.dir, "environments"), filepath.Join(s.dir, TriggersDir)} {
		if kinds[i], err = YAMLFiles(dir); err != nil {
			return nil, fmt.Errorf("load runbooks: %w", err)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var errs ErrorList
	var key strings.Builder
	files := map[string]*storeFile{}
	for _, paths := range kinds {
		for _, path := range paths {
			f, err := s.read(path)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue // removed since the listing
				}
				errs.add(Pos{File: path, Line: 1, Col: 1}, "cannot read file: %v", err)
				fmt.Fprintf(&key, "%s !\n", path)
				continue
			}
			files[path] = f
			fmt.Fprintf(&key, "%s %s\n", path, f.src.SHA256)
		}
	}
	if prev := s.sets[cat]; prev != nil && prev.key == key.String() && len(errs) == 0 {
		return prev.set, prev.err
	}

	s.stats.Reloads++
	set := &Set{Runbooks: map[string]*Runbook{}, Environments: map[string]*Environment{}, Sources: map[string]Source{}, pos: map[string]posTable{}}
	parsedRunbooks := map[string]*parsed{}
	for i, paths := range kinds {
		for _, path := range paths {
			f := files[path]
			if f == nil {
				continue
			}
			name := baseName(path)
			switch i {
			case 0:
				set.Sources["runbook:"+name] = f.src
				rp := s.runbook(f, cat)
				errs = append(errs, rp.errs...)
				if rp.p != nil {
					set.Runbooks[name] = rp.p.rb
					set.pos[name] = rp.p.pos
					parsedRunbooks[name] = rp.p
				}
			case 1:
				set.Sources["environment:"+name] = f.src
				env, el := s.environment(f)
				errs = append(errs, el...)
				if env != nil {
					set.Environments[name] = env
				}
			case 2:
				set.Sources["trigger:"+name] = f.src
			}
		}
	}

	checkNested(parsedRunbooks, &errs)
	for _, name := range sortedKeys(parsedRunbooks) {
		p := parsedRunbooks[name]
		for _, envName := range sortedKeys(set.Environments) {
			_, warns := runProblems(p.rb, p.pos, cat, set.Environments[envName], paramDefaults(p.rb.Params), "'s default")
			set.Warnings = append(set.Warnings, warns...)
		}
	}
	set.Warnings.sort()
	errs.sort()
	err = errs.Err()
	s.sets[cat] = &storeSet{key: key.String(), set: set, err: err}
	// Forget files that left the folder, so a file added back is read afresh.
	for path := range s.files {
		if files[path] == nil {
			delete(s.files, path)
		}
	}
	return set, err
}

// Triggers lists the trigger rules files of a Set (sources keyed "trigger:<environment>"), sorted
// by path.
func (set *Set) Triggers() []Source {
	var out []Source
	for _, k := range sortedKeys(set.Sources) {
		if strings.HasPrefix(k, "trigger:") {
			out = append(out, set.Sources[k])
		}
	}
	return out
}

// YAMLFiles lists the .yaml files of one folder (not its subfolders), sorted; a folder that does
// not exist has none. It is every reader's listing of a runbooks folder because filepath.Glob
// drops I/O errors: a process out of file descriptors saw an empty folder ("no runbooks")
// instead of the error, and a worker that sees no runbooks refuses every run for the wrong reason.
func YAMLFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && filepath.Ext(e.Name()) == ".yaml" {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}
