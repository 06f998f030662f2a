package runbook

import (
	"reflect"
	"strings"
	"testing"
)

func TestBindParams(t *testing.T) {
	rb := &Runbook{Params: []Param{
		{Name: "target_region", Type: TypeRegion, Required: true, Enum: []string{"us-east-1", "us-west-2"}},
		{Name: "max_lag", Type: TypeInt, Default: 1000},
		{Name: "drain", Type: TypeDuration, Default: "2m"},
		{Name: "strict", Type: TypeBool},
		{Name: "reason", Type: TypeString},
	}}
	tests := []struct {
		name    string
		given   map[string]any
		want    map[string]any
		wantErr []string
	}{
		{name: "defaults applied", given: map[string]any{"target_region": "us-west-2"},
			want: map[string]any{"target_region": "us-west-2", "max_lag": 1000, "drain": "2m"}},
		{name: "JSON numbers become int", given: map[string]any{"target_region": "us-east-1", "max_lag": float64(5), "strict": true, "reason": "drill"},
			want: map[string]any{"target_region": "us-east-1", "max_lag": 5, "drain": "2m", "strict": true, "reason": "drill"}},
		{name: "null counts as not given", given: map[string]any{"target_region": "us-east-1", "max_lag": nil},
			want: map[string]any{"target_region": "us-east-1", "max_lag": 1000, "drain": "2m"}},
		{name: "every problem at once", given: map[string]any{
			"max_lag": 1.5, "drain": "soon", "strict": "yes", "reason": 3, "target_regoin": "us-east-1", "zzz": 1,
		}, wantErr: []string{
			`missing required param "target_region" (region)`,
			`param "max_lag": want int, got number`,
			`param "drain": "soon" is not a duration (like 30s or 5m)`,
			`param "strict": want bool, got string "yes"`,
			`param "reason": want string, got int`,
			`unknown param "target_regoin" (did you mean "target_region"?)`,
			`unknown param "zzz" (params: target_region, max_lag, drain, strict, reason)`,
		}},
		{name: "region shape and enum", given: map[string]any{"target_region": "west"},
			wantErr: []string{`param "target_region": "west" is not an AWS Region name (like us-east-1)`}},
		{name: "enum", given: map[string]any{"target_region": "eu-west-1"},
			wantErr: []string{`param "target_region": "eu-west-1" is not one of us-east-1, us-west-2`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rb.BindParams(tt.given)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("BindParams = %v, want errors", got)
				}
				if lines := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(lines, tt.wantErr) {
					t.Errorf("errors:\n%s\nwant:\n%s", err, strings.Join(tt.wantErr, "\n"))
				}
				return
			}
			if err != nil {
				t.Fatalf("BindParams: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("BindParams = %#v, want %#v", got, tt.want)
			}
		})
	}
}
