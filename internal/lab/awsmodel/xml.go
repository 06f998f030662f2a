package awsmodel

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// xmlNode is an element of a parsed XML body.
type xmlNode struct {
	name  xml.Name
	attrs []xml.Attr
	kids  []*xmlNode
	text  string
}

func parseXML(b []byte) (*xmlNode, error) {
	dec := xml.NewDecoder(bytes.NewReader(b))
	var root *xmlNode
	var stack []*xmlNode
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &xmlNode{name: t.Name, attrs: t.Attr}
			switch {
			case len(stack) > 0:
				top := stack[len(stack)-1]
				top.kids = append(top.kids, n)
			case root != nil:
				return nil, fmt.Errorf("more than one root element")
			default:
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, fmt.Errorf("text outside the root element")
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("no root element")
	}
	return root, nil
}

// xmlNamespace returns the namespace URI the service's documents use.
func (m *Model) xmlNamespace(s *Shape) string {
	for _, traits := range []map[string]json.RawMessage{s.Traits, m.shapes[m.service].Traits} {
		var ns struct {
			URI string `json:"uri"`
		}
		if raw, ok := traits["smithy.api#xmlNamespace"]; ok && json.Unmarshal(raw, &ns) == nil {
			return ns.URI
		}
	}
	return ""
}

func (c *checker) xmlBody(operation, path string, ref *Member, s *Shape, body []byte, include func(*Member) bool, roots []string) {
	if len(bytes.TrimSpace(body)) == 0 {
		c.xmlStructure(path, s, &xmlNode{}, include)
		return
	}
	root, err := parseXML(body)
	if err != nil {
		c.addf(path, "body is not XML: %v", err)
		return
	}
	if ns := c.m.xmlNamespace(s); ns != "" && root.name.Space != ns {
		c.addf(path, "root element <%s> is in namespace %q, the model says %q", root.name.Local, root.name.Space, ns)
	}
	if c.p == RestXML {
		want := ""
		for _, r := range roots {
			if r != "" {
				want = r
				break
			}
		}
		if want == "" && ref != nil {
			_, want, _ = strings.Cut(ref.Target, "#")
		}
		if want != "" && root.name.Local != want {
			c.addf(path, "root element is <%s>, the model says <%s>", root.name.Local, want)
		}
		c.xmlStructure(path, s, root, include)
		return
	}
	// awsQuery: <OpResponse><OpResult>output</OpResult><ResponseMetadata><RequestId/></ResponseMetadata></OpResponse>
	if root.name.Local != operation+"Response" {
		c.addf(path, "root element is <%s>, awsQuery answers <%sResponse>", root.name.Local, operation)
	}
	c.noText(path, root)
	var result, meta int
	for _, k := range root.kids {
		switch k.name.Local {
		case operation + "Result":
			result++
			c.xmlStructure(path, s, k, nil)
		case "ResponseMetadata":
			meta++
			c.noText(path+".ResponseMetadata", k)
			for _, mk := range k.kids {
				if mk.name.Local != "RequestId" {
					c.addf(path+".ResponseMetadata", "element <%s> is not part of awsQuery's response metadata", mk.name.Local)
				}
			}
		default:
			c.addf(path, "element <%s> is not part of an awsQuery response", k.name.Local)
		}
	}
	if result == 0 && len(s.Members) > 0 {
		c.xmlStructure(path, s, &xmlNode{}, nil) // reports missing required members
	}
	if result > 1 || meta > 1 {
		c.addf(path, "the <%sResult> or <ResponseMetadata> element repeats", operation)
	}
}

func (c *checker) noText(path string, n *xmlNode) {
	if strings.TrimSpace(n.text) != "" {
		c.addf(path, "has text %q where the model says elements", strings.TrimSpace(n.text))
	}
}

func xmlName(name string, mem *Member) string {
	if x := stringTrait(mem.Traits, "smithy.api#xmlName"); x != "" {
		return x
	}
	return name
}

func isNamespaceDecl(a xml.Attr) bool {
	return a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns")
}

func (c *checker) xmlStructure(path string, s *Shape, n *xmlNode, include func(*Member) bool) {
	c.noText(path, n)
	elems, attrs := map[string]string{}, map[string]string{}
	var defined []string
	for _, name := range sortedMembers(s) {
		mem := s.Members[name]
		if include != nil && !include(mem) {
			continue
		}
		w := xmlName(name, mem)
		if hasTrait(mem.Traits, "smithy.api#xmlAttribute") {
			attrs[w] = name
		} else {
			elems[w] = name
		}
		defined = append(defined, w)
	}
	present := map[string]bool{}
	for _, a := range n.attrs {
		if isNamespaceDecl(a) {
			continue
		}
		name, ok := attrs[a.Name.Local]
		if !ok {
			c.addf(path, "attribute %q is not in the model", a.Name.Local)
			continue
		}
		present[name] = true
		mem := s.Members[name]
		if ts, err := c.m.resolve(mem.Target); err != nil {
			c.addf(path, "%v", err)
		} else {
			c.text(path+".@"+a.Name.Local, mem, ts, a.Value, "date-time")
		}
	}
	seen := map[string]int{}
	for _, k := range n.kids {
		w := k.name.Local
		name, ok := elems[w]
		if !ok {
			c.addf(path, "element <%s> is not in the model (it defines %s)", w, strings.Join(defined, ", "))
			continue
		}
		present[name] = true
		mem := s.Members[name]
		ts, err := c.m.resolve(mem.Target)
		if err != nil {
			c.addf(path, "%v", err)
			continue
		}
		i := seen[w]
		seen[w]++
		if hasTrait(mem.Traits, "smithy.api#xmlFlattened") {
			switch ts.Type {
			case "list", "set":
				c.xmlValue(fmt.Sprintf("%s.%s[%d]", path, w, i), ts.Member, k)
				continue
			case "map":
				c.xmlMapEntry(join(path, w), ts, k)
				continue
			}
		}
		if i > 0 {
			c.addf(join(path, w), "element repeats, the model says one %s", ts.Type)
			continue
		}
		c.xmlValue(join(path, w), mem, k)
	}
	set := 0
	for _, name := range sortedMembers(s) {
		mem := s.Members[name]
		if include != nil && !include(mem) {
			continue
		}
		if present[name] {
			set++
		} else if hasTrait(mem.Traits, "smithy.api#required") {
			c.addf(path, "required member %q is missing", xmlName(name, mem))
		}
	}
	if s.Type == "union" && set != 1 {
		c.addf(path, "a union has exactly one member set, this has %d", set)
	}
}

func (c *checker) xmlValue(path string, mem *Member, n *xmlNode) {
	s, err := c.m.resolve(mem.Target)
	if err != nil {
		c.addf(path, "%v", err)
		return
	}
	for _, a := range n.attrs {
		if !isNamespaceDecl(a) && s.Type != "structure" && s.Type != "union" {
			c.addf(path, "attribute %q is not in the model", a.Name.Local)
		}
	}
	switch s.Type {
	case "structure", "union":
		c.xmlStructure(path, s, n, nil)
	case "list", "set":
		c.noText(path, n)
		item := xmlName("member", s.Member)
		for i, k := range n.kids {
			if k.name.Local != item {
				c.addf(path, "list item is <%s>, the model says <%s>", k.name.Local, item)
				continue
			}
			c.xmlValue(fmt.Sprintf("%s[%d]", path, i), s.Member, k)
		}
	case "map":
		c.noText(path, n)
		for _, k := range n.kids {
			if k.name.Local != "entry" {
				c.addf(path, "map entry is <%s>, the model says <entry>", k.name.Local)
				continue
			}
			c.xmlMapEntry(path, s, k)
		}
	case "document":
		c.addf(path, "a document cannot be written in XML")
	default:
		if len(n.kids) > 0 {
			c.addf(path, "has child elements, the model says %s", s.Type)
			return
		}
		c.text(path, mem, s, n.text, "date-time")
	}
}

func (c *checker) xmlMapEntry(path string, s *Shape, n *xmlNode) {
	keyName, valName := xmlName("key", s.Key), xmlName("value", s.Value)
	var key, val *xmlNode
	for _, k := range n.kids {
		switch k.name.Local {
		case keyName:
			key = k
		case valName:
			val = k
		default:
			c.addf(path, "map entry element <%s> is neither <%s> nor <%s>", k.name.Local, keyName, valName)
		}
	}
	if key == nil {
		c.addf(path, "map entry without <%s>", keyName)
		return
	}
	c.xmlValue(path+" (key)", s.Key, key)
	p := fmt.Sprintf("%s[%q]", path, key.text)
	if val == nil {
		c.addf(p, "map entry without <%s>", valName)
		return
	}
	c.xmlValue(p, s.Value, val)
}
