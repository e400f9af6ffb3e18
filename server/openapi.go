package server

import (
	"bytes"
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPIDocument is the OpenAPI 3.1 document of the whole URL space, written by hand in
// openapi.json next to routes.go. TestOpenAPI_DescribesEveryRoute fails when a route of
// routes.go has no description there, and the end-to-end suite checks every real answer it
// gets against it.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns a copy of the OpenAPI 3.1 document that GET /openapi.json serves.
func OpenAPI() []byte { return bytes.Clone(openAPIDocument) }

// openAPI serves GET /openapi.json (docs/api.md §19). No auth: it describes the API, not a tenant.
func (s *Server) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDocument)
}
