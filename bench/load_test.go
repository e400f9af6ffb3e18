package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// load is one run of the closed-loop load generator: Conns workers, each on its own
// persistent keep-alive connection, send one request after the other for Warmup+Duration;
// only requests that complete inside the Duration window are counted.
type load struct {
	// URL receives the requests (POST). Required.
	URL string
	// Body returns the JSON body of request seq (counted from 1 over all workers). Required.
	Body func(seq uint64) []byte
	// Tokens are the bearer tokens, one per worker (worker i uses Tokens[i%len]). Optional.
	Tokens []string
	// Check judges an answer; nil means only Expect is checked and the body is discarded.
	Check func(seq uint64, status int, body []byte) error
	// Expect is the status code of a successful answer. Optional. Default 200.
	Expect int
	// Conns is the number of connections and workers. Required.
	Conns int
	// Warmup runs before the counted window; Duration is the window. Duration is required.
	Warmup, Duration time.Duration
	// Limit, when positive, stops the run after that many successful answers (all of them
	// counted, warmup included).
	Limit int64
	// Rate, when positive, paces requests to that many per second over all workers (an
	// open loop while the server keeps up); zero sends as fast as answers come.
	Rate float64
}

// loadResult is what one run measured.
type loadResult struct {
	OK, Failed int64         // answers in the window: right, and wrong or errors
	Total      int64         // right answers over the whole run, warmup included
	Window     time.Duration // the counted window's length
	PerSecond  float64       // OK / Window
	P50, P99   time.Duration // latency of the right answers in the window
	FirstError string        // the first failure, for the report
}

// run runs l and returns what it measured.
func (l load) run(ctx context.Context) loadResult {
	if l.Expect == 0 {
		l.Expect = http.StatusOK
	}
	tr := &http.Transport{
		MaxIdleConns: l.Conns, MaxIdleConnsPerHost: l.Conns, MaxConnsPerHost: l.Conns,
		IdleConnTimeout: time.Minute, DisableCompression: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	start := time.Now()
	windowStart, end := start.Add(l.Warmup), start.Add(l.Warmup+l.Duration)
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	var seq, total, failed, ok atomic.Int64
	var firstErr atomic.Value
	fail := func(inWindow bool, err error) {
		if inWindow {
			failed.Add(1)
		}
		firstErr.CompareAndSwap(nil, err.Error())
	}
	latencies := make([][]time.Duration, l.Conns)
	var wg sync.WaitGroup
	for w := 0; w < l.Conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			token := ""
			if len(l.Tokens) > 0 {
				token = "Bearer " + l.Tokens[w%len(l.Tokens)]
			}
			var lat []time.Duration
			defer func() { latencies[w] = lat }()
			for ctx.Err() == nil {
				n := uint64(seq.Add(1))
				if l.Rate > 0 {
					due := start.Add(time.Duration(float64(n-1) / l.Rate * float64(time.Second)))
					if d := time.Until(due); d > 0 {
						select {
						case <-time.After(d):
						case <-ctx.Done():
							return
						}
					}
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, l.URL, bytes.NewReader(l.Body(n)))
				req.Header.Set("Content-Type", "application/json")
				if token != "" {
					req.Header.Set("Authorization", token)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						fail(t0.After(windowStart), err)
					}
					continue
				}
				var body []byte
				if l.Check != nil {
					body, err = io.ReadAll(resp.Body)
				} else {
					_, err = io.Copy(io.Discard, resp.Body)
				}
				resp.Body.Close()
				done := time.Now()
				if err != nil {
					if ctx.Err() == nil {
						fail(t0.After(windowStart), err)
					}
					continue
				}
				inWindow := t0.After(windowStart) && done.Before(end)
				switch {
				case resp.StatusCode != l.Expect:
					fail(inWindow, fmt.Errorf("status %d, want %d: %.200s", resp.StatusCode, l.Expect, body))
					continue
				case l.Check != nil:
					if err := l.Check(n, resp.StatusCode, body); err != nil {
						fail(inWindow, err)
						continue
					}
				}
				if inWindow {
					ok.Add(1)
					lat = append(lat, done.Sub(t0))
				}
				if total.Add(1) == l.Limit {
					cancel()
				}
			}
		}(w)
	}
	wg.Wait()
	window := min(time.Since(windowStart), l.Duration)
	var all []time.Duration
	for _, lat := range latencies {
		all = append(all, lat...)
	}
	slices.Sort(all)
	r := loadResult{OK: ok.Load(), Failed: failed.Load(), Total: total.Load(), Window: window,
		P50: percentile(all, 50), P99: percentile(all, 99)}
	if window > 0 {
		r.PerSecond = float64(r.OK) / window.Seconds()
	}
	if e, _ := firstErr.Load().(string); e != "" {
		r.FirstError = e
	}
	return r
}

// percentile returns the p-th percentile (nearest rank) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// median returns the median of xs (the mean of the two middle values for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// constBody returns a Body func that sends b every time.
func constBody(b string) func(uint64) []byte {
	body := []byte(b)
	return func(uint64) []byte { return body }
}
