package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestReportFormatValidation(t *testing.T) {
	for _, c := range []struct {
		format string
		json   bool
		want   string
	}{{"md", false, "md"}, {"html", false, "html"}, {"json", false, "json"}, {"html", true, "json"}} {
		got, err := reportFormat(c.format, c.json)
		if err != nil || got != c.want {
			t.Errorf("reportFormat(%q, %v) = %q, %v; want %q", c.format, c.json, got, err, c.want)
		}
	}
	for _, bad := range []string{"pdf", "HTML", ""} {
		if got, err := reportFormat(bad, false); err == nil || !strings.Contains(err.Error(), "md, html or json") {
			t.Errorf("reportFormat(%q) = %q, %v; want an error", bad, got, err)
		}
	}
	// The command rejects a bad format before dialling: the address below has nothing listening.
	var out, errOut bytes.Buffer
	cio := cmdIO{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	err := runReport(context.Background(), []string{"some-run", "--format", "svg", "--address", "127.0.0.1:1"}, cio)
	if err == nil || !strings.Contains(err.Error(), `got "svg"`) {
		t.Errorf("runReport --format svg: %v", err)
	}
}
