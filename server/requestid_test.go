package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
)

func TestRequestID_AcceptsOnlyUpTo128VisibleASCII(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		givenID      string
		expectEchoed bool
	}{
		{name: "short trace id", givenID: "my-trace-42", expectEchoed: true},
		{name: "exactly 128 visible characters", givenID: strings.Repeat("a", 127) + "~", expectEchoed: true},
		{name: "every visible ASCII character", givenID: "!\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~", expectEchoed: true},
		{name: "none sent", givenID: ""},
		{name: "129 characters", givenID: strings.Repeat("a", 129)},
		{name: "10 KB", givenID: strings.Repeat("x", 10<<10)},
		{name: "inner space", givenID: "my trace"},
		{name: "tab", givenID: "my\ttrace"},
		{name: "DEL", givenID: "trace\x7f"},
		{name: "non-ASCII", givenID: "trace-é"},
	}
	e := echo.New()
	h := requestID(func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.givenID != "" {
				req.Header["X-Request-Id"] = []string{tt.givenID} // raw, as a client could send it
			}
			rec := httptest.NewRecorder()
			if err := h(e.NewContext(req, rec)); err != nil {
				t.Fatal(err)
			}
			got := rec.Header().Get("X-Request-Id")
			if tt.expectEchoed {
				if got != tt.givenID {
					t.Fatalf("X-Request-Id = %q, want the client's %q", got, tt.givenID)
				}
				return
			}
			if _, err := uuid.Parse(got); err != nil || got == tt.givenID {
				t.Fatalf("X-Request-Id = %q, want a generated UUID instead of %.40q", got, tt.givenID)
			}
		})
	}
}
