// Package catalog describes the actions and checks a runbook step may name: their arguments with
// types, their results, and whether they only read. The loader validates runbooks against it, the
// interpreter uses it to tell read-only steps (plan mode) from mutating ones, and the worker
// registers one activity per entry.
//
// Specs are derived by reflection from the Go argument and result structs of the activities, so
// the catalog cannot drift from the code that implements it.
package catalog

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
)

// Kind tells actions (do something, return a result) from checks (report ok and a reason).
type Kind string

// Kinds of catalog entries.
const (
	KindAction Kind = "action"
	KindCheck  Kind = "check"
)

// Type is the type of an argument or result field as runbook authors see it.
type Type string

// Argument and result types.
const (
	TypeString   Type = "string"
	TypeRegion   Type = "region"
	TypeDuration Type = "duration"
	TypeInt      Type = "int"
	TypeNumber   Type = "number"
	TypeBool     Type = "bool"
	TypeTime     Type = "time"
	TypeList     Type = "list"
	TypeMap      Type = "map"
	// TypeWeights is a map from Region or zone name to an integer weight.
	TypeWeights Type = "weights"
	TypeAny     Type = "any"
)

// Field is one argument or result field.
type Field struct {
	Name        string `json:"name"`
	Type        Type   `json:"type"`
	Required    bool   `json:"required,omitempty"`
	Description string `json:"description,omitempty"`
	// Default is the value the entry uses when the argument is not given, as a runbook would write
	// it ("60s"); it matters to the checks below, which must know the run time of a step that
	// leaves the argument out.
	Default string `json:"default,omitempty"`
	// Bounds marks a duration argument that bounds how long the entry runs: a soak's duration, a
	// wait's timeout, a watch window. A step's timeout must cover it, or the step times out,
	// retries and times out again. BoundsIf, when set, names a bool argument that must be true for
	// the bound to apply (a timeout that only matters with wait: true).
	Bounds   bool   `json:"bounds,omitempty"`
	BoundsIf string `json:"bounds_if,omitempty"`
	// DNSWindow marks a duration argument within which writes steered by the environment's
	// weighted DNS record must show up. Resolvers may answer from their cache for the record's TTL
	// after Route 53 is INSYNC, so a window shorter than MinDNSWindow(TTL) is warned about.
	DNSWindow bool `json:"dns_window,omitempty"`
	// NotAllZero marks a weights argument that must give some record a weight above 0: Route 53
	// routes an all-zero group to every record (see AllWeightsZero).
	NotAllZero bool `json:"not_all_zero,omitempty"`
}

// Spec describes one catalog entry.
type Spec struct {
	Name     string `json:"name"`
	Kind     Kind   `json:"kind"`
	ReadOnly bool   `json:"read_only"`
	// Local marks entries that make one short call (no polling, no waiting): the interpreter runs
	// them as local activities by default, which costs ~1 ms per step instead of the ~50-100 ms of
	// a scheduled activity — on a failover's critical path that is most of the overhead.
	Local       bool   `json:"local,omitempty"`
	Description string `json:"description"`
	// IAM lists the AWS IAM actions the entry needs, for the worker's least-privilege policy.
	IAM    []string `json:"iam,omitempty"`
	Args   []Field  `json:"args"`
	Result []Field  `json:"result"`

	// ZonalKinds, when set, are the kinds of zonal cluster (an environment's zonal.kind) the
	// entry can act on: the loader refuses a runbook that uses it with an environment whose zonal
	// cluster is of another kind, before anything runs. ZonalIf names a bool argument that must
	// be true for that to apply (an entry that acts on a Region's cluster unless told zonal).
	ZonalKinds []string `json:"zonal_kinds,omitempty"`
	ZonalIf    string   `json:"zonal_if,omitempty"`
}

// Bounds lists the arguments that bound the entry's run time; the loader copies them onto each
// step so that the interpreter can size the step's timeout from the rendered arguments.
func (s Spec) Bounds() []Bound {
	var out []Bound
	for _, f := range s.Args {
		if f.Bounds {
			out = append(out, Bound{Arg: f.Name, Default: f.Default, If: f.BoundsIf})
		}
	}
	return out
}

// Arg returns the argument named name.
func (s Spec) Arg(name string) (Field, bool) {
	for _, f := range s.Args {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// ArgNames lists the argument names, for "did you mean" style messages.
func (s Spec) ArgNames() []string {
	names := make([]string, len(s.Args))
	for i, f := range s.Args {
		names[i] = f.Name
	}
	return names
}

// Catalog is a set of specs by name.
type Catalog struct {
	specs map[string]Spec
}

// New returns a catalog holding specs; a duplicate name is a programming error.
func New(specs ...Spec) *Catalog {
	c := &Catalog{specs: map[string]Spec{}}
	for _, s := range specs {
		c.Add(s)
	}
	return c
}

// Add registers s; it panics on a duplicate name because that is a bug in the worker's wiring.
func (c *Catalog) Add(s Spec) {
	if _, dup := c.specs[s.Name]; dup {
		panic(fmt.Sprintf("catalog: duplicate entry %q", s.Name))
	}
	c.specs[s.Name] = s
}

// Lookup returns the spec named name.
func (c *Catalog) Lookup(name string) (Spec, bool) {
	s, ok := c.specs[name]
	return s, ok
}

// Names lists every entry name in sorted order.
func (c *Catalog) Names() []string {
	names := make([]string, 0, len(c.specs))
	for n := range c.specs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Specs lists every spec sorted by name.
func (c *Catalog) Specs() []Spec {
	out := make([]Spec, 0, len(c.specs))
	for _, n := range c.Names() {
		out = append(out, c.specs[n])
	}
	return out
}

var durationType = reflect.TypeOf(time.Duration(0))
var timeType = reflect.TypeOf(time.Time{})

// FieldsOf derives fields from a struct type's exported fields. The field name is the json tag
// name. The tag `catalog:"region,required"` refines the type (region) and marks required args;
// its options bounds (a run-time bound), dns_window (a window for writes steered by DNS) and
// not_all_zero (weights that may not all be 0) mark the arguments the loader and the interpreter
// treat specially. A `doc:"..."` tag gives the description, `default:"60s"` the value used when
// the argument is left out, and `bounds_if:"wait"` the bool argument a bound depends on.
func FieldsOf(t reflect.Type) []Field {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []Field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name := strings.Split(sf.Tag.Get("json"), ",")[0]
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		f := Field{Name: name, Type: typeOf(sf.Type), Description: sf.Tag.Get("doc"), Default: sf.Tag.Get("default"),
			BoundsIf: sf.Tag.Get("bounds_if")}
		for _, opt := range strings.Split(sf.Tag.Get("catalog"), ",") {
			switch opt {
			case "":
			case "required":
				f.Required = true
			case "bounds":
				f.Bounds = true
			case "dns_window":
				f.DNSWindow = true
			case "not_all_zero":
				f.NotAllZero = true
			default:
				f.Type = Type(opt)
			}
		}
		out = append(out, f)
	}
	return out
}

func typeOf(t reflect.Type) Type {
	if t == durationType {
		return TypeDuration
	}
	if t == timeType {
		return TypeTime
	}
	switch t.Kind() {
	case reflect.String:
		return TypeString
	case reflect.Bool:
		return TypeBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return TypeInt
	case reflect.Float32, reflect.Float64:
		return TypeNumber
	case reflect.Slice, reflect.Array:
		return TypeList
	case reflect.Map:
		if t.Key().Kind() == reflect.String && (t.Elem().Kind() >= reflect.Int && t.Elem().Kind() <= reflect.Int64) {
			return TypeWeights
		}
		return TypeMap
	case reflect.Pointer:
		return typeOf(t.Elem())
	case reflect.Struct:
		return TypeMap
	}
	return TypeAny
}

// CheckLiteral reports whether a literal YAML value (already decoded to Go: string, int, float64,
// bool, []any, map[string]any) fits type t. Expressions are checked at run time instead.
func CheckLiteral(t Type, v any) error {
	switch t {
	case TypeAny:
		return nil
	case TypeString:
		if _, ok := v.(string); ok {
			return nil
		}
	case TypeRegion:
		if s, ok := v.(string); ok {
			if !LooksLikeRegion(s) {
				return fmt.Errorf("%q is not an AWS Region name (like us-east-1)", s)
			}
			return nil
		}
	case TypeDuration:
		if s, ok := v.(string); ok {
			if _, err := time.ParseDuration(s); err != nil {
				return fmt.Errorf("%q is not a duration (like 30s or 5m)", s)
			}
			return nil
		}
	case TypeInt:
		switch n := v.(type) {
		case int, int64, uint64:
			return nil
		case float64:
			if n == float64(int64(n)) {
				return nil
			}
		}
	case TypeNumber:
		switch v.(type) {
		case int, int64, uint64, float64:
			return nil
		}
	case TypeBool:
		if _, ok := v.(bool); ok {
			return nil
		}
	case TypeTime:
		if s, ok := v.(string); ok {
			if _, err := time.Parse(time.RFC3339, s); err != nil {
				return fmt.Errorf("%q is not an RFC 3339 time", s)
			}
			return nil
		}
	case TypeList:
		if _, ok := v.([]any); ok {
			return nil
		}
	case TypeMap:
		if _, ok := v.(map[string]any); ok {
			return nil
		}
	case TypeWeights:
		if m, ok := v.(map[string]any); ok {
			// In key order, so the weight named is the same every time (the workflow's control
			// validator checks a retry's with: values here, and must be deterministic).
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if err := CheckLiteral(TypeInt, m[k]); err != nil {
					return fmt.Errorf("weight of %q must be an integer", k)
				}
			}
			return nil
		}
	}
	return fmt.Errorf("want %s, got %s", t, describe(v))
}

func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("string %q", v)
	case bool:
		return "bool"
	case int, int64, uint64:
		return "int"
	case float64:
		return "number"
	case []any:
		return "list"
	case map[string]any:
		return "map"
	}
	return fmt.Sprintf("%T", v)
}

// LooksLikeRegion reports whether s has the shape of an AWS Region name (us-east-1, eu-central-2,
// us-gov-west-1, lab regions included since the lab reuses real names).
func LooksLikeRegion(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 3 {
		return false
	}
	last := parts[len(parts)-1]
	if last == "" {
		return false
	}
	for _, r := range last {
		if r < '0' || r > '9' {
			return false
		}
	}
	for _, p := range parts[:len(parts)-1] {
		if p == "" {
			return false
		}
		for _, r := range p {
			if r < 'a' || r > 'z' {
				return false
			}
		}
	}
	return true
}
