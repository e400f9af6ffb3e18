package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/jobgate/jobgate/server"
)

// outsideAPI marks a call of do that the test sends, on purpose, to a path the API does not
// have (a bogus route expecting 404): pass it as a header name, e.g.
// do(t, c, "GET", s.URL+"/no/such/route", "", nil, outsideAPI, "bogus route"). do sends no
// such header and does not check that exchange against openapi.json.
const outsideAPI = "X-Jobgate-Test-Outside-API"

// bodyOptional marks a response of openapi.json that may come with no body and no
// Content-Type (FireAndForget's 200), although it describes content.
const bodyOptional = "x-jobgate-body-optional"

// openAPI is the served document, loaded, validated and route-indexed once for the suite.
var openAPI struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

// TestMain loads openapi.json before any test runs: loading and validating it takes most of
// a second of CPU under -race, which must not fall between the timed exchanges of a test.
func TestMain(m *testing.M) {
	if _, _, err := openAPIRouter(); err != nil {
		fmt.Fprintln(os.Stderr, err) // and every check reports it
	}
	os.Exit(m.Run())
}

// openAPIRouter loads the served document as what it is, OpenAPI 3.1, and validates it; then
// it sets the loaded copy's version to 3.0.3, so that openapi3filter checks answers with
// kin-openapi's OpenAPI 3.0 schema validator. On a 3.1 document openapi3filter uses the JSON
// Schema 2020-12 validator, which kin-openapi v0.153.0 compiles anew on every use of a
// schema: 5 to 50 ms per answer under -race, which made this suite 50 to 75% slower and
// broke its timing-sensitive tests; and for a schema that holds a $ref (most of ours) it
// then falls back to the 3.0 validator anyway. The document avoids const, which that
// validator ignores, and its type arrays with "null" mean the same to both. It ignores
// patternProperties too, which the document uses only to let write bodies carry @odata.*
// annotations besides @odata.context: a test that sends one would be reported.
func openAPIRouter() (*openapi3.T, routers.Router, error) {
	openAPI.once.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromData(server.OpenAPI())
		if err != nil {
			openAPI.err = fmt.Errorf("openapi.json does not load: %w", err)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			openAPI.err = fmt.Errorf("openapi.json is not valid: %w", err)
			return
		}
		doc.OpenAPI = "3.0.3"
		openAPI.doc = doc
		openAPI.router, openAPI.err = gorillamux.NewRouter(doc)
	})
	return openAPI.doc, openAPI.router, openAPI.err
}

// checkOpenAPI checks one real exchange of the end-to-end suite against openapi.json: the
// request must match a documented route, the answer must be one the document describes for
// that route (status, headers, body), and a request the server accepted (status below 400)
// must be one the document allows. Requests the server refused are not checked against the
// document: the suite sends many of them on purpose (no token, bad bodies, $top=5000).
// Each failure names the call, the route and the mismatch.
func checkOpenAPI(t *testing.T, res *http.Response, body []byte) {
	t.Helper()
	for _, msg := range checkExchange(res, body) {
		t.Error(msg)
	}
}

// checkExchange returns what is wrong with one exchange, by openapi.json.
func checkExchange(res *http.Response, body []byte) []string {
	doc, router, err := openAPIRouter()
	if err != nil {
		return []string{"openapi: " + err.Error()}
	}
	req := res.Request // the last request sent, after any redirects
	call := fmt.Sprintf("openapi: %s %s → %d", req.Method, req.URL.Path, res.StatusCode)
	route, params, err := router.FindRoute(req)
	if errors.Is(err, routers.ErrMethodNotAllowed) && res.StatusCode == http.StatusMethodNotAllowed {
		// A method openapi.json does not list on a path it does: the server must refuse it
		// the documented way (problem+json with Allow).
		refused := openapi3.NewResponses(openapi3.WithStatus(http.StatusMethodNotAllowed, doc.Components.Responses["MethodNotAllowed"]))
		route = &routers.Route{Spec: doc, Path: req.URL.Path, Method: req.Method, Operation: &openapi3.Operation{Responses: refused}}
		err = nil
	}
	if err != nil {
		return []string{fmt.Sprintf("%s: no route of openapi.json matches (%v); describe it there, or mark a deliberately bogus call with outsideAPI", call, err)}
	}
	call += " (route " + req.Method + " " + route.Path + ")"

	var problems []string
	ctx := context.Background()
	options := &openapi3filter.Options{
		IncludeResponseStatus: true,
		MultiError:            true,
		AuthenticationFunc:    presentCredentials,
	}
	if res.StatusCode < 400 && route.PathItem != nil {
		sent := req.Clone(ctx)
		sent.Body = http.NoBody
		if req.GetBody != nil {
			if sent.Body, err = req.GetBody(); err != nil {
				return []string{fmt.Sprintf("%s: cannot re-read the request body: %v", call, err)}
			}
		}
		in := &openapi3filter.RequestValidationInput{Request: sent, PathParams: params, Route: route, Options: options}
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			problems = append(problems, fmt.Sprintf("%s: the server accepted a request that openapi.json does not allow: %v", call, err))
		}
	}

	if len(body) == 0 && res.Header.Get("Content-Type") == "" {
		// No body: right where the document describes none, or marks it optional.
		if d := route.Operation.Responses.Status(res.StatusCode); d != nil && d.Value != nil &&
			len(d.Value.Content) > 0 && d.Value.Extensions[bodyOptional] != true {
			problems = append(problems, fmt.Sprintf("%s: answered with no body, but openapi.json describes one (%s)", call, strings.Join(contentTypes(d.Value.Content), ", ")))
		}
		options.ExcludeResponseBody = true
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: options},
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Options:                options,
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		problems = append(problems, fmt.Sprintf("%s: the answer does not match openapi.json: %v\nheaders: %v\nbody: %.2000s", call, err, res.Header, body))
	}
	return problems
}

// presentCredentials accepts a request that carries the credentials a security scheme names;
// whether they are good is the server's business, and the answer's status tells.
func presentCredentials(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	req := in.RequestValidationInput.Request
	switch in.SecuritySchemeName {
	case "bearer":
		if scheme, _, _ := strings.Cut(req.Header.Get("Authorization"), " "); strings.EqualFold(scheme, "Bearer") {
			return nil
		}
		return errors.New("no Authorization: Bearer header")
	case "capability":
		if req.URL.Query().Get("cap") != "" {
			return nil
		}
		return errors.New("no cap query parameter")
	}
	return fmt.Errorf("unknown security scheme %q", in.SecuritySchemeName)
}

func contentTypes(c openapi3.Content) []string {
	var out []string
	for k := range c {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
