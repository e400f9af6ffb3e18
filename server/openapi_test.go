package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"

	"github.com/jobgate/jobgate/auth"
	"github.com/jobgate/jobgate/callmode"
	"github.com/jobgate/jobgate/memstore"
	"github.com/jobgate/jobgate/trigger"
)

// newRoutesServer builds a Server on the in-memory store, for looking at its routes and
// serving requests that need no jobs.
func newRoutesServer(t *testing.T) *Server {
	t.Helper()
	verifier, err := auth.NewVerifier(auth.VerifierConfig{Secret: []byte("openapi-test-secret-of-32-bytes!!")})
	if err != nil {
		t.Fatal(err)
	}
	caps, err := auth.NewCapabilities([]byte("openapi-test-capability-key-32b!!"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	store := memstore.New(memstore.Config{})
	waiter := callmode.NewWaiter(store, callmode.WaiterConfig{})
	t.Cleanup(waiter.Close)
	return New(Config{
		Store: store, Catalog: trigger.NewCatalog(), Verifier: verifier, Capabilities: caps,
		Waiter: waiter, Metrics: NewMetrics(func() float64 { return 0 }, func() float64 { return 0 }),
	})
}

// loadOpenAPI loads and validates the served document.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPI())
	if err != nil {
		t.Fatalf("openapi.json does not load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	return doc
}

func TestOpenAPI_IsAValidOpenAPI31Document(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Errorf("kin-openapi does not read the document as OpenAPI 3.1")
	}
	for _, name := range []string{"Problem", "JobProblem", "Job", "JobSummary", "JobList", "ReleaseList", "ApiTriggerList"} {
		if doc.Components.Schemas[name] == nil {
			t.Errorf("components.schemas lacks %s", name)
		}
	}
	for _, name := range []string{"bearer", "capability"} {
		if doc.Components.SecuritySchemes[name] == nil {
			t.Errorf("components.securitySchemes lacks %s", name)
		}
	}
}

// echoParam matches an Echo path parameter (":key").
var echoParam = regexp.MustCompile(`:([A-Za-z]+)`)

// tenantPrefix is the OpenAPI form of the tenant group's prefix.
const tenantPrefix = "/{org}/{tenant}/orchestrator_"

// registeredRoutes lists every method and OpenAPI path the server answers: Echo's routes,
// with the OData wildcard replaced by the lines of the OData route table. The methods of a
// route registered with Any are marked any: the handler answers the methods it does not
// serve itself (405 with Allow).
func registeredRoutes(s *Server) (routes map[string][]string, any map[string]bool) {
	routes, any = map[string][]string{}, map[string]bool{}
	for _, r := range s.echo.Routes() {
		if r.Method == echo.RouteNotFound {
			continue // the catch-all that lets group middleware run on unknown paths
		}
		path := echoParam.ReplaceAllString(r.Path, "{$1}")
		if strings.HasSuffix(path, "/odata/*") {
			continue // served by the table below
		}
		routes[path] = append(routes[path], r.Method)
		if r.Method == "PROPFIND" { // only Any registers it
			any[path] = true
		}
	}
	for _, r := range s.odataRoutes {
		path := tenantPrefix + "/odata/" + strings.Replace(r.path, "(Id)", "({id})", 1)
		routes[path] = append(routes[path], r.method)
	}
	return routes, any
}

func TestOpenAPI_DescribesEveryRoute(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	routes, any := registeredRoutes(newRoutesServer(t))
	if len(routes) < 10 {
		t.Fatalf("found only %d routes: %v", len(routes), routes)
	}
	documented := func(path string) []string {
		item := doc.Paths.Value(path)
		if item == nil {
			return nil
		}
		var methods []string
		for m := range item.Operations() {
			methods = append(methods, m)
		}
		sort.Strings(methods)
		return methods
	}
	for path, methods := range routes {
		sort.Strings(methods)
		doc := documented(path)
		if doc == nil {
			t.Errorf("route %s %s is not in openapi.json", strings.Join(methods, ","), path)
			continue
		}
		if any[path] {
			// Any: the document lists the methods that mean something there.
			for _, m := range doc {
				if !slices.Contains(methods, m) {
					t.Errorf("openapi.json describes %s %s, which the server does not route", m, path)
				}
			}
			continue
		}
		for _, m := range methods {
			if !slices.Contains(doc, m) {
				t.Errorf("route %s %s is not in openapi.json (it lists %v there)", m, path, doc)
			}
		}
		for _, m := range doc {
			// Echo answers OPTIONS (CORS preflights) on every path by itself.
			if m != http.MethodOptions && !slices.Contains(methods, m) {
				t.Errorf("openapi.json describes %s %s, which the server does not route", m, path)
			}
		}
	}
	for _, path := range doc.Paths.InMatchingOrder() {
		if _, ok := routes[path]; !ok {
			t.Errorf("openapi.json describes %s, which the server does not route", path)
		}
	}
}

// TestOpenAPI_RouterMatchesRealURLs checks that kin-openapi's router finds the documented
// path, with its parameters, for real URLs, OData's Set(Id) segments included.
func TestOpenAPI_RouterMatchesRealURLs(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	const jobKey = "2fdc7d60-1884-40d5-8d41-73d3ef67a839"
	cases := []struct {
		givenMethod, givenURL string
		expectPath            string
		expectParams          map[string]string
	}{
		{"POST", "/default/default/orchestrator_/t/add", tenantPrefix + "/t/{slug}", map[string]string{"org": "default", "tenant": "default", "slug": "add"}},
		{"GET", "/acme/prod/orchestrator_/t/add-get?x=1&$callMode=LongPolling", tenantPrefix + "/t/{slug}", map[string]string{"org": "acme", "tenant": "prod", "slug": "add-get"}},
		{"GET", "/d/d/orchestrator_/jobs/" + jobKey + "/status?cap=1.2.x", tenantPrefix + "/jobs/{key}/status", map[string]string{"key": jobKey}},
		{"GET", "/d/d/orchestrator_/jobs/" + jobKey + "/output", tenantPrefix + "/jobs/{key}/output", map[string]string{"key": jobKey}},
		{"PUT", "/d/d/orchestrator_/jobs/" + jobKey + "/wait/3", tenantPrefix + "/jobs/{key}/wait/{hop}", map[string]string{"key": jobKey, "hop": "3"}},
		{"GET", "/d/d/orchestrator_/odata/Jobs?$top=1", tenantPrefix + "/odata/Jobs", nil},
		{"GET", "/d/d/orchestrator_/odata/Jobs(7)", tenantPrefix + "/odata/Jobs({id})", map[string]string{"id": "7"}},
		{"GET", "/d/d/orchestrator_/odata/Jobs(12)/Logs", tenantPrefix + "/odata/Jobs({id})/Logs", map[string]string{"id": "12"}},
		{"POST", "/d/d/orchestrator_/odata/Jobs(7)/UiPath.Server.Configuration.OData.StopJob", tenantPrefix + "/odata/Jobs({id})/UiPath.Server.Configuration.OData.StopJob", map[string]string{"id": "7"}},
		{"POST", "/d/d/orchestrator_/odata/Jobs/UiPath.Server.Configuration.OData.StopJobs", tenantPrefix + "/odata/Jobs/UiPath.Server.Configuration.OData.StopJobs", nil},
		{"POST", "/d/d/orchestrator_/odata/Jobs/UiPath.Server.Configuration.OData.StartJobs", tenantPrefix + "/odata/Jobs/UiPath.Server.Configuration.OData.StartJobs", nil},
		{"PATCH", "/d/d/orchestrator_/odata/Releases(3)", tenantPrefix + "/odata/Releases({id})", map[string]string{"id": "3"}},
		{"DELETE", "/d/d/orchestrator_/odata/ApiTriggers(4)", tenantPrefix + "/odata/ApiTriggers({id})", map[string]string{"id": "4"}},
		{"PUT", "/d/d/orchestrator_/odata/Settings", tenantPrefix + "/odata/Settings", nil},
		{"GET", "/healthz", "/healthz", nil},
		{"GET", "/openapi.json", "/openapi.json", nil},
	}
	for _, c := range cases {
		req := httptest.NewRequest(c.givenMethod, "http://127.0.0.1:41234"+c.givenURL, nil)
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Errorf("%s %s: no route: %v", c.givenMethod, c.givenURL, err)
			continue
		}
		if route.Path != c.expectPath {
			t.Errorf("%s %s: route %s, want %s", c.givenMethod, c.givenURL, route.Path, c.expectPath)
		}
		for k, v := range c.expectParams {
			if params[k] != v {
				t.Errorf("%s %s: parameter %s = %q, want %q", c.givenMethod, c.givenURL, k, params[k], v)
			}
		}
	}
	// Neighbours of the OData paths must not match them.
	for _, u := range []string{"/d/d/orchestrator_/odata/Jobs(7)/Nope", "/d/d/orchestrator_/odata/Jobz(7)", "/no/such/route"} {
		if route, _, err := router.FindRoute(httptest.NewRequest("GET", u, nil)); err == nil {
			t.Errorf("GET %s matched %s", u, route.Path)
		}
	}
}

func TestOpenAPI_ServedWithoutAuthAndValid(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newRoutesServer(t).Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json: status %d: %s", res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if string(body) != string(OpenAPI()) {
		t.Errorf("GET /openapi.json does not serve the embedded document")
	}
	if err := validateAnswer(router, res.Request, res, body); err != nil {
		t.Error(err)
	}
}

// validateAnswer checks one real answer against the document.
func validateAnswer(router routers.Router, req *http.Request, res *http.Response, body []byte) error {
	route, params, err := router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("%s %s: not in openapi.json: %v", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s (route %s): %d answer does not match openapi.json: %v", req.Method, req.URL.Path, route.Path, res.StatusCode, err)
	}
	return nil
}
