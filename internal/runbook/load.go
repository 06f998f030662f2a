package runbook

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/switchyard-dr/switchyard/internal/catalog"
)

// Set is every runbook and environment of a runbooks folder, keyed by name (the file's base name
// without .yaml).
type Set struct {
	Runbooks     map[string]*Runbook
	Environments map[string]*Environment
	// Sources holds the exact text of each file, keyed "runbook:<name>" or "environment:<name>"
	// (the two kinds may share a name), so a run can record what it ran and its sha256.
	Sources map[string]Source
	// Warnings are problems that do not stop a load but likely defeat a step's purpose (a write
	// check shorter than DNS caching in one of the environments), sorted like errors.
	Warnings ErrorList

	// pos keeps each runbook's positions, for the checks a run's start makes with its values.
	pos map[string]posTable
}

// Source is one file's exact text and its sha256 (hex).
type Source struct {
	Path   string
	Text   []byte
	SHA256 string
}

func newSource(path string, text []byte) Source {
	sum := sha256.Sum256(text)
	return Source{Path: path, Text: text, SHA256: hex.EncodeToString(sum[:])}
}

// baseName is the name a file declares: its base name without the .yaml or .yml extension, or ""
// for an inline source (no path), which skips the name check.
func baseName(path string) string {
	if path == "" {
		return ""
	}
	b := filepath.Base(path)
	return strings.TrimSuffix(strings.TrimSuffix(b, ".yaml"), ".yml")
}

// parseDoc parses src into its single document node; problems are added to errs.
func parseDoc(path string, src []byte, errs *ErrorList) *yaml.Node {
	dec := yaml.NewDecoder(strings.NewReader(string(src)))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			errs.add(Pos{File: path, Line: 1, Col: 1}, "file is empty")
			return nil
		}
		*errs = append(*errs, syntaxError(path, src, err))
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		errs.add(Pos{File: path, Line: extra.Line, Col: extra.Column}, "a file holds one runbook or environment; remove the second YAML document")
	} else if !errors.Is(err, io.EOF) {
		*errs = append(*errs, syntaxError(path, src, err))
	}
	if len(doc.Content) == 0 {
		errs.add(Pos{File: path, Line: 1, Col: 1}, "file is empty")
		return nil
	}
	return doc.Content[0]
}

// parsed is a runbook with what the cross-file checks of LoadDir need.
type parsed struct {
	rb  *Runbook
	pos posTable
}

func parseRunbook(path string, src []byte, cat *catalog.Catalog) (*parsed, ErrorList) {
	var errs ErrorList
	root := parseDoc(path, src, &errs)
	if root == nil {
		return nil, errs
	}
	rb := &Runbook{}
	d := &decoder{file: path, errs: &errs, pos: posTable{}}
	d.decodeStruct(root, reflect.ValueOf(rb).Elem(), "runbook", rb)
	normalize(rb, d.pos, cat)
	c := &checker{file: path, name: baseName(path), cat: cat, rb: rb, pos: d.pos, errs: &errs}
	c.checkRunbook()
	errs.sort()
	return &parsed{rb: rb, pos: d.pos}, errs
}

// Parse decodes and validates one runbook. path is used in messages and to check that the name
// matches the file (pass "" for inline sources to skip that check); cat is the catalog actions and
// checks are checked against (nil skips catalog checks). Checks that need other files, nested
// runbooks, are made by LoadDir.
//
// On error the result is an ErrorList holding every problem. The runbook is still returned when
// the YAML itself parsed, for tools that show what did load; it must not be run.
func Parse(path string, src []byte, cat *catalog.Catalog) (*Runbook, error) {
	p, errs := parseRunbook(path, src, cat)
	if p == nil {
		return nil, errs.Err()
	}
	return p.rb, errs.Err()
}

// ParseEnvironment decodes and validates one environment file, reporting like Parse.
func ParseEnvironment(path string, src []byte) (*Environment, error) {
	var errs ErrorList
	root := parseDoc(path, src, &errs)
	if root == nil {
		return nil, errs.Err()
	}
	env := &Environment{}
	d := &decoder{file: path, errs: &errs, pos: posTable{}}
	d.decodeStruct(root, reflect.ValueOf(env).Elem(), "environment", env)
	checkEnvironment(env, baseName(path), d.pos, &errs)
	errs.sort()
	return env, errs.Err()
}

// LoadFile reads and parses one runbook file.
func LoadFile(path string, cat *catalog.Catalog) (*Runbook, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read runbook: %w", err)
	}
	return Parse(path, src, cat)
}

// LoadEnvironmentFile reads and parses one environment file.
func LoadEnvironmentFile(path string) (*Environment, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read environment: %w", err)
	}
	return ParseEnvironment(path, src)
}

// LoadDir loads dir/*.yaml as runbooks and dir/environments/*.yaml as environments (and keeps
// dir/triggers/*.yaml as sources for internal/triggers), then checks
// what single files cannot: that nested runbooks exist, get their declared params, and do not
// form a cycle.
//
// It returns a nil Set only when dir itself cannot be read. Otherwise the Set holds every file
// that parsed, valid or not, and the error (an ErrorList, sorted by file and position) holds every
// problem in every file. Callers that run one runbook can pick the problems of the files they use
// by path, so that a broken unrelated runbook never blocks a failover.
//
// It reads the folder once; long-running processes keep a Store instead, which reads and parses
// only what changed.
func LoadDir(dir string, cat *catalog.Catalog) (*Set, error) {
	return NewStore(dir).Load(cat)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
