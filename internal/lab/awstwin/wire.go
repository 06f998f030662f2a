package awstwin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// This file holds a protocol-neutral value tree. CloudWatch is served in three encodings (RPCv2
// CBOR for the Go SDK, awsQuery for the AWS CLI and classic boto3, JSON 1.0 for newer SDKs) and
// SQS in two (JSON 1.0, awsQuery). Writing each operation once against this tree, then encoding
// it per protocol, keeps the encodings from drifting apart: a field added to a response appears
// in all of them or in none.

// object is an ordered structure. A member name may be "JSONName|XMLName" when awsQuery names
// the element differently from the JSON/CBOR key (SQS's flattened "Messages" → <Message>).
type object []member

type member struct {
	name string
	val  any
}

// obj builds an object from name, value pairs; nil values are omitted on every protocol, the
// way absent optional members are.
func obj(pairs ...any) object {
	o := make(object, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		o = append(o, member{name: pairs[i].(string), val: pairs[i+1]})
	}
	return o
}

// list is a list member. awsQuery wraps items in <member> unless Flat, in which case each item
// is emitted under the member's own (XML) name in place of a wrapper.
type list struct {
	items []any
	flat  bool
}

// strMap is a map member. awsQuery encodes maps as entries; SQS flattens them as repeated
// <Attribute><Name>k</Name><Value>v</Value></Attribute>.
type strMap struct {
	entries map[string]any
	flat    bool
}

// timestamp marks a time so each protocol can apply its own format: CBOR tag 1, JSON epoch
// seconds, awsQuery ISO 8601.
type timestamp time.Time

// optional returns nil for a zero value so the member is omitted, as AWS omits unset members.
func optional[T comparable](v T) any {
	var zero T
	if v == zero {
		return nil
	}
	return v
}

func splitName(n string) (jsonName, xmlName string) {
	if a, b, ok := strings.Cut(n, "|"); ok {
		return a, b
	}
	return n, n
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		return rv.IsNil() && rv.Kind() != reflect.Slice
	}
	return false
}

// ---- encoders ----

// toJSONValue converts the tree into values encoding/json writes as AWS JSON 1.0 does.
func toJSONValue(v any) any {
	switch t := v.(type) {
	case object:
		m := make(map[string]any, len(t))
		for _, f := range t {
			if isNil(f.val) {
				continue
			}
			n, _ := splitName(f.name)
			m[n] = toJSONValue(f.val)
		}
		return m
	case list:
		out := make([]any, 0, len(t.items))
		for _, it := range t.items {
			out = append(out, toJSONValue(it))
		}
		return out
	case strMap:
		m := make(map[string]any, len(t.entries))
		for k, e := range t.entries {
			m[k] = toJSONValue(e)
		}
		return m
	case timestamp:
		return json.Number(strconv.FormatFloat(float64(time.Time(t).UnixMilli())/1e3, 'f', -1, 64))
	case []byte:
		return base64.StdEncoding.EncodeToString(t)
	case float64:
		// JSON has no NaN/Inf; AWS JSON protocols send them as strings.
		if math.IsNaN(t) {
			return "NaN"
		} else if math.IsInf(t, 1) {
			return "Infinity"
		} else if math.IsInf(t, -1) {
			return "-Infinity"
		}
		return t
	default:
		return v
	}
}

func encodeJSON(v any) ([]byte, error) {
	b, err := json.Marshal(toJSONValue(v))
	if err != nil {
		return nil, fmt.Errorf("encode JSON response: %w", err)
	}
	return b, nil
}

// toCBOR converts the tree into smithy-go's CBOR values, with timestamps as tag 1 over float64
// epoch seconds, which is what the rpcv2Cbor protocol specifies and the SDK decodes.
func toCBOR(v any) (cbor.Value, error) {
	switch t := v.(type) {
	case object:
		m := cbor.Map{}
		for _, f := range t {
			if isNil(f.val) {
				continue
			}
			cv, err := toCBOR(f.val)
			if err != nil {
				return nil, err
			}
			n, _ := splitName(f.name)
			m[n] = cv
		}
		return m, nil
	case list:
		l := make(cbor.List, 0, len(t.items))
		for _, it := range t.items {
			cv, err := toCBOR(it)
			if err != nil {
				return nil, err
			}
			l = append(l, cv)
		}
		return l, nil
	case strMap:
		m := cbor.Map{}
		for k, e := range t.entries {
			cv, err := toCBOR(e)
			if err != nil {
				return nil, err
			}
			m[k] = cv
		}
		return m, nil
	case timestamp:
		return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(time.Time(t).UnixMilli()) / 1e3)}, nil
	case string:
		return cbor.String(t), nil
	case bool:
		return cbor.Bool(t), nil
	case []byte:
		return cbor.Slice(t), nil
	case float64:
		return cbor.Float64(t), nil
	case int:
		return cborInt(int64(t)), nil
	case int32:
		return cborInt(int64(t)), nil
	case int64:
		return cborInt(t), nil
	default:
		return nil, fmt.Errorf("encode CBOR: unsupported value type %T", v)
	}
}

func cborInt(i int64) cbor.Value {
	if i >= 0 {
		return cbor.Uint(uint64(i))
	}
	return cbor.NegInt(uint64(-1 - i))
}

func encodeCBOR(v any) ([]byte, error) {
	cv, err := toCBOR(v)
	if err != nil {
		return nil, err
	}
	return cbor.Encode(cv), nil
}

// writeQueryXML writes the tree as awsQuery's XML: lists wrap items in <member> unless flat,
// maps are <entry><key/><value/></entry> unless flat (SQS's <Name/><Value/> pairs).
func writeQueryXML(b *strings.Builder, name string, v any) {
	switch t := v.(type) {
	case object:
		b.WriteString("<" + name + ">")
		for _, f := range t {
			if isNil(f.val) {
				continue
			}
			_, xn := splitName(f.name)
			writeQueryXML(b, xn, f.val)
		}
		b.WriteString("</" + name + ">")
	case list:
		if t.flat {
			for _, it := range t.items {
				writeQueryXML(b, name, it)
			}
			return
		}
		b.WriteString("<" + name + ">")
		for _, it := range t.items {
			writeQueryXML(b, "member", it)
		}
		b.WriteString("</" + name + ">")
	case strMap:
		keys := sortedKeys(t.entries)
		if t.flat {
			for _, k := range keys {
				b.WriteString("<" + name + ">")
				writeQueryXML(b, "Name", k)
				writeQueryXML(b, "Value", t.entries[k])
				b.WriteString("</" + name + ">")
			}
			return
		}
		b.WriteString("<" + name + ">")
		for _, k := range keys {
			b.WriteString("<entry>")
			writeQueryXML(b, "key", k)
			writeQueryXML(b, "value", t.entries[k])
			b.WriteString("</entry>")
		}
		b.WriteString("</" + name + ">")
	default:
		b.WriteString("<" + name + ">")
		b.WriteString(xmlEscape(scalarText(v)))
		b.WriteString("</" + name + ">")
	}
}

func scalarText(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	case int:
		return strconv.Itoa(t)
	case int32:
		return strconv.FormatInt(int64(t), 10)
	case int64:
		return strconv.FormatInt(t, 10)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case timestamp:
		return formatISO(time.Time(t))
	case []byte:
		return base64.StdEncoding.EncodeToString(t)
	default:
		return fmt.Sprint(v)
	}
}

func xmlEscape(s string) string {
	var buf bytes.Buffer
	_ = xml.EscapeText(&buf, []byte(s)) // writes to a bytes.Buffer cannot fail
	return buf.String()
}

// formatISO is the date-time form AWS uses in XML and restJson date-time members.
func formatISO(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ---- decoders into a generic tree ----

// fromCBOR converts a decoded CBOR value to plain Go values (map[string]any, []any, string,
// int64, float64, bool, []byte, time.Time) for [assign].
func fromCBOR(v cbor.Value) any {
	switch t := v.(type) {
	case cbor.Map:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = fromCBOR(e)
		}
		return m
	case cbor.List:
		l := make([]any, 0, len(t))
		for _, e := range t {
			l = append(l, fromCBOR(e))
		}
		return l
	case cbor.String:
		return string(t)
	case cbor.Uint:
		if uint64(t) > math.MaxInt64 {
			return float64(t)
		}
		return int64(t)
	case cbor.NegInt:
		if uint64(t) > math.MaxInt64 {
			return float64(-1) - float64(t)
		}
		return -1 - int64(t)
	case cbor.Float32:
		return float64(t)
	case cbor.Float64:
		return float64(t)
	case cbor.Bool:
		return bool(t)
	case cbor.Slice:
		return []byte(t)
	case *cbor.Tag:
		if t.ID == 1 {
			if tm, err := cbor.AsTime(t); err == nil {
				return tm
			}
		}
		return fromCBOR(t.Value)
	default:
		return nil
	}
}

func decodeCBORInput(b []byte) (any, error) {
	if len(b) == 0 {
		return map[string]any{}, nil
	}
	v, err := cbor.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("decode CBOR body: %w", err)
	}
	return fromCBOR(v), nil
}

func decodeJSONInput(b []byte) (any, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode JSON body: %w", err)
	}
	return v, nil
}

// formTree turns awsQuery's flattened parameters (A.member.1.B=x) into a nested tree. Numeric
// path segments make lists (1-based, in index order); "member" segments are the list wrapper and
// are dropped.
func formTree(vals url.Values) map[string]any {
	root := map[string]any{}
	for key, vs := range vals {
		if len(vs) == 0 {
			continue
		}
		segs := strings.Split(key, ".")
		cur := root
		for i, s := range segs {
			if s == "member" {
				continue
			}
			if i == len(segs)-1 {
				cur[s] = vs[0]
				break
			}
			next, ok := cur[s].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[s] = next
			}
			cur = next
		}
	}
	return listify(root).(map[string]any)
}

func listify(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	allNum := len(m) > 0
	for k, e := range m {
		m[k] = listify(e)
		if _, err := strconv.Atoi(k); err != nil {
			allNum = false
		}
	}
	if !allNum {
		return m
	}
	idx := make([]int, 0, len(m))
	for k := range m {
		n, _ := strconv.Atoi(k)
		idx = append(idx, n)
	}
	slices.Sort(idx)
	l := make([]any, 0, len(idx))
	for _, n := range idx {
		l = append(l, m[strconv.Itoa(n)])
	}
	return l
}

// assign copies a generic tree into a Go value by field name (or `aws:"Name"` tag), coercing
// scalars, because awsQuery sends every scalar as a string, JSON as json.Number and CBOR as
// typed integers and floats. Unknown members are ignored, as AWS services do.
func assign(dst any, src any) error {
	return assignValue(reflect.ValueOf(dst).Elem(), src, "")
}

var timeType = reflect.TypeFor[time.Time]()

func assignValue(dst reflect.Value, src any, path string) error {
	if src == nil {
		return nil
	}
	if dst.Type() == timeType {
		t, err := coerceTime(src)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		dst.Set(reflect.ValueOf(t))
		return nil
	}
	switch dst.Kind() {
	case reflect.Pointer:
		nv := reflect.New(dst.Type().Elem())
		if err := assignValue(nv.Elem(), src, path); err != nil {
			return err
		}
		dst.Set(nv)
		return nil
	case reflect.Struct:
		m, ok := src.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: expected a structure, got %T", path, src)
		}
		for i := 0; i < dst.NumField(); i++ {
			f := dst.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Name
			if tag := f.Tag.Get("aws"); tag != "" {
				name = tag
			}
			v, ok := m[name]
			if !ok {
				continue
			}
			if err := assignValue(dst.Field(i), v, joinPath(path, name)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		if dst.Type().Elem().Kind() == reflect.Uint8 {
			switch t := src.(type) {
			case []byte:
				dst.SetBytes(t)
			case string:
				b, err := base64.StdEncoding.DecodeString(t)
				if err != nil {
					return fmt.Errorf("%s: invalid base64: %w", path, err)
				}
				dst.SetBytes(b)
			default:
				return fmt.Errorf("%s: expected a blob, got %T", path, src)
			}
			return nil
		}
		if s, ok := src.(string); ok && s == "" {
			// awsQuery sends an empty list as a bare "Name=" parameter.
			dst.Set(reflect.MakeSlice(dst.Type(), 0, 0))
			return nil
		}
		l, ok := src.([]any)
		if !ok {
			return fmt.Errorf("%s: expected a list, got %T", path, src)
		}
		out := reflect.MakeSlice(dst.Type(), len(l), len(l))
		for i, e := range l {
			if err := assignValue(out.Index(i), e, fmt.Sprintf("%s.%d", path, i+1)); err != nil {
				return err
			}
		}
		dst.Set(out)
		return nil
	case reflect.Map:
		m, ok := src.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: expected a map, got %T", path, src)
		}
		out := reflect.MakeMapWithSize(dst.Type(), len(m))
		for k, e := range m {
			ev := reflect.New(dst.Type().Elem()).Elem()
			if err := assignValue(ev, e, joinPath(path, k)); err != nil {
				return err
			}
			out.SetMapIndex(reflect.ValueOf(k).Convert(dst.Type().Key()), ev)
		}
		dst.Set(out)
		return nil
	case reflect.String:
		switch t := src.(type) {
		case string:
			dst.SetString(t)
		case json.Number:
			dst.SetString(t.String())
		default:
			return fmt.Errorf("%s: expected a string, got %T", path, src)
		}
		return nil
	case reflect.Bool:
		switch t := src.(type) {
		case bool:
			dst.SetBool(t)
		case string:
			b, err := strconv.ParseBool(t)
			if err != nil {
				return fmt.Errorf("%s: invalid boolean %q", path, t)
			}
			dst.SetBool(b)
		default:
			return fmt.Errorf("%s: expected a boolean, got %T", path, src)
		}
		return nil
	case reflect.Int, reflect.Int32, reflect.Int64:
		f, err := coerceNumber(src)
		if err != nil || f != math.Trunc(f) {
			return fmt.Errorf("%s: expected an integer, got %v", path, src)
		}
		dst.SetInt(int64(f))
		return nil
	case reflect.Float64:
		f, err := coerceNumber(src)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		dst.SetFloat(f)
		return nil
	}
	return fmt.Errorf("%s: unsupported destination %s", path, dst.Type())
}

func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

func coerceNumber(src any) (float64, error) {
	switch t := src.(type) {
	case int64:
		return float64(t), nil
	case float64:
		return t, nil
	case json.Number:
		return t.Float64()
	case string:
		return strconv.ParseFloat(t, 64)
	}
	return 0, fmt.Errorf("expected a number, got %T", src)
}

func coerceTime(src any) (time.Time, error) {
	switch t := src.(type) {
	case time.Time:
		return t, nil
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", "2006-01-02"} {
			if tm, err := time.Parse(layout, t); err == nil {
				return tm, nil
			}
		}
		if f, err := strconv.ParseFloat(t, 64); err == nil {
			return epochTime(f), nil
		}
		return time.Time{}, fmt.Errorf("invalid timestamp %q", t)
	default:
		f, err := coerceNumber(src)
		if err != nil {
			return time.Time{}, errors.New("expected a timestamp")
		}
		return epochTime(f), nil
	}
}

func epochTime(f float64) time.Time {
	return time.UnixMilli(int64(math.Round(f * 1e3))).UTC()
}
