package bench

import (
	"context"
	"net/http"
	"sort"
	"testing"
	"time"
)

// throughputRow is one configuration of the invocation throughput runs.
type throughputRow struct {
	Name       string
	Runs       []float64 // answers per second of each round
	Median     float64
	Ratio      float64 // median over the rounds of this run / the floor's run of the same round
	P50, P99   float64 // milliseconds, of the median round
	Redis      string  // Redis commands per request (INFO commandstats)
	ServerCPU  float64 // µs of the jobgate process's CPU per request (0 for the floor)
	RedisCPU   float64 // µs of redis-server's CPU per request
	Failed     int64
	FirstError string
}

// measureThroughput alternates runs of the floor and of jobgate (API only, --robots 0) with
// each call mode and token kind, on the same Redis with the same load, and keeps the median
// of the rounds.
func measureThroughput(t *testing.T, e *env) {
	ctx := context.Background()
	p := e.plan
	if err := e.redis.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	jg := startJobgate(t, e.bin, append(e.keys.serverArgs(), "--redis", e.redis.URL(), "--redis-prefix", "tput", "--robots", "0")...)
	hs := tokens(t, p.conns, e.keys.hs256)
	rs := tokens(t, p.conns, e.keys.rs256)
	const (
		ff  = `{"x":2,"y":3,"$callMode":"FireAndForget"}`
		arr = `{"x":2,"y":3,"$callMode":"AsyncRequestReply"}`
	)
	redisPID, err := e.redis.PID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, url, body string
		tokens          []string
		expect          int
		serverPID       int // 0: the floor, which shares the harness process with the load
	}{
		{"floor: Echo + 1 pipelined Redis write, 202", e.floor + "/t/add", ff, hs, http.StatusAccepted, 0},
		{"FireAndForget, HS256", jg.Tenant("/t/add"), ff, hs, http.StatusOK, jg.PID()},
		{"FireAndForget, RS256", jg.Tenant("/t/add"), ff, rs, http.StatusOK, jg.PID()},
		{"AsyncRequestReply, HS256", jg.Tenant("/t/add"), arr, hs, http.StatusAccepted, jg.PID()},
		{"AsyncRequestReply, RS256", jg.Tenant("/t/add"), arr, rs, http.StatusAccepted, jg.PID()},
	}
	rows := make([]throughputRow, len(cases))
	results := make([][]loadResult, len(cases))
	mixes := make([][]string, len(cases))
	serverCPU := make([][]float64, len(cases))
	redisCPU := make([][]float64, len(cases))
	// cpuPerRequest is the µs of CPU pid used between two readings, per request.
	cpuPerRequest := func(pid int, before time.Duration, requests int64) float64 {
		after, err := processCPU(pid)
		if pid == 0 || err != nil || requests == 0 {
			return 0
		}
		return float64((after - before).Microseconds()) / float64(requests)
	}
	for round := 0; round < p.rounds; round++ {
		// Rotate the order each round so that no configuration always runs first or last.
		for k := range cases {
			i := (k + round) % len(cases)
			c := cases[i]
			if err := e.redis.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if err := e.redis.ResetStats(ctx); err != nil {
				t.Fatal(err)
			}
			settle()
			srvBefore, _ := processCPU(c.serverPID)
			redisBefore, _ := processCPU(redisPID)
			r := p.timed(load{URL: c.url, Body: constBody(c.body), Tokens: c.tokens, Expect: c.expect, Conns: p.conns},
				p.warmup, p.runFor).run(ctx)
			serverCPU[i] = append(serverCPU[i], cpuPerRequest(c.serverPID, srvBefore, r.Total))
			redisCPU[i] = append(redisCPU[i], cpuPerRequest(redisPID, redisBefore, r.Total))
			calls, err := e.redis.CommandCalls(ctx)
			if err != nil {
				t.Fatal(err)
			}
			results[i] = append(results[i], r)
			mixes[i] = append(mixes[i], commandMix(calls, r.Total))
			t.Logf("round %d: %-44s %8.0f/s  p50 %6.2f ms  p99 %6.2f ms  failed %d", round+1, c.name,
				r.PerSecond, ms(r.P50), ms(r.P99), r.Failed)
		}
	}
	for i, c := range cases {
		row := throughputRow{Name: c.name}
		for _, r := range results[i] {
			row.Runs = append(row.Runs, r.PerSecond)
			row.Failed += r.Failed
			if row.FirstError == "" {
				row.FirstError = r.FirstError
			}
			if r.OK == 0 {
				t.Errorf("%s: no successful answer (%s)", c.name, r.FirstError)
			}
		}
		row.Median = median(row.Runs)
		mid := medianIndex(row.Runs)
		row.P50, row.P99 = ms(results[i][mid].P50), ms(results[i][mid].P99)
		row.Redis = mixes[i][mid]
		row.ServerCPU, row.RedisCPU = median(serverCPU[i]), median(redisCPU[i])
		if row.Failed > 0 {
			t.Errorf("%s: %d wrong or failed answers; first: %s", c.name, row.Failed, row.FirstError)
		}
		rows[i] = row
	}
	// The ratio pairs each run with the floor's run of the same round, which ran next to it:
	// load from elsewhere on the machine then weighs on both alike.
	for i := range rows {
		var ratios []float64
		for r := range rows[i].Runs {
			if f := rows[0].Runs[r]; f > 0 {
				ratios = append(ratios, rows[i].Runs[r]/f)
			}
		}
		rows[i].Ratio = median(ratios)
		t.Logf("%-44s median %8.0f/s  %.2f × floor  server CPU %.0f µs/req  Redis CPU %.0f µs/req",
			rows[i].Name, rows[i].Median, rows[i].Ratio, rows[i].ServerCPU, rows[i].RedisCPU)
	}
	e.rep.Throughput = rows
}

// medianIndex returns the index of the median run (the upper middle one for an even count).
func medianIndex(xs []float64) int {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return xs[idx[a]] < xs[idx[b]] })
	return idx[len(idx)/2]
}
