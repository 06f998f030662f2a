package triggers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// Policies of a rule.
const (
	// PolicyAuto starts the runbook with auto_approve=true: the runbook grants its approval step
	// itself when the pre-flight is green and falls back to a human approval otherwise.
	PolicyAuto = "auto"
	// PolicyApprove starts the runbook, which waits for a human approval.
	PolicyApprove = "approve"
	// PolicyNotify starts nothing: the alarm and the suggested runbook are posted for a human.
	PolicyNotify = "notify"
)

// AutoApproveParam is the runbook parameter PolicyAuto sets to true.
const AutoApproveParam = "auto_approve"

// DefaultCooldown applies when a file sets no cooldown: long enough that an alarm flapping after
// a failover does not immediately start another one.
const DefaultCooldown = 30 * time.Minute

// Region sources of a rule (region_from).
const (
	RegionFromARN         = "arn"
	RegionFromEnvironment = "environment"
	regionFromDimension   = "dimension:"
)

// File is one trigger rules file, runbooks/triggers/<environment>.yaml: the rules that start
// runbooks on one environment when its alarms change state.
type File struct {
	Schema      string `yaml:"schema"`
	Environment string `yaml:"environment"`
	Description string `yaml:"description,omitempty"`
	// Cooldown is how long after a DR operation on the environment ended no alarm starts another
	// (alarms are then ignored with the reason recorded). Default DefaultCooldown; 0s disables it.
	Cooldown *time.Duration `yaml:"cooldown,omitempty"`
	// SNSTopics are the SNS topic ARNs the POST /alarms/sns endpoint accepts notifications from
	// and confirms subscriptions to, for this environment's alarms.
	SNSTopics []string `yaml:"sns_topics,omitempty"`
	// Rules are tried in order; the first whose alarm pattern and state match decides.
	Rules []Rule `yaml:"rules"`

	// Path is the file the rules were read from.
	Path string `yaml:"-"`
	// Env is the environment the rules act on, when it was loaded.
	Env *runbook.Environment `yaml:"-"`
}

// Rule maps an alarm state change to a runbook.
type Rule struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description,omitempty"`
	// Exactly one of Alarm, AlarmARN and AlarmRegexp selects the alarms. Alarm and AlarmARN are
	// globs over the whole alarm name or ARN: * matches any run of characters (colons and slashes
	// included), ? one character, everything else itself. AlarmRegexp is an RE2 regular expression
	// that must match the whole alarm name.
	Alarm       string `yaml:"alarm,omitempty"`
	AlarmARN    string `yaml:"alarm_arn,omitempty"`
	AlarmRegexp string `yaml:"alarm_regexp,omitempty"`
	// State is the new state the rule acts on: ALARM (default), OK or INSUFFICIENT_DATA.
	State string `yaml:"state,omitempty"`
	// RegionFrom says where the alarm's Region (${region}) comes from: "arn" (default, the
	// alarm ARN's Region field), "environment" (the Region whose alarms list in the environment
	// file names the alarm) or "dimension:<Name>" (a metric dimension's value).
	RegionFrom string `yaml:"region_from,omitempty"`
	Runbook    string `yaml:"runbook"`
	// Params are the runbook's params. Strings may hold placeholders: ${region}, ${peer} (the
	// environment's other Region), ${alarm}, ${alarm_arn}, ${account}, ${state}, ${environment}
	// and ${dimension.<Name>}.
	Params map[string]any `yaml:"params,omitempty"`
	Policy string         `yaml:"policy"`

	// Pos is where the rule was written.
	Pos     runbook.Pos `yaml:"-"`
	matches func(Alarm) bool
}

// CooldownOrDefault returns the file's cooldown.
func (f *File) CooldownOrDefault() time.Duration {
	if f.Cooldown == nil {
		return DefaultCooldown
	}
	return *f.Cooldown
}

// ParseOptions give Parse what cross-file checks need.
type ParseOptions struct {
	// Environment is the environment the file names; nil skips checks that need its Regions.
	// Matching needs it (${peer}), so an intake always has one.
	Environment *runbook.Environment
	// Runbooks are the runbooks by name; nil skips the checks that rules name existing runbooks
	// and give them params they accept.
	Runbooks map[string]*runbook.Runbook
	// RunbookDir names the folder in messages about missing runbooks.
	RunbookDir string
}

// Parse decodes and validates one rules file. path is used in messages and for the check that
// the file is named after its environment ("" skips that check). On error the result is a
// runbook.ErrorList with every problem as path:line:col; the File is still returned when the
// YAML parsed, for tools that show what loaded, and must not be used to act.
func Parse(path string, src []byte, opts ParseOptions) (*File, error) {
	p := &parser{path: path}
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		p.yamlErr(err, nil)
		return nil, p.errs.Err()
	}
	if len(root.Content) == 0 {
		p.add(runbook.Pos{File: path, Line: 1, Col: 1}, "file is empty")
		return nil, p.errs.Err()
	}
	doc := root.Content[0]
	f := &File{Path: path, Env: opts.Environment}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(f); err != nil && !errors.Is(err, io.EOF) {
		p.yamlErr(err, doc)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.add(runbook.Pos{File: path, Line: extra.Line, Col: extra.Column}, "a file holds one rules document; remove the second YAML document")
	}
	f.Path, f.Env = path, opts.Environment
	p.check(f, doc, opts)
	p.sort()
	return f, p.errs.Err()
}

type parser struct {
	path string
	errs runbook.ErrorList
}

func (p *parser) add(pos runbook.Pos, format string, args ...any) {
	p.errs = append(p.errs, &runbook.Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) sort() {
	slices.SortStableFunc(p.errs, func(a, b *runbook.Error) int {
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line - b.Pos.Line
		}
		return a.Pos.Col - b.Pos.Col
	})
}

func (p *parser) at(n *yaml.Node) runbook.Pos {
	if n == nil {
		return runbook.Pos{File: p.path, Line: 1, Col: 1}
	}
	return runbook.Pos{File: p.path, Line: n.Line, Col: n.Column}
}

var (
	yamlLineRe    = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	notFoundRe    = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
	typeLabelRepl = strings.NewReplacer("triggers.File", "the rules file", "triggers.Rule", "rule", "time.Duration", "a duration such as 30m")
)

// yamlErr turns yaml.v3's "line N: ..." messages into path:line:col errors; the column is found
// by looking for the first node on that line.
func (p *parser) yamlErr(err error, doc *yaml.Node) {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	for _, m := range msgs {
		mm := yamlLineRe.FindStringSubmatch(m)
		if mm == nil {
			p.add(runbook.Pos{File: p.path, Line: 1, Col: 1}, "%s", strings.TrimPrefix(m, "yaml: "))
			continue
		}
		line, _ := strconv.Atoi(mm[1])
		msg := mm[2]
		if nf := notFoundRe.FindStringSubmatch(msg); nf != nil {
			msg = fmt.Sprintf("unknown field %q in %s", nf[1], nf[2])
		}
		// An unknown field is reported at its key, a bad value at the value: the last node on the line.
		p.add(runbook.Pos{File: p.path, Line: line, Col: column(doc, line, strings.HasPrefix(msg, "cannot unmarshal"))}, "%s", typeLabelRepl.Replace(msg))
	}
}

func column(n *yaml.Node, line int, last bool) int {
	best := 0
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil {
			return
		}
		if n.Line == line && (best == 0 || (n.Column < best) != last) {
			best = n.Column
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	if best == 0 {
		return 1
	}
	return best
}

// field returns the key and value nodes of key in mapping n, or nil.
func field(n *yaml.Node, key string) (k, v *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

// valPos is the position of key's value in mapping n, or of n itself when key is absent.
func (p *parser) valPos(n *yaml.Node, key string) runbook.Pos {
	if _, v := field(n, key); v != nil {
		return p.at(v)
	}
	return p.at(n)
}

var (
	envNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	topicRe   = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$`)
	stateSet  = []string{StateAlarm, StateOK, StateInsufficientData}
	policySet = []string{PolicyAuto, PolicyApprove, PolicyNotify}
)

func (p *parser) check(f *File, doc *yaml.Node, opts ParseOptions) {
	if doc.Kind != yaml.MappingNode {
		p.add(p.at(doc), "want a mapping with schema, environment and rules")
		return
	}
	if f.Schema != runbook.SchemaV1 {
		p.add(p.valPos(doc, "schema"), "schema must be %q, got %q", runbook.SchemaV1, f.Schema)
	}
	switch {
	case f.Environment == "":
		p.add(p.valPos(doc, "environment"), "environment is required: the environment these rules act on")
	case !envNameRe.MatchString(f.Environment):
		p.add(p.valPos(doc, "environment"), "environment %q: want lower-case letters, digits and dashes", f.Environment)
	default:
		if base := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(p.path), ".yaml"), ".yml"); p.path != "" && base != f.Environment {
			p.add(p.valPos(doc, "environment"), "environment %q must match the file name %q (one rules file per environment)", f.Environment, base)
		}
		if opts.Environment != nil && opts.Environment.Name != f.Environment {
			p.add(p.valPos(doc, "environment"), "environment %q does not match the loaded environment %q", f.Environment, opts.Environment.Name)
		}
	}
	if f.Cooldown != nil && *f.Cooldown < 0 {
		p.add(p.valPos(doc, "cooldown"), "cooldown must not be negative")
	}
	_, topics := field(doc, "sns_topics")
	for i, t := range f.SNSTopics {
		if !topicRe.MatchString(t) {
			pos := p.at(topics)
			if topics != nil && i < len(topics.Content) {
				pos = p.at(topics.Content[i])
			}
			p.add(pos, "sns_topics[%d]: %q is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)", i, t)
		}
	}
	_, rulesNode := field(doc, "rules")
	if len(f.Rules) == 0 {
		p.add(p.valPos(doc, "rules"), "rules: at least one rule is required")
		return
	}
	seen := map[string]runbook.Pos{}
	for i := range f.Rules {
		var rn *yaml.Node
		if rulesNode != nil && rulesNode.Kind == yaml.SequenceNode && i < len(rulesNode.Content) {
			rn = rulesNode.Content[i]
		}
		r := &f.Rules[i]
		r.Pos = p.at(rn)
		label := fmt.Sprintf("rules[%d]", i)
		if r.Name != "" {
			label = fmt.Sprintf("rule %q", r.Name)
			if prev, dup := seen[r.Name]; dup {
				p.add(p.valPos(rn, "name"), "duplicate rule name %q (first at %d:%d)", r.Name, prev.Line, prev.Col)
			}
			seen[r.Name] = p.valPos(rn, "name")
		} else {
			p.add(p.valPos(rn, "name"), "%s: name is required", label)
		}
		p.checkRule(r, rn, label, f, opts)
	}
}

func (p *parser) checkRule(r *Rule, rn *yaml.Node, label string, f *File, opts ParseOptions) {
	var set []string
	for _, k := range []string{"alarm", "alarm_arn", "alarm_regexp"} {
		if kn, _ := field(rn, k); kn != nil {
			set = append(set, k)
		}
	}
	switch {
	case len(set) == 0:
		p.add(p.at(rn), "%s: give one of alarm (a glob over the alarm name), alarm_arn (a glob over its ARN) or alarm_regexp", label)
	case len(set) > 1:
		p.add(p.valPos(rn, set[1]), "%s: give only one of %s", label, strings.Join(set, ", "))
	default:
		m, err := compileMatcher(r)
		if err != nil {
			p.add(p.valPos(rn, set[0]), "%s: %v", label, err)
		}
		r.matches = m
	}
	if r.State == "" {
		r.State = StateAlarm
	} else if !slices.Contains(stateSet, r.State) {
		p.add(p.valPos(rn, "state"), "%s: state %q: want one of %s", label, r.State, strings.Join(stateSet, ", "))
	}
	if r.RegionFrom == "" {
		r.RegionFrom = RegionFromARN
	} else if r.RegionFrom != RegionFromARN && r.RegionFrom != RegionFromEnvironment &&
		(!strings.HasPrefix(r.RegionFrom, regionFromDimension) || strings.TrimPrefix(r.RegionFrom, regionFromDimension) == "") {
		p.add(p.valPos(rn, "region_from"), "%s: region_from %q: want arn, environment or dimension:<Name>", label, r.RegionFrom)
	}
	if !slices.Contains(policySet, r.Policy) {
		if r.Policy == "" {
			p.add(p.valPos(rn, "policy"), "%s: policy is required: auto, approve or notify", label)
		} else {
			p.add(p.valPos(rn, "policy"), "%s: policy %q: want auto, approve or notify", label, r.Policy)
		}
	}
	_, paramsNode := field(rn, "params")
	paramPos := func(name string) runbook.Pos {
		if k, _ := field(paramsNode, name); k != nil {
			return p.at(k)
		}
		return p.valPos(rn, "params")
	}
	if _, ok := r.Params[AutoApproveParam]; ok {
		p.add(paramPos(AutoApproveParam), "%s: %s is set by the policy (auto sets it to true); remove it and choose the policy", label, AutoApproveParam)
	}
	for _, k := range sortedKeys(r.Params) {
		for _, err := range checkTemplates(r.Params[k]) {
			p.add(paramPos(k), "%s: param %s: %v", label, k, err)
		}
	}
	if r.Runbook == "" {
		p.add(p.valPos(rn, "runbook"), "%s: runbook is required", label)
		return
	}
	if opts.Runbooks == nil {
		return
	}
	rb, ok := opts.Runbooks[r.Runbook]
	if !ok {
		where := "the runbooks folder"
		if opts.RunbookDir != "" {
			where = opts.RunbookDir
		}
		p.add(p.valPos(rn, "runbook"), "%s: runbook %q not found in %s%s", label, r.Runbook, where, hintName(r.Runbook, sortedKeys(opts.Runbooks)))
		return
	}
	// Bind the params the rule would send, with a sample alarm, through the runbook's own
	// declarations: the author learns now, not during an incident, that a param is unknown,
	// missing or of the wrong type.
	sample := Alarm{Name: "sample-alarm", ARN: "arn:aws:cloudwatch:sample:000000000000:alarm:sample-alarm", State: r.State,
		Account: "000000000000", Dimensions: map[string]string{}}
	region, peer := "us-east-1", "us-west-2"
	if f.Env != nil {
		region, peer = f.Env.Primary, f.Env.Secondary
	}
	vars := templateVars(sample, f.Environment, region, peer)
	for _, v := range r.Params {
		walkStrings(v, func(s string) {
			for _, m := range placeholderRe.FindAllStringSubmatch(s, -1) {
				if n := strings.TrimSpace(m[1]); strings.HasPrefix(n, dimensionPrefix) {
					vars[n] = "sample-" + strings.TrimPrefix(n, dimensionPrefix)
				}
			}
		})
	}
	params, err := renderParams(r.Params, vars)
	if err != nil {
		return // unknown placeholders, reported by checkTemplates
	}
	if r.Policy == PolicyAuto {
		params[AutoApproveParam] = true
	}
	if _, err := rb.BindParams(params); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			name := quotedName(line)
			if name == AutoApproveParam && r.Policy == PolicyAuto {
				p.add(p.valPos(rn, "policy"), "%s: policy auto needs runbook %s to declare a bool param %s: the runbook grants its own approval only when its pre-flight is green",
					label, r.Runbook, AutoApproveParam)
				continue
			}
			p.add(paramPos(name), "%s: runbook %s: %s", label, r.Runbook, line)
		}
	}
	if f.Env != nil {
		for _, prm := range rb.Params {
			v, ok := r.Params[prm.Name].(string)
			if prm.Type != runbook.TypeRegion || !ok || strings.Contains(v, "${") {
				continue
			}
			if err := runbook.RegionError(f.Env, v); err != nil {
				p.add(paramPos(prm.Name), "%s: param %s: %v", label, prm.Name, err)
			}
		}
	}
}

var quotedRe = regexp.MustCompile(`param "([^"]+)"`)

func quotedName(msg string) string {
	if m := quotedRe.FindStringSubmatch(msg); m != nil {
		return m[1]
	}
	return ""
}

func hintName(name string, names []string) string {
	best, bestD := "", 3 // a typo is at most two edits away
	for _, n := range names {
		if d := editDistance(name, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	if len(names) > 0 {
		return fmt.Sprintf(" (runbooks: %s)", strings.Join(names, ", "))
	}
	return ""
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// compileMatcher builds the rule's alarm matcher.
func compileMatcher(r *Rule) (func(Alarm) bool, error) {
	switch {
	case r.Alarm != "":
		re, err := globRegexp(r.Alarm)
		if err != nil {
			return nil, fmt.Errorf("alarm: %w", err)
		}
		return func(a Alarm) bool { return re.MatchString(a.Name) }, nil
	case r.AlarmARN != "":
		if !strings.HasPrefix(r.AlarmARN, "arn:") && r.AlarmARN != "*" {
			return nil, fmt.Errorf("alarm_arn %q: want an ARN pattern such as arn:aws:cloudwatch:*:123456789012:alarm:prod-*", r.AlarmARN)
		}
		re, err := globRegexp(r.AlarmARN)
		if err != nil {
			return nil, fmt.Errorf("alarm_arn: %w", err)
		}
		return func(a Alarm) bool { return re.MatchString(a.ARN) }, nil
	case r.AlarmRegexp != "":
		re, err := regexp.Compile(`^(?:` + r.AlarmRegexp + `)$`)
		if err != nil {
			return nil, fmt.Errorf("alarm_regexp: %w", err)
		}
		return func(a Alarm) bool { return re.MatchString(a.Name) }, nil
	}
	return nil, errors.New("the alarm pattern is empty")
}

// globRegexp compiles a glob: * is any run of characters, ? one character.
func globRegexp(glob string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for _, r := range glob {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// Set is the trigger rules of every environment an intake serves.
type Set struct {
	Files []*File
	byEnv map[string]*File
}

// NewSet assembles rules files; two files for one environment are an error.
func NewSet(files ...*File) (*Set, error) {
	s := &Set{byEnv: map[string]*File{}}
	for _, f := range files {
		if prev, dup := s.byEnv[f.Environment]; dup {
			return nil, fmt.Errorf("environment %s has two rules files: %s and %s", f.Environment, prev.Path, f.Path)
		}
		s.byEnv[f.Environment] = f
		s.Files = append(s.Files, f)
	}
	sort.Slice(s.Files, func(i, j int) bool { return s.Files[i].Environment < s.Files[j].Environment })
	return s, nil
}

// File returns the rules of an environment, or nil.
func (s *Set) File(env string) *File { return s.byEnv[env] }

// SNSTopics lists every file's SNS topics.
func (s *Set) SNSTopics() []string {
	var out []string
	for _, f := range s.Files {
		out = append(out, f.SNSTopics...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Dir is the folder of trigger rules inside a runbooks folder.
const Dir = runbook.TriggersDir

// LoadDir loads runbookDir/triggers/*.yaml, checking each file against the environment of its
// name (runbookDir/environments/<name>.yaml) and the runbooks it names (runbookDir/<name>.yaml).
// A folder without triggers gives an empty Set. Like runbook.LoadDir, it returns every problem of
// every file (a runbook.ErrorList) together with the Set of the files that parsed. It reads
// through a fresh runbook.Store; a process that keeps one calls LoadStore.
func LoadDir(runbookDir string) (*Set, error) {
	return LoadStore(runbook.NewStore(runbookDir))
}

// LoadStore loads the trigger rules files of the store's folder, with the runbooks and
// environments the same store read: the rules are checked against exactly the files the engine
// runs.
func LoadStore(st *runbook.Store) (*Set, error) {
	set, _ := st.Load(nil) // their own problems are reported by runbook validation
	if set == nil {
		return NewSet() // no folder: no rules, as an empty triggers folder
	}
	return parseRules(st.Dir(), set, set.Triggers())
}

// LoadFiles loads the given rules files against the runbooks and environments of runbookDir.
func LoadFiles(runbookDir string, paths ...string) (*Set, error) {
	set, _ := runbook.NewStore(runbookDir).Load(nil)
	var all runbook.ErrorList
	var srcs []runbook.Source
	for _, path := range paths {
		src, err := os.ReadFile(path)
		if err != nil {
			all = append(all, &runbook.Error{Pos: runbook.Pos{File: path, Line: 1, Col: 1}, Msg: fmt.Sprintf("cannot read file: %v", err)})
			continue
		}
		srcs = append(srcs, runbook.Source{Path: path, Text: src})
	}
	rules, err := parseRules(runbookDir, set, srcs)
	var el runbook.ErrorList
	if err != nil && !errors.As(err, &el) {
		return nil, err
	}
	all = append(all, el...)
	return rules, all.Err()
}

// parseRules parses rules files against set, the runbooks and environments of runbookDir (nil
// when the folder cannot be read). A rule only needs a runbook's params and its environment's.
func parseRules(runbookDir string, set *runbook.Set, srcs []runbook.Source) (*Set, error) {
	rbs, envs := map[string]*runbook.Runbook{}, map[string]*runbook.Environment{}
	if set != nil {
		rbs, envs = set.Runbooks, set.Environments
	}
	var all runbook.ErrorList
	var files []*File
	for _, src := range srcs {
		path := src.Path
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".yaml"), ".yml")
		opts := ParseOptions{Runbooks: rbs, RunbookDir: runbookDir}
		env, ok := envs[name]
		if ok {
			opts.Environment = env
		} else {
			all = append(all, &runbook.Error{Pos: runbook.Pos{File: path, Line: 1, Col: 1},
				Msg: fmt.Sprintf("no environment %q: rules act on runbooks/environments/<name>.yaml of their file name, and %s does not exist or does not parse",
					name, filepath.Join(runbookDir, "environments", name+".yaml"))})
		}
		f, err := Parse(path, src.Text, opts)
		var el runbook.ErrorList
		if errors.As(err, &el) {
			all = append(all, el...)
		} else if err != nil {
			return nil, err
		}
		if f != nil {
			files = append(files, f)
		}
	}
	rules, err := NewSet(files...)
	if err != nil {
		return nil, err
	}
	return rules, all.Err()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
