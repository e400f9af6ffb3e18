package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
)

// latencyRow is one LongPolling round-trip measurement.
type latencyRow struct {
	Store      string
	Clients    int
	Calls      int64
	PerSecond  float64
	P50, P99   float64 // milliseconds
	Failed     int64
	FirstError string
}

// latencyRobots is the in-process robot slots of the latency servers: more than the most
// clients, so that no job waits for a slot.
const latencyRobots = "32"

// measureLatency measures LongPolling `add` from invocation to output with in-process
// robots, at each client count, on Redis and on the embedded store.
func measureLatency(t *testing.T, e *env) {
	ctx := context.Background()
	stores := []struct {
		name string
		args []string
	}{
		{"Redis", []string{"--redis", e.redis.URL(), "--redis-prefix", "latency"}},
		{"embedded", nil},
	}
	tok := e.keys.hs256(t)
	for _, s := range stores {
		if err := e.redis.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		args := append(append(e.keys.serverArgs(), "--robots", latencyRobots), s.args...)
		jg := startJobgate(t, e.bin, args...)
		for _, clients := range e.plan.latencyClients {
			settle()
			r := e.plan.timed(load{
				URL: jg.Tenant("/t/add"), Tokens: []string{tok}, Conns: clients, Check: checkSum,
				Body: func(seq uint64) []byte {
					return fmt.Appendf(nil, `{"x":%d,"y":1,"$callMode":"LongPolling"}`, seq)
				},
			}, e.plan.warmup/2, e.plan.latencyFor).run(ctx)
			row := latencyRow{Store: s.name, Clients: clients, Calls: r.OK, PerSecond: r.PerSecond,
				P50: ms(r.P50), P99: ms(r.P99), Failed: r.Failed, FirstError: r.FirstError}
			t.Logf("%-8s %2d clients: %6d calls  p50 %6.2f ms  p99 %6.2f ms  failed %d", s.name, clients, r.OK, row.P50, row.P99, r.Failed)
			if r.Failed > 0 || r.OK == 0 {
				t.Errorf("%s, %d clients: %d wrong or failed answers, %d right; first: %s", s.name, clients, r.Failed, r.OK, r.FirstError)
			}
			e.rep.Latency = append(e.rep.Latency, row)
		}
		jg.Stop()
	}
}

// checkSum checks the output of `add` with x = seq and y = 1.
func checkSum(seq uint64, _ int, body []byte) error {
	var out struct {
		Sum *float64 `json:"sum"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Sum == nil {
		return fmt.Errorf("call %d: output %.200q is not {\"sum\": …}", seq, body)
	}
	if *out.Sum != float64(seq+1) {
		return fmt.Errorf("call %d: sum %v, want %d", seq, *out.Sum, seq+1)
	}
	return nil
}
