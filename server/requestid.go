package server

import (
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
)

// maxRequestIDLen is the longest X-Request-Id taken from a client.
const maxRequestIDLen = 128

// requestID gives every answer an X-Request-Id: the client's own when it is a plausible
// trace id (1–128 visible ASCII characters, 0x21–0x7E), else a new UUID. A client value is
// echoed in every answer, problem body and log line, so an unchecked one would let a caller
// put 10 KB, control characters or spaces into all of them.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !validRequestID(id) {
			id = uuid.NewString()
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

// validRequestID reports whether id is 1–128 bytes, each a visible ASCII character.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}
