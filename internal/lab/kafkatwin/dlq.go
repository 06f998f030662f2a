package kafkatwin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// DLQ is where a pipeline writes documents it could not index: the S3 PutObject call of Data
// Prepper's S3 DLQ writer. The lab backs it with an S3 twin or an in-memory map.
type DLQ interface {
	PutObject(ctx context.Context, bucket, key string, body []byte) error
}

// DLQFile is the body of one DLQ object: Data Prepper writes the failures of one flush as a
// single object, {"dlqObjects":[...]}.
type DLQFile struct {
	DLQObjects []DLQObject `json:"dlqObjects"`
}

// DLQObject is Data Prepper's DlqObject, with the OpenSearch sink's failedData.
type DLQObject struct {
	PluginID     string     `json:"pluginId"`
	PluginName   string     `json:"pluginName"`
	PipelineName string     `json:"pipelineName"`
	FailedData   FailedData `json:"failedData"`
	// Timestamp is formatted yyyy-MM-dd'T'HH:mm:ss.SSS'Z' in UTC, as DlqObject does.
	Timestamp string `json:"timestamp"`
}

// FailedData is the OpenSearch sink's FailedDlqData.
type FailedData struct {
	Index string `json:"index"`
	// IndexID is the document id; always null here because TIMESERIES collections forbid
	// custom ids and the pipeline sets no document_id.
	IndexID *string `json:"indexId"`
	Status  int     `json:"status"`
	Message string  `json:"message"`
	// Document is the event as JSON; a record that is not JSON is kept as a JSON string.
	Document json.RawMessage `json:"document"`
}

// dlqMajorVersion is the Data Prepper major version that prefixes DLQ object keys (dlq-v2-).
const dlqMajorVersion = 2

// DLQKey builds a DLQ object key the way Data Prepper's S3DlqWriter does:
// [prefix/]dlq-v2-<pipelineName>-<pluginId>-<Instant>-<uuid>.json, where Instant is Java's
// Instant.toString (UTC, fraction printed in groups of three digits, omitted when zero).
func DLQKey(keyPathPrefix, pipelineName, pluginID string, now time.Time, uuid string) string {
	key := fmt.Sprintf("dlq-v%d-%s-%s-%s-%s.json", dlqMajorVersion, pipelineName, pluginID, javaInstant(now), uuid)
	if keyPathPrefix == "" {
		return key
	}
	if !strings.HasSuffix(keyPathPrefix, "/") {
		keyPathPrefix += "/"
	}
	return keyPathPrefix + key
}

// javaInstant formats t like java.time.Instant.toString.
func javaInstant(t time.Time) string {
	t = t.UTC()
	base := t.Format("2006-01-02T15:04:05")
	ns := t.Nanosecond()
	switch {
	case ns == 0:
		return base + "Z"
	case ns%1_000_000 == 0:
		return fmt.Sprintf("%s.%03dZ", base, ns/1_000_000)
	case ns%1_000 == 0:
		return fmt.Sprintf("%s.%06dZ", base, ns/1_000)
	}
	return fmt.Sprintf("%s.%09dZ", base, ns)
}

// dlqTimestamp formats t like DlqObject's timestamp.
func dlqTimestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// indexTemplate resolves Data Prepper's %{pattern} date placeholders in an index name.
type indexTemplate struct {
	parts []templatePart
}

type templatePart struct {
	literal string
	layout  string // Go layout; "" for a literal
}

// parseIndexTemplate accepts Data Prepper's %{...} placeholders with the Java pattern letters a
// daily or hourly index needs (yyyy, yy, MM, dd, HH, mm, ss). ${...} is refused: in Data Prepper
// it names an event field, not a date, and the lab does not model field lookups.
func parseIndexTemplate(s string) (*indexTemplate, error) {
	if strings.Contains(s, "${") {
		return nil, fmt.Errorf("index template %q: ${...} is an event-field reference in Data Prepper; use %%{...} for dates", s)
	}
	t := &indexTemplate{}
	for s != "" {
		i := strings.Index(s, "%{")
		if i < 0 {
			t.parts = append(t.parts, templatePart{literal: s})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, templatePart{literal: s[:i]})
		}
		j := strings.Index(s[i:], "}")
		if j < 0 {
			return nil, fmt.Errorf("index template %q: unterminated %%{", s)
		}
		layout, err := javaPatternToLayout(s[i+2 : i+j])
		if err != nil {
			return nil, fmt.Errorf("index template %q: %w", s, err)
		}
		t.parts = append(t.parts, templatePart{layout: layout})
		s = s[i+j+1:]
	}
	return t, nil
}

func javaPatternToLayout(p string) (string, error) {
	tokens := map[string]string{"yyyy": "2006", "yy": "06", "MM": "01", "dd": "02", "HH": "15", "mm": "04", "ss": "05"}
	var b strings.Builder
	for i := 0; i < len(p); {
		c := p[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			if c >= '0' && c <= '9' {
				return "", fmt.Errorf("pattern %q: digits are not supported", p)
			}
			b.WriteByte(c)
			i++
			continue
		}
		j := i
		for j < len(p) && p[j] == c {
			j++
		}
		lay, ok := tokens[p[i:j]]
		if !ok {
			return "", fmt.Errorf("pattern %q: unsupported field %q", p, p[i:j])
		}
		b.WriteString(lay)
		i = j
	}
	return b.String(), nil
}

func (t *indexTemplate) resolve(ts time.Time) string {
	ts = ts.UTC()
	var b strings.Builder
	for _, p := range t.parts {
		if p.layout == "" {
			b.WriteString(p.literal)
		} else {
			b.WriteString(ts.Format(p.layout))
		}
	}
	return b.String()
}
