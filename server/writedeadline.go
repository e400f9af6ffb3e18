package server

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// writeDeadline gives every answer WriteTimeout to be written, counted from the start of
// its request: a client that asks and does not read is disconnected then, instead of
// holding the connection (and its answer's buffers) for the HTTP server's WriteTimeout,
// which is longer than a LongPolling hop. Held LongPolling calls extend theirs to their
// hop (callmode's hold); parked ones set their own when they answer.
func (s *Server) writeDeadline(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		_ = http.NewResponseController(c.Response().Writer).SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		return next(c)
	}
}
