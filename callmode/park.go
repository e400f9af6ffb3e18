package callmode

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/jobgate/jobgate/jobs"
)

// Context keys shared with the server's middleware.
const (
	// ContextKeyCallMode is the echo.Context key under which the invocation handler records
	// the chosen call mode (a string), for metrics.
	ContextKeyCallMode = "jobgate.callMode"
	// ContextKeyParked is set (true) on a request whose connection was parked: the request
	// returned without an answer, which the Waiter writes later.
	ContextKeyParked = "jobgate.parked"
)

// parkWriteTimeout bounds writing a parked request's answer to a slow or gone client.
const parkWriteTimeout = 30 * time.Second

// parkedCall is what a parked request keeps to write its answer: the connection, the
// headers its middleware set (request id, CORS…), and its next hop's URL. Not the request
// itself, which pins the HTTP server's buffers.
type parkedCall struct {
	m      *Modes
	echo   *echo.Echo
	conn   net.Conn
	t      jobs.Tenant
	header http.Header
	method string
	path   string // the route, for error logs
	host   string
	uri    string
	hopURL string
	mode   string // the call mode of an invocation; "" for a hop
	// keepAlive: the connection may serve the client's next request after the answer
	// (HTTP/1.1, the client did not ask to close, nothing read ahead of this request).
	keepAlive bool
}

// park takes the request's connection from the HTTP server so that the request's goroutine
// (and the server's buffers) can go while the job runs: the Waiter keeps only the parked
// call and writes its answer when the job is final, when the hop time passes (the next
// hop's redirect), or when the server drains; then the connection goes back to the HTTP
// server (Config.Reuse) for the client's next request, or is closed. It reports false when
// the connection cannot be taken (HTTP/2); the caller then holds the request as usual.
func (m *Modes) park(c echo.Context, t jobs.Tenant, job jobs.Job, deadline time.Time, n int, wait time.Duration) bool {
	req := c.Request()
	pc := &parkedCall{
		m: m, echo: c.Echo(), t: t,
		header: c.Response().Header().Clone(),
		method: req.Method, path: c.Path(), host: req.Host, uri: req.URL.Path,
		hopURL: m.hopURL(c, job, n+1, wait),
	}
	pc.mode, _ = c.Get(ContextKeyCallMode).(string)
	conn, rw, err := http.NewResponseController(c.Response().Writer).Hijack()
	if err != nil {
		return false
	}
	// Bytes the server read past this request (a pipelined next request) live only in the
	// server's buffer, which goes: such a connection is closed after the answer.
	pc.keepAlive = m.cfg.Reuse != nil && req.ProtoAtLeast(1, 1) && !req.Close && rw.Reader.Buffered() == 0
	// The server's read and write deadlines were meant for a request it would answer itself.
	_ = conn.SetDeadline(time.Time{})
	pc.conn = conn
	c.Set(ContextKeyParked, true)
	m.cfg.Waiter.Park(t, job.Key, deadline, pc.answer)
	return true
}

// answer renders the parked request's answer with the same code that answers held
// requests (so it is what a request that kept its goroutine gets, errors included), writes
// it, and hands the connection back to the HTTP server, or closes it.
func (pc *parkedCall) answer(job jobs.Job, err error) {
	defer pc.m.held.release(pc.t) // counted since Modes.hold
	rec := &recorder{header: pc.header}
	req := &http.Request{Method: pc.method, URL: &url.URL{Path: pc.uri}, Host: pc.host,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{}}
	c := pc.echo.NewContext(req, rec)
	c.SetPath(pc.path)
	switch {
	case jobs.ErrorCode(err) == jobs.EUNAVAILABLE:
		// The store was down for the whole hop: answer the hop as usual (see Modes.hold).
		err = pc.m.redirect(c, pc.t, pc.hopURL)
	case err != nil:
	case job.State.Final():
		err = pc.m.output(c, job)
	default:
		err = pc.m.redirect(c, pc.t, pc.hopURL)
	}
	if err != nil {
		pc.echo.HTTPErrorHandler(err, c)
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if pc.mode != "" && pc.m.cfg.Answered != nil {
		pc.m.cfg.Answered(pc.mode, rec.status)
	}
	rec.header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	resp := &http.Response{
		StatusCode: rec.status, Status: strconv.Itoa(rec.status) + " " + http.StatusText(rec.status),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: rec.header, ContentLength: int64(rec.body.Len()), Body: io.NopCloser(&rec.body),
		Close: !pc.keepAlive,
	}
	_ = pc.conn.SetWriteDeadline(time.Now().Add(parkWriteTimeout))
	bw := bufio.NewWriterSize(pc.conn, min(rec.body.Len()+1024, 64<<10))
	werr := resp.Write(bw)
	if werr == nil {
		werr = bw.Flush()
	}
	if werr != nil {
		// The client left: the job goes on (docs/api.md §2–§9), only its answer is lost.
		pc.m.cfg.Logger.Debug("parked request: could not write the answer", "job", job.Key, "err", werr)
	} else if pc.keepAlive {
		_ = pc.conn.SetDeadline(time.Time{}) // the HTTP server sets its own
		if pc.m.cfg.Reuse(pc.conn) {
			return
		}
	}
	// Closing the sending side first lets the answer arrive before the connection closes.
	if tc, ok := pc.conn.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
	_ = pc.conn.Close()
}

// recorder is the http.ResponseWriter a parked answer is rendered into.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(p)
}
