package runbook

import (
	"bytes"
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is one problem in a runbook or environment file. It formats as path:line:col: message, the
// form editors, CI logs and `switchyard validate` turn into links.
type Error struct {
	Pos Pos
	Msg string
	// Warning marks a problem that does not stop a load or a run but likely defeats its purpose
	// (a write check shorter than DNS caching); it formats as path:line:col: warning: message.
	Warning bool
}

func (e *Error) Error() string {
	if e.Warning {
		return e.Pos.String() + ": warning: " + e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

// ErrorList is every problem found in one load. The loader never stops at the first problem: an
// operator fixing a runbook during an incident must see all of them in one run, not one per try.
// Error() prints one problem per line.
type ErrorList []*Error

func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes the problems to errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Err returns the list as an error, or nil when it is empty, so that a nil ErrorList never hides
// inside a non-nil error interface.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

func (l *ErrorList) add(pos Pos, format string, args ...any) {
	*l = append(*l, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// sort orders the problems by file and position. It is stable, so problems at one position keep
// the order in which the checks found them, which is fixed; golden files depend on it.
func (l ErrorList) sort() {
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col))
	})
}

// short formats a position within the file being reported, for "first declared at 8:5" notes.
func short(p Pos) string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// suggest returns the candidate closest to word when it is close enough to be a likely typo, or "".
// Ties go to the earlier candidate, so callers pass candidates in a fixed order.
func suggest(word string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		d := editDistance(word, c)
		if d <= 2 && d <= max(1, utf8.RuneCountInString(word)/2) && (bestDist < 0 || d < bestDist) {
			best, bestDist = c, d
		}
	}
	return best
}

// didYouMean formats a " (did you mean ...?)" tail, or "" when nothing is close.
func didYouMean(word string, candidates []string) string {
	if s := suggest(word, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

// hint formats the "did you mean" or "known: ..." tail of an unknown-name message.
func hint(word string, candidates []string, what string) string {
	if s := didYouMean(word, candidates); s != "" {
		return s
	}
	if len(candidates) == 0 {
		return ""
	}
	return fmt.Sprintf(" (%s: %s)", what, strings.Join(candidates, ", "))
}

// editDistance is the optimal-string-alignment distance: Levenshtein plus adjacent transpositions,
// since "wieghts" for "weights" is one slip of the fingers, not two.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserProblems are the messages yaml.v3 raises as parser (not scanner) errors. For those it
// prints the zero-based line of the problem or of its context, one less than the line an editor
// shows; scanner errors are already one-based (gopkg.in/yaml.v3 decode.go, parser.fail).
var yamlParserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected <stream-start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

var unknownAnchorRE = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)

// syntaxError turns a yaml.v3 syntax error into a positioned Error.
//
// yaml.v3 reports "yaml: line N: message" without a column, and omits the line altogether when the
// problem is on the first line. The position is derived as follows:
//   - the line is N, plus one for parser errors (see yamlParserProblems), or 1 when none is given;
//   - when that line is blank or past the end of the file (an unterminated quote is reported at
//     the end of the stream), it moves up to the nearest line with text, so it names something an
//     editor can show;
//   - the column is that line's first non-blank character (1-based, in characters), which is where
//     the offending key or list item starts in the usual case of bad indentation;
//   - an unknown alias (*name) and invalid UTF-8, which yaml.v3 reports without any line, are
//     located by searching the source.
func syntaxError(file string, src []byte, err error) *Error {
	msg := err.Error()
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if slices.Contains(yamlParserProblems, msg) {
			line++
		}
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
		if m := unknownAnchorRE.FindStringSubmatch(err.Error()); m != nil {
			if i := bytes.Index(src, []byte("*"+m[1])); i >= 0 {
				return &Error{Pos: offsetPos(file, src, i), Msg: "syntax error: " + msg}
			}
		}
		if !utf8.Valid(src) {
			i := 0
			for i < len(src) {
				r, size := utf8.DecodeRune(src[i:])
				if r == utf8.RuneError && size <= 1 {
					break
				}
				i += size
			}
			return &Error{Pos: offsetPos(file, src, i), Msg: "syntax error: " + msg}
		}
	}
	lines := strings.Split(string(src), "\n")
	if line < 1 {
		line = 1
	}
	if line > len(lines) {
		line = len(lines)
	}
	for line > 1 && strings.TrimSpace(lines[line-1]) == "" {
		line--
	}
	text := lines[line-1]
	indent := text[:len(text)-len(strings.TrimLeft(text, " \t"))]
	col := utf8.RuneCountInString(indent) + 1
	if strings.TrimSpace(text) == "" {
		col = 1
	}
	return &Error{Pos: Pos{File: file, Line: line, Col: col}, Msg: "syntax error: " + msg}
}

// offsetPos converts a byte offset of src into a one-based line and column.
func offsetPos(file string, src []byte, off int) Pos {
	before := src[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	start := bytes.LastIndexByte(before, '\n') + 1
	return Pos{File: file, Line: line, Col: utf8.RuneCount(before[start:]) + 1}
}
