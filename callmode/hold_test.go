package callmode_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/jobgate/jobgate/auth"
	"github.com/jobgate/jobgate/callmode"
	"github.com/jobgate/jobgate/jobs"
	"github.com/jobgate/jobgate/memstore"
)

// newModes returns Modes on a memstore that parks held requests at once, and a Pending
// LongPolling job.
func newModes(t *testing.T) (*callmode.Modes, *callmode.Waiter, *memstore.Store, jobs.Job) {
	t.Helper()
	store := memstore.New(memstore.Config{})
	w, job := setup(t, store, time.Hour)
	caps, err := auth.NewCapabilities([]byte("0123456789abcdef0123456789abcdef"), nil)
	if err != nil {
		t.Fatal(err)
	}
	m := callmode.New(callmode.Config{Store: store, Waiter: w, Capabilities: caps, Hop: time.Minute, ParkAfter: 0})
	return m, w, store, job
}

// finishSoon ends job Successful once the Waiter holds a request (from another goroutine,
// so errors are reported with t.Error).
func finishSoon(t *testing.T, w *callmode.Waiter, store jobs.Store, job jobs.Job) {
	go func() {
		for deadline := time.Now().Add(30 * time.Second); w.Held() == 0; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Error("no request was held within 30s")
				return
			}
		}
		ctx := context.Background()
		if _, err := store.Claim(ctx, "owner", jobs.RobotRef{ID: 1, Name: "r"}, time.Minute); err != nil {
			t.Error(err)
			return
		}
		if _, err := store.Finish(ctx, job.Key, "owner", jobs.Result{State: jobs.Successful, OutputArguments: map[string]any{"n": 1.0}}); err != nil {
			t.Error(err)
		}
	}()
}

func TestHold_AResponseWriterThatCannotBeHijackedKeepsItsGoroutine(t *testing.T) {
	t.Parallel()
	m, w, store, job := newModes(t)
	finishSoon(t, w, store, job)
	// httptest.ResponseRecorder is no http.Hijacker, like an HTTP/2 stream: the request
	// cannot be parked and must be answered the usual way.
	rec := httptest.NewRecorder()
	c := echo.New().NewContext(httptest.NewRequest(http.MethodPost, "/t/x", nil), rec)
	if err := m.Answer(c, job, jobs.LongPolling, time.Minute); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"n":1}` {
		t.Fatalf("answer %d %s", rec.Code, rec.Body)
	}
	if parked, _ := c.Get(callmode.ContextKeyParked).(bool); parked || w.Parked() != 0 {
		t.Fatal("a request that cannot be hijacked was marked parked")
	}
}

func TestHold_ParkedRequestGetsTheSameAnswerOverARealConnection(t *testing.T) {
	t.Parallel()
	m, w, store, job := newModes(t)
	e := echo.New()
	answered := make(chan int, 1)
	e.POST("/t/x", func(c echo.Context) error {
		c.Response().Header().Set("X-Request-Id", "req-1")
		c.Set(callmode.ContextKeyCallMode, "LongPolling")
		err := m.Answer(c, job, jobs.LongPolling, time.Minute)
		if parked, _ := c.Get(callmode.ContextKeyParked).(bool); parked {
			answered <- 0 // the handler returned without answering
		}
		return err
	})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	finishSoon(t, w, store, job)
	res, err := http.Post(srv.URL+"/t/x", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != `{"n":1}` || !res.Close ||
		res.Header.Get("X-Request-Id") != "req-1" || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("parked answer: %d %v %s (close %v)", res.StatusCode, res.Header, body, res.Close)
	}
	select {
	case <-answered:
	default:
		t.Fatal("the request was not parked")
	}
	if err := w.WaitParked(context.Background()); err != nil {
		t.Fatal(err)
	}
}
