package awstwin

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"
)

// AWS Systems Manager Parameter Store speaks awsJson1_1 (X-Amz-Target AmazonSSM.<Op>) with
// PascalCase members and epoch-seconds timestamps. Runbooks keep small pieces of DR state there
// (which Region is active, a drill's marker) because it is Regional, versioned and readable by
// every SDK and the CLI.

// ServiceSSM is the signing name of AWS Systems Manager.
const ServiceSSM = "ssm"

func ssmService() *service {
	return &service{
		name:         ServiceSSM,
		namespace:    "com.amazonaws.ssm",
		target:       "AmazonSSM",
		defaultProto: protoJSON11,
		resolve:      resolveSSM,
		ops: map[string]func(*call) error{
			"GetParameter": ssmGetParameter,
			"PutParameter": ssmPutParameter,
		},
		throttle: apiError{Status: http.StatusBadRequest, Code: "ThrottlingException", Message: "Rate exceeded"},
		internal: apiError{Status: http.StatusInternalServerError, Code: "InternalServerError", Receiver: true},
	}
}

func resolveSSM(c *call) *apiError {
	c.proto = protoJSON11
	op, ok := strings.CutPrefix(c.r.Header.Get("X-Amz-Target"), c.svc.target+".")
	if !ok || c.r.Method != http.MethodPost {
		return &apiError{Status: http.StatusBadRequest, Code: "UnknownOperationException", Message: "ssm requests are POST with X-Amz-Target AmazonSSM.<Operation>"}
	}
	if _, known := c.svc.ops[op]; !known {
		return &apiError{Status: http.StatusBadRequest, Code: "UnknownOperationException", Message: fmt.Sprintf("the lab twin does not implement ssm %q", op)}
	}
	c.op = op
	return nil
}

// Parameter is an SSM parameter as the twin stores it.
type Parameter struct {
	Name         string
	Type         string // String, StringList or SecureString
	Value        string
	Version      int64
	LastModified time.Time
	Description  string
}

type ssmState struct {
	mu     sync.Mutex
	params map[string]*Parameter
}

func newSSMState() *ssmState { return &ssmState{params: map[string]*Parameter{}} }

var ssmNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_.\-/]+$`)

// put applies PutParameter's rules and returns the new version.
func (s *ssmState) put(now time.Time, name, value, typ, description string, overwrite bool) (int64, *apiError) {
	switch {
	case name == "" || len(name) > 2048 || !ssmNamePattern.MatchString(name):
		return 0, ssmValidation(fmt.Sprintf("Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive) and must be 1-2048 characters of a-zA-Z0-9_.-/; got %q.", name))
	case strings.HasPrefix(strings.ToLower(strings.TrimPrefix(name, "/")), "aws") || strings.HasPrefix(strings.ToLower(strings.TrimPrefix(name, "/")), "ssm"):
		return 0, ssmValidation("Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive).")
	case value == "":
		return 0, ssmValidation("1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1")
	case len(value) > 4096:
		return 0, ssmValidation("Standard tier parameters support a maximum parameter value of 4096 characters.")
	case typ != "" && typ != "String" && typ != "StringList" && typ != "SecureString":
		return 0, ssmValidation(fmt.Sprintf("1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]", typ))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.params[name]
	if p == nil {
		if typ == "" {
			return 0, ssmValidation("A parameter type is required when you create a parameter.")
		}
		p = &Parameter{Name: name}
		s.params[name] = p
	} else if !overwrite {
		return 0, &apiError{Status: http.StatusBadRequest, Code: "ParameterAlreadyExists", Message: "The parameter already exists. To overwrite this value, set the overwrite option in the request to true."}
	}
	if typ != "" {
		p.Type = typ
	}
	p.Value, p.LastModified, p.Description = value, now, description
	p.Version++
	return p.Version, nil
}

func ssmValidation(msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "ValidationException", Message: msg}
}

// PutParameter creates or overwrites a parameter from Go, for seeding; typ "" keeps an existing
// parameter's type and means String for a new one.
func (t *Twin) PutParameter(region, name, value, typ string) (int64, error) {
	s := t.region(region).ssm
	if typ == "" {
		s.mu.Lock()
		if s.params[name] == nil {
			typ = "String"
		}
		s.mu.Unlock()
	}
	v, ae := s.put(t.now(), name, value, typ, "", true)
	if ae != nil {
		return 0, fmt.Errorf("put parameter %s in %s: %w", name, region, ae)
	}
	return v, nil
}

// GetParameter returns a parameter.
func (t *Twin) GetParameter(region, name string) (Parameter, error) {
	s := t.region(region).ssm
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.params[name]
	if p == nil {
		return Parameter{}, fmt.Errorf("parameter %s in %s: %w", name, region, ErrNotFound)
	}
	return *p, nil
}

func ssmGetParameter(c *call) error {
	var in struct {
		Name           string
		WithDecryption bool
	}
	if err := json.Unmarshal(nonEmptyJSON(c.body), &in); err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "SerializationException", Message: err.Error()}
	}
	if in.Name == "" {
		return ssmValidation("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	// A selector (name:3 or name:label) is not modelled: the twin keeps the latest version only.
	name := in.Name
	if strings.HasPrefix(name, "arn:") {
		if i := strings.Index(name, ":parameter"); i >= 0 {
			name = name[i+len(":parameter"):]
			if !strings.HasPrefix(in.Name[i+len(":parameter"):], "/") {
				name = strings.TrimPrefix(name, "/")
			}
		}
	}
	p, err := c.t.GetParameter(c.rs.name, name)
	if err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "ParameterNotFound", Message: ""}
	}
	value := p.Value
	if p.Type == "SecureString" && !in.WithDecryption {
		// Without decryption AWS returns the KMS ciphertext; the twin returns an opaque
		// stand-in so callers that forget WithDecryption notice.
		value = base64.StdEncoding.EncodeToString([]byte("lab-kms-ciphertext:" + p.Value))
	}
	return c.replyJSON(map[string]any{"Parameter": map[string]any{
		"ARN":              c.t.arn("ssm", c.rs.name, "parameter/"+strings.TrimPrefix(p.Name, "/")),
		"DataType":         "text",
		"LastModifiedDate": epochSeconds(p.LastModified),
		"Name":             p.Name,
		"Type":             p.Type,
		"Value":            value,
		"Version":          p.Version,
	}})
}

func ssmPutParameter(c *call) error {
	var in struct {
		Name        string
		Value       string
		Type        string
		Overwrite   bool
		Description string
	}
	if err := json.Unmarshal(nonEmptyJSON(c.body), &in); err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "SerializationException", Message: err.Error()}
	}
	v, ae := c.rs.ssm.put(c.t.now(), in.Name, in.Value, in.Type, in.Description, in.Overwrite)
	if ae != nil {
		return ae
	}
	return c.replyJSON(map[string]any{"Version": v, "Tier": "Standard"})
}

// DeleteParameters deletes region's parameters whose names match the path pattern (path.Match),
// for lab resets.
func (t *Twin) DeleteParameters(region, pattern string) {
	s := t.region(region).ssm
	s.mu.Lock()
	defer s.mu.Unlock()
	for name := range s.params {
		if ok, _ := path.Match(pattern, name); ok {
			delete(s.params, name)
		}
	}
}
