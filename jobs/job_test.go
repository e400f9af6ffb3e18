package jobs

import (
	"encoding/json"
	"testing"
)

func TestJob_FinalJobShowsEmptyOutputArgumentsNotNull(t *testing.T) {
	for _, tc := range []struct {
		state  State
		output map[string]any
		want   string
	}{
		{Faulted, nil, `{}`},
		{Stopped, nil, `{}`},
		{Successful, nil, `{}`},
		{Successful, map[string]any{"sum": 5}, `{"sum":5}`},
		{Pending, nil, `null`},
		{Running, nil, `null`},
		{Stopping, nil, `null`},
	} {
		for _, v := range []any{Job{State: tc.state, OutputArguments: tc.output}, &Job{State: tc.state, OutputArguments: tc.output}} {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			var got struct{ OutputArguments json.RawMessage }
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if string(got.OutputArguments) != tc.want {
				t.Errorf("%s job with output %v (%T): OutputArguments %s, want %s", tc.state, tc.output, v, got.OutputArguments, tc.want)
			}
		}
	}
}
